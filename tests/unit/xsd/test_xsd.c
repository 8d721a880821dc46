/*
 * Unit tests for common/dmarc/xsd: every fixture in tests/data/reports against
 * the four built-in schemas (the table below is the one in that folder's
 * README.md), lxml-style error texts, chunking independence, hostile and
 * malformed input, and that libxml2 never writes to stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <minizip/unzip.h>
#include <zlib.h>

#include "buf.h"
#include "util.h"
#include "xsd.h"

#ifndef REPORTS_DIR
#error "REPORTS_DIR must point to tests/data/reports"
#endif
#ifndef SAMPLES_DIR
#error "SAMPLES_DIR must point to TA-dmarc-c/samples"
#endif

enum { RELAXED, DRAFT, RFC7489, RFC9990 };

struct fixture {
  const char *file;
  int pass[XSD_SCHEMA_COUNT]; /* relaxed, draft, rfc7489, rfc9990 */
};

/* Keep in step with tests/data/reports/README.md. */
static const struct fixture fixtures[] = {
  { "rua.xml", { 1, 1, 0, 0 } },
  { "rua_multiple_records.xml", { 1, 1, 0, 0 } },
  { "dkim2auth.xml", { 1, 1, 0, 0 } },
  { "fail_rua_xsd.xml", { 0, 0, 0, 0 } },
  { "pass_rua_xsd.xml", { 1, 1, 0, 0 } },
  { "google_rua.xml", { 1, 0, 0, 0 } },
  { "splunk_rua.xml", { 1, 0, 0, 0 } },
  { "aol_rua.xml", { 1, 0, 0, 0 } },
  { "rfc7489_valid.xml", { 1, 0, 1, 0 } },
  { "rfc9990.xml", { 0, 0, 0, 1 } },
  { "rfc9990_nonamespace.xml", { 1, 0, 0, 0 } },
  { "ipv6.xml", { 1, 0, 1, 0 } },
  { "utf8_bom.xml", { 1, 0, 1, 0 } },
  { "utf16.xml", { 1, 1, 0, 0 } },
  { "unknown_elements.xml", { 0, 0, 0, 0 } },
  { "unknown_record_element.xml", { 1, 0, 0, 0 } },
  { "records_first.xml", { 0, 0, 0, 0 } },
  { "mixed_case.xml", { 1, 0, 0, 0 } },
  { "malformed.xml", { 0, 0, 0, 0 } },
};
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static char *read_fixture(const char *name, size_t *len_r)
{
  char path[1024];
  FILE *f;
  char *data;
  long n;

  if(name[0] == '/')
    snprintf(path, sizeof(path), "%s", name);
  else
    snprintf(path, sizeof(path), "%s/%s", REPORTS_DIR, name);
  f = fopen(path, "rb");
  if(!f)
    fail_msg("cannot open %s", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n >= 0);
  assert_int_equal(fseek(f, 0, SEEK_SET), 0);
  data = malloc((size_t)n + 1);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
  data[n] = '\0';
  fclose(f);
  *len_r = (size_t)n;
  return data;
}

/* Validate data, fed in chunks of `chunk` bytes (0 = all at once). */
static void validate(const void *data, size_t len, size_t chunk,
                     struct xsd_result r[XSD_SCHEMA_COUNT])
{
  struct xsd_validation *v = xsd_validation_begin();
  const unsigned char *p = data;

  assert_non_null(v);
  if(!chunk)
    chunk = len ? len : 1;
  while(len > 0) {
    size_t n = len < chunk ? len : chunk;

    xsd_validation_feed(v, p, n);
    p += n;
    len -= n;
  }
  memset(r, 0x5a, sizeof(struct xsd_result) * XSD_SCHEMA_COUNT);
  xsd_validation_end(v, r);
}

static void validate_str(const char *doc, struct xsd_result r[XSD_SCHEMA_COUNT])
{
  validate(doc, strlen(doc), 0, r);
}

/* Replace the first `from` in s by `to` (result is malloc'd). */
static char *replace(const char *s, const char *from, const char *to)
{
  const char *at = strstr(s, from);
  size_t pre, out_len;
  char *out;

  if(!at)
    fail_msg("'%s' not found", from);
  pre = (size_t)(at - s);
  out_len = strlen(s) - strlen(from) + strlen(to);
  out = malloc(out_len + 1);
  assert_non_null(out);
  memcpy(out, s, pre);
  memcpy(out + pre, to, strlen(to));
  strcpy(out + pre + strlen(to), at + strlen(from));
  return out;
}

static int setup(void **state)
{
  char err[256];

  (void)state;
  if(xsd_init(err, sizeof(err)) != 0) {
    fprintf(stderr, "xsd_init: %s\n", err);
    return -1;
  }
  return 0;
}

/* xsd_init can be called again and again; names are fixed and in order. */
static void test_init_idempotent(void **state)
{
  char err[256] = "untouched";

  (void)state;
  assert_int_equal(xsd_init(err, sizeof(err)), 0);
  assert_int_equal(xsd_init(err, sizeof(err)), 0);
  assert_int_equal(xsd_init(NULL, 0), 0);
  assert_string_equal(xsd_schema_name(0), "rua_ta_dmarc_relaxed_v01.xsd");
  assert_string_equal(xsd_schema_name(1), "rua_draft-dmarc-base-00-02.xsd");
  assert_string_equal(xsd_schema_name(2), "rua_rfc7489.xsd");
  assert_string_equal(xsd_schema_name(3), "rua_rfc9990.xsd");
  assert_null(xsd_schema_name(XSD_SCHEMA_COUNT));
}

/* Every fixture gives exactly the documented pass/fail per schema; a pass
 * has an empty info, a fail an lxml-style "..., line N" text. */
static void test_fixtures(void **state)
{
  size_t i;
  unsigned s;

  (void)state;
  for(i = 0; i < N_FIXTURES; i++) {
    struct xsd_result r[XSD_SCHEMA_COUNT];
    size_t len;
    char *doc = read_fixture(fixtures[i].file, &len);

    validate(doc, len, 0, r);
    for(s = 0; s < XSD_SCHEMA_COUNT; s++) {
      if(r[s].pass != fixtures[i].pass[s])
        fail_msg("%s against %s: expected %s, got %s (%s)", fixtures[i].file,
                 xsd_schema_name(s), fixtures[i].pass[s] ? "pass" : "fail",
                 r[s].pass ? "pass" : "fail", r[s].info);
      if(r[s].pass) {
        assert_string_equal(r[s].info, "");
      }
      else {
        assert_true(strlen(r[s].info) > 0);
        assert_non_null(strstr(r[s].info, ", line "));
        assert_null(strchr(r[s].info, '\n'));
      }
    }
    free(doc);
  }
}

static void expect_info(const char *file, unsigned schema, const char *info)
{
  struct xsd_result r[XSD_SCHEMA_COUNT];
  size_t len;
  char *doc = read_fixture(file, &len);

  validate(doc, len, 0, r);
  assert_false(r[schema].pass);
  assert_string_equal(r[schema].info, info);
  free(doc);
}

/* The info texts are lxml's: message without newline, then ", line N". */
static void test_info_strings(void **state)
{
  (void)state;
  expect_info("rua.xml", RFC7489,
              "Element 'report_metadata': This element is not expected. "
              "Expected is ( version )., line 3");
  expect_info("rua.xml", RFC9990,
              "Element 'feedback': No matching global declaration available "
              "for the validation root., line 2");
  expect_info("fail_rua_xsd.xml", DRAFT,
              "Element 'begin': 'integer' is not a valid value of the atomic "
              "type 'xs:integer'., line 9");
  expect_info("splunk_rua.xml", RFC7489,
              "Element 'sp': [facet 'enumeration'] The value '' is not an "
              "element of the set {'none', 'quarantine', 'reject'}., line 18");
  expect_info("splunk_rua.xml", DRAFT,
              "Element 'version': This element is not expected. Expected is "
              "( report_metadata )., line 3");
  expect_info("unknown_elements.xml", RELAXED,
              "Element 'policy_source': This element is not expected., "
              "line 19");
  /* The root's start tag spans lines 2-3: a tree validator names line 3
   * (where the tag ends), and so do we. */
  expect_info("rfc9990.xml", RELAXED,
              "Element '{urn:ietf:params:xml:ns:dmarc-2.0}feedback': No "
              "matching global declaration available for the validation "
              "root., line 3");
}

/* An error found when an element closes names the line of its start tag
 * (as lxml does from a tree), not the line of its end tag. */
static void test_info_line_of_closed_element(void **state)
{
  struct xsd_result r[XSD_SCHEMA_COUNT];
  size_t len;
  char *doc = read_fixture("rfc7489_valid.xml", &len);
  char *nofo = replace(doc, "    <fo>1</fo>\n", "");

  (void)state;
  validate_str(nofo, r);
  assert_true(r[RELAXED].pass);
  assert_false(r[RFC7489].pass);
  /* <policy_published> opens on line 14 and closes on line 21. */
  assert_string_equal(r[RFC7489].info,
                      "Element 'policy_published': Missing child element(s). "
                      "Expected is ( fo )., line 14");
  free(nofo);
  free(doc);
}

/* A message longer than info is cut on a UTF-8 boundary. */
static void test_long_info_is_valid_utf8(void **state)
{
  struct xsd_result r[XSD_SCHEMA_COUNT];
  char name[1024], tag[2200];
  size_t len, i, used;
  char *doc = read_fixture("rua.xml", &len);
  char *d;
  unsigned s;

  (void)state;
  for(i = 0; i < 301; i++) { /* "a" then 300 x U+00E9: odd offsets */
    if(i == 0) {
      name[0] = 'a';
      continue;
    }
    name[1 + 2 * (i - 1)] = (char)0xC3;
    name[2 + 2 * (i - 1)] = (char)0xA9;
  }
  name[601] = '\0';
  snprintf(tag, sizeof(tag), "<pct>100</pct>\n    <%s/>", name);
  d = replace(doc, "<pct>100</pct>", tag);
  validate_str(d, r);
  for(s = 0; s < XSD_SCHEMA_COUNT; s++) {
    const unsigned char *p = (const unsigned char *)r[s].info;
    size_t n = strlen(r[s].info);

    assert_false(r[s].pass);
    assert_true(n < sizeof(r[s].info));
    for(i = 0; i < n; i += used)
      if(util_utf8_decode(p + i, n - i, &used) < 0)
        fail_msg("%s: invalid UTF-8 at %zu of '%s'", xsd_schema_name(s), i,
                 r[s].info);
  }
  /* The relaxed schema names the element; its text hits the limit. */
  assert_int_equal(strncmp(r[RELAXED].info, "Element 'a\xc3\xa9", 12), 0);
  assert_true(strlen(r[RELAXED].info) >= sizeof(r[RELAXED].info) - 4);
  free(d);
  free(doc);
}

/* Feeding 1, 2, 3, 7, 64 or 4096 bytes at a time gives the same results,
 * texts included, as one chunk (encoding sniffing, BOMs, UTF-16 and the
 * windows-1252 declaration all straddle chunk boundaries). */
static void test_chunk_sizes(void **state)
{
  static const size_t chunks[] = { 1, 2, 3, 7, 64, 4096 };
  size_t i, c;
  unsigned s;

  (void)state;
  for(i = 0; i < N_FIXTURES; i++) {
    struct xsd_result whole[XSD_SCHEMA_COUNT];
    size_t len;
    char *doc = read_fixture(fixtures[i].file, &len);

    validate(doc, len, 0, whole);
    for(c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
      struct xsd_result part[XSD_SCHEMA_COUNT];

      validate(doc, len, chunks[c], part);
      for(s = 0; s < XSD_SCHEMA_COUNT; s++) {
        if(part[s].pass != whole[s].pass ||
           strcmp(part[s].info, whole[s].info) != 0)
          fail_msg("%s, %s, chunk %zu: '%s' vs '%s'", fixtures[i].file,
                   xsd_schema_name(s), chunks[c], part[s].info, whole[s].info);
      }
    }
    free(doc);
  }
}

/* Not well-formed: every schema fails, with the parser's message. */
static void test_malformed(void **state)
{
  static const char *const docs[] = {
    "<feedback><report_metadata></feedback>",
    "<feedback><<",
    "",
    "<?xml version=\"1.0\"?>",
    "\xff\xfe\xff\xfe",
    "not xml at all",
    "<feedback>\n<version>1.0</version>\n<report_metadata>", /* truncated */
  };
  size_t i;
  unsigned s;
  struct xsd_result r[XSD_SCHEMA_COUNT];

  (void)state;
  for(i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    validate_str(docs[i], r);
    for(s = 0; s < XSD_SCHEMA_COUNT; s++) {
      if(r[s].pass)
        fail_msg("doc %zu passed %s", i, xsd_schema_name(s));
      assert_non_null(strstr(r[s].info, ", line "));
    }
  }
  /* Broken before any schema could object: the parser's text everywhere
   * (but RFC 9990, which rejects the namespace-less root at once). */
  validate_str("<feedback>\n</feedbak>", r);
  for(s = 0; s < XSD_SCHEMA_COUNT; s++) {
    if(s == RFC9990)
      continue;
    assert_string_equal(r[s].info, "Opening and ending tag mismatch: feedback "
                                   "line 1 and feedbak, line 2");
  }
  validate_str("<feedback><<", r);
  assert_string_equal(r[RELAXED].info,
                      "StartTag: invalid element name, line 1");
}

/* A document cut anywhere is never valid. */
static void test_every_truncation_fails(void **state)
{
  struct xsd_result r[XSD_SCHEMA_COUNT];
  size_t len, cut;
  char *doc = read_fixture("rua.xml", &len);
  unsigned s;

  (void)state;
  for(cut = 0; cut + 2 < len; cut += 37) {
    validate(doc, cut, 0, r);
    for(s = 0; s < XSD_SCHEMA_COUNT; s++)
      if(r[s].pass)
        fail_msg("rua.xml cut at %zu passed %s", cut, xsd_schema_name(s));
  }
  free(doc);
}

/* A DOCTYPE fails the document at once: entities are never declared or
 * expanded (billion laughs, XXE) and no DTD is fetched. */
static void test_entities_and_dtd(void **state)
{
  static const char laughs[] =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE feedback [\n"
      " <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
      " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
      " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
      " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
      " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
      " <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
      " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
      "]>\n"
      "<feedback><version>&g;</version></feedback>\n";
  static const char xxe[] =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE feedback [ <!ENTITY x SYSTEM \"file:///etc/passwd\"> ]>\n"
      "<feedback>&x;</feedback>\n";
  static const char ext_dtd[] =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE feedback SYSTEM \"http://127.0.0.1:9/never.dtd\">\n"
      "<feedback/>\n";
  struct xsd_result r[XSD_SCHEMA_COUNT];
  unsigned s;

  (void)state;
  validate_str(laughs, r);
  for(s = 0; s < XSD_SCHEMA_COUNT; s++)
    assert_string_equal(r[s].info,
                        "DOCTYPE is not allowed in a DMARC report, line 2");

  validate_str(xxe, r);
  for(s = 0; s < XSD_SCHEMA_COUNT; s++)
    assert_string_equal(r[s].info,
                        "DOCTYPE is not allowed in a DMARC report, line 2");

  validate_str(ext_dtd, r);
  for(s = 0; s < XSD_SCHEMA_COUNT; s++)
    assert_string_equal(r[s].info,
                        "DOCTYPE is not allowed in a DMARC report, line 2");
}

struct ip_case {
  const char *ip;
  int relaxed, rfc7489;
};

/* source_ip patterns: the RFC 7489 one is fixed (IPv4 works), the relaxed
 * one also takes zone ids. */
static void test_source_ip_forms(void **state)
{
  static const struct ip_case cases[] = {
    { "192.0.2.1", 1, 1 },
    { "255.255.255.255", 1, 1 },
    { "0.0.0.0", 1, 1 },
    { "2001:db8::1", 1, 1 },
    { "::1", 1, 1 },
    { "::", 1, 1 },
    { "fe80::", 1, 1 },
    { "2001:DB8:0:0:8:800:200C:417A", 1, 1 },
    { "::ffff:192.0.2.128", 1, 1 },
    { "64:ff9b::192.0.2.33", 1, 1 },
    { "fe80::1%eth0", 1, 0 },
    { "192.0.2.256", 0, 0 },
    { "X.X.X.X", 0, 0 },
    { "192.0.2", 0, 0 },
    { "2001:db8:::1", 0, 0 },
    { "2001:db8::1::2", 0, 0 },
    { "1:2:3:4:5:6:7:8:9", 0, 0 },
    { "", 0, 0 },
  };
  size_t len, i;
  char *doc = read_fixture("rfc7489_valid.xml", &len);

  (void)state;
  for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct xsd_result r[XSD_SCHEMA_COUNT];
    char tag[128];
    char *d;

    snprintf(tag, sizeof(tag), "<source_ip>%s</source_ip>", cases[i].ip);
    d = replace(doc, "<source_ip>192.0.2.25</source_ip>", tag);
    validate_str(d, r);
    if(r[RELAXED].pass != cases[i].relaxed ||
       r[RFC7489].pass != cases[i].rfc7489)
      fail_msg("source_ip '%s': relaxed %d (%s), rfc7489 %d (%s)", cases[i].ip,
               r[RELAXED].pass, r[RELAXED].info, r[RFC7489].pass,
               r[RFC7489].info);
    free(d);
  }
  free(doc);
}

/* Abandoned validations free everything (checked under ASan); NULL is
 * ignored everywhere. */
static void test_abort_and_null(void **state)
{
  struct xsd_validation *v;
  size_t len;
  char *doc = read_fixture("rua.xml", &len);

  (void)state;
  xsd_validation_abort(NULL);
  xsd_validation_feed(NULL, doc, len);
  xsd_validation_end(NULL, NULL);

  v = xsd_validation_begin();
  assert_non_null(v);
  xsd_validation_abort(v); /* before the first byte */

  v = xsd_validation_begin();
  assert_non_null(v);
  xsd_validation_feed(v, doc, 2); /* parsers not started yet */
  xsd_validation_abort(v);

  v = xsd_validation_begin();
  assert_non_null(v);
  xsd_validation_feed(v, doc, len / 2);
  xsd_validation_feed(v, NULL, 0);
  xsd_validation_abort(v);
  free(doc);
}

/* Several validations may be open at once; they do not share state. */
static void test_interleaved(void **state)
{
  struct xsd_validation *a = xsd_validation_begin();
  struct xsd_validation *b = xsd_validation_begin();
  struct xsd_result ra[XSD_SCHEMA_COUNT], rb[XSD_SCHEMA_COUNT];
  size_t la, lb, i;
  char *da = read_fixture("rfc7489_valid.xml", &la);
  char *db = read_fixture("rfc9990.xml", &lb);

  (void)state;
  assert_non_null(a);
  assert_non_null(b);
  for(i = 0; i < la || i < lb; i += 10) {
    if(i < la)
      xsd_validation_feed(a, da + i, la - i < 10 ? la - i : 10);
    if(i < lb)
      xsd_validation_feed(b, db + i, lb - i < 10 ? lb - i : 10);
  }
  xsd_validation_end(a, ra);
  xsd_validation_end(b, rb);
  assert_true(ra[RFC7489].pass);
  assert_false(ra[RFC9990].pass);
  assert_true(rb[RFC9990].pass);
  assert_false(rb[RFC7489].pass);
  free(da);
  free(db);
}

static void expect_sample(const char *name, const void *doc, size_t len,
                          const int pass[XSD_SCHEMA_COUNT])
{
  struct xsd_result r[XSD_SCHEMA_COUNT];
  unsigned s;

  validate(doc, len, 0, r);
  for(s = 0; s < XSD_SCHEMA_COUNT; s++)
    if(r[s].pass != pass[s])
      fail_msg("sample %s against %s: expected %s (%s)", name,
               xsd_schema_name(s), pass[s] ? "pass" : "fail", r[s].info);
}

/* The demo samples are what TA-dmarc-c/samples.md says, the gzip'd
 * and zipped ones included. */
static void test_demo_samples(void **state)
{
  static const int r7489[] = { 1, 0, 1, 0 }, relaxed[] = { 1, 0, 0, 0 },
                   draft[] = { 1, 1, 0, 0 }, r9990[] = { 0, 0, 0, 1 };
  char path[1024];
  static char buf[1 << 16];
  size_t len;
  int n;
  gzFile gz;
  unzFile zf;
  char *doc;

  (void)state;
  snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR,
           "mail.receiver.example!example.com!1772323200!1772409599.xml");
  doc = read_fixture(path, &len);
  expect_sample(path, doc, len, r7489);
  free(doc);
  snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR,
           "gateway.example!example.org!1772582400!1772668799.xml");
  doc = read_fixture(path, &len);
  expect_sample(path, doc, len, r9990);
  free(doc);

  snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR,
           "bigmail.example!example.com!1772409600!1772495999.xml.gz");
  gz = gzopen(path, "rb");
  assert_non_null(gz);
  n = gzread(gz, buf, sizeof(buf));
  gzclose(gz);
  assert_true(n > 0 && n < (int)sizeof(buf));
  expect_sample(path, buf, (size_t)n, relaxed);

  snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR,
           "provider-one.example!example.com!1772496000!1772582399.zip");
  zf = unzOpen(path);
  assert_non_null(zf);
  assert_int_equal(unzGoToFirstFile(zf), UNZ_OK);
  for(int member = 0; member < 2; member++) {
    assert_int_equal(unzOpenCurrentFile(zf), UNZ_OK);
    n = unzReadCurrentFile(zf, buf, sizeof(buf));
    assert_true(n > 0 && n < (int)sizeof(buf));
    assert_int_equal(unzCloseCurrentFile(zf), UNZ_OK);
    expect_sample(path, buf, (size_t)n, member == 0 ? r7489 : draft);
    if(member == 0)
      assert_int_equal(unzGoToNextFile(zf), UNZ_OK);
  }
  assert_int_equal(unzGoToNextFile(zf), UNZ_END_OF_LIST_OF_FILE);
  unzClose(zf);
}

/* Validations reuse their parser and validation contexts.  Nothing of one
 * document may show in the next however it ended: every fixture gives the
 * same results (texts included) after documents that were aborted inside
 * a namespace scope, refused at a DOCTYPE, cut short, in UTF-16, or
 * declared thousands of namespace prefixes. */
static void test_reuse_leaves_nothing_behind(void **state)
{
  static const char open_scope[] =
      "<feedback xmlns:a=\"urn:x\"><a:report_metadata><a:org_name>x";
  static const char unbound[] = "<feedback><a:x/></feedback>";
  static struct xsd_result first[N_FIXTURES][XSD_SCHEMA_COUNT];
  struct xsd_result r[XSD_SCHEMA_COUNT], unbound_first[XSD_SCHEMA_COUNT];
  struct xsd_validation *v;
  size_t i, len, k;
  unsigned s, round;
  char *doc, *many;
  struct buf b;

  (void)state;
  validate_str(unbound, unbound_first);
  assert_string_equal(unbound_first[RELAXED].info,
                      "Namespace prefix a on x is not defined, line 1");
  for(i = 0; i < N_FIXTURES; i++) {
    doc = read_fixture(fixtures[i].file, &len);
    validate(doc, len, 0, first[i]);
    free(doc);
  }
  /* Thousands of prefixes on the root of a valid report. */
  doc = read_fixture("rfc7489_valid.xml", &len);
  buf_init(&b, SIZE_MAX);
  for(k = 0; k < 6000; k++)
    assert_true(buf_printf(&b, " xmlns:p%zu=\"urn:p%zu\"", k, k) >= 0);
  many = replace(doc, "<feedback", "<feedback\x01");
  free(doc);
  doc = replace(many, "\x01", b.data);
  free(many);
  many = doc;
  buf_free(&b);

  for(round = 0; round < 3; round++) {
    for(i = N_FIXTURES; i-- > 0;) {
      /* a document abandoned with a prefix bound and elements open */
      v = xsd_validation_begin();
      assert_non_null(v);
      xsd_validation_feed(v, open_scope, sizeof(open_scope) - 1);
      if(round == 1)
        xsd_validation_end(v, r); /* truncated instead of abandoned */
      else
        xsd_validation_abort(v);
      /* The prefix is not bound in a new document. */
      validate_str(unbound, r);
      for(s = 0; s < XSD_SCHEMA_COUNT; s++) {
        assert_false(r[s].pass);
        assert_string_equal(r[s].info, unbound_first[s].info);
      }
      if(i % 3 == 0)
        validate_str("<!DOCTYPE feedback><feedback/>", r);
      if(i % 4 == 1)
        validate_str("<f", r);
      if(i % 5 == 2)
        validate(many, strlen(many), 0, r);

      doc = read_fixture(fixtures[i].file, &len);
      validate(doc, len, round == 2 ? 7 : 0, r);
      free(doc);
      for(s = 0; s < XSD_SCHEMA_COUNT; s++) {
        if(r[s].pass != first[i][s].pass || strcmp(r[s].info, first[i][s].info))
          fail_msg("%s against %s, round %u: \"%s\", first time \"%s\"",
                   fixtures[i].file, xsd_schema_name(s), round, r[s].info,
                   first[i][s].info);
      }
    }
  }
  validate(many, strlen(many), 0, r);
  assert_true(r[RELAXED].pass);
  assert_true(r[RFC7489].pass);
  free(many);
}

/* libxml2 never prints: run failing documents with stderr redirected to a
 * file and check the file stays empty. */
static void test_nothing_on_stderr(void **state)
{
  struct xsd_result r[XSD_SCHEMA_COUNT];
  FILE *tmp = tmpfile();
  int saved;
  long size;
  size_t len;
  char *doc = read_fixture("malformed.xml", &len);

  (void)state;
  assert_non_null(tmp);
  fflush(stderr);
  saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);

  validate(doc, len, 0, r);
  validate_str("<feedback><<", r);
  validate_str(
      "<?xml version=\"1.0\" encoding=\"no-such-charset\"?><feedback/>", r);
  validate_str("<feedback xmlns:a=\"rel/uri\"><a:x/></feedback>", r);
  validate_str("\xff\xfe<\0", r);

  fflush(stderr);
  assert_true(dup2(saved, STDERR_FILENO) >= 0);
  close(saved);
  assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
  size = ftell(tmp);
  fclose(tmp);
  assert_int_equal(size, 0);
  free(doc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_init_idempotent),
    cmocka_unit_test(test_fixtures),
    cmocka_unit_test(test_info_strings),
    cmocka_unit_test(test_info_line_of_closed_element),
    cmocka_unit_test(test_long_info_is_valid_utf8),
    cmocka_unit_test(test_chunk_sizes),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_every_truncation_fails),
    cmocka_unit_test(test_entities_and_dtd),
    cmocka_unit_test(test_source_ip_forms),
    cmocka_unit_test(test_abort_and_null),
    cmocka_unit_test(test_interleaved),
    cmocka_unit_test(test_demo_samples),
    cmocka_unit_test(test_nothing_on_stderr),
    cmocka_unit_test(test_reuse_leaves_nothing_behind),
  };

  return cmocka_run_group_tests_name("xsd", tests, setup, NULL);
}
