/* Unit tests for the report parser, renderer and spool (common/dmarc). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "spool.h"
#include "buf.h"

struct out {
  struct buf all; /* events, each followed by "\n---\n" */
  int n;
  int64_t time;
  char source[256];
};

static int collect(void *ud, const char *text, size_t len, int64_t time,
                   const char *source)
{
  struct out *o = ud;
  buf_append(&o->all, text, len);
  buf_puts(&o->all, "\n---\n");
  o->n++;
  o->time = time;
  snprintf(o->source, sizeof(o->source), "%s", source);
  return 0;
}

static const char *fake_resolve(void *ud, const char *ip)
{
  (void)ud;
  return !strcmp(ip, "192.0.2.1") ? "Mail.Example.COM" : NULL;
}

/* Parse doc fed in chunks of `chunk` bytes (0: all at once); return the
 * verdict and, for DMARC_OK, the events in o. */
static const char *extra; /* passed to dmarc_report_emit */
static char last_key[512];

static enum dmarc_verdict run_fmt(const char *doc, size_t len, size_t chunk,
                                  enum dmarc_format fmt,
                                  const struct dmarc_limits *lim,
                                  const struct dmarc_xsd_annotation *xsd,
                                  struct out *o, char *reason, size_t rlen)
{
  struct dmarc_limits dl;
  struct dmarc_spool *sp = dmarc_spool_new();
  struct dmarc_parser *p;
  struct dmarc_report *r;
  enum dmarc_verdict v = DMARC_OK;

  if(!lim) {
    dmarc_limits_default(&dl);
    lim = &dl;
  }
  buf_init(&o->all, (size_t)-1);
  o->n = 0;
  p = dmarc_parser_new(lim, fmt, sp, "rua.xml");
  assert_non_null(p);
  if(!chunk)
    chunk = len ? len : 1;
  for(size_t off = 0; off < len && v == DMARC_OK; off += chunk)
    v = dmarc_parser_feed(p, doc + off, len - off < chunk ? len - off : chunk);
  if(v == DMARC_OK)
    v = dmarc_parser_finish(p);
  if(reason)
    snprintf(reason, rlen, "%s", dmarc_parser_reason(p));
  r = dmarc_parser_done(p);
  if(v == DMARC_OK) {
    assert_non_null(r);
    snprintf(last_key, sizeof(last_key), "%s", dmarc_report_key(r));
    assert_true(dmarc_report_emit(r, sp, xsd, extra, fake_resolve, NULL,
                                  collect, o) >= 0);
    dmarc_report_free(r);
  }
  else {
    assert_null(r);
    assert_int_equal(dmarc_spool_mark(sp), 0); /* rolled back */
  }
  dmarc_spool_free(sp);
  return v;
}

static enum dmarc_verdict run(const char *doc, struct out *o)
{
  return run_fmt(doc, strlen(doc), 0, DMARC_FORMAT_JSON, NULL, NULL, o, NULL,
                 0);
}

#define RUA                                                                       \
  "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n"                                 \
  "<feedback>\n"                                                                  \
  "  <report_metadata>\n"                                                         \
  "    <org_name>Example Receiver</org_name>\n"                                   \
  "    <email>noreply-dmarc@Receiver.example</email>\n"                           \
  "    <extra_contact_info/>\n"                                                   \
  "    <report_id>RID-42</report_id>\n"                                           \
  "    <date_range><begin>1767225600</begin><end>1767311999</end></date_range>\n" \
  "  </report_metadata>\n"                                                        \
  "  <policy_published>\n"                                                        \
  "    <domain>Sender.EXAMPLE</domain><adkim>r</adkim><aspf>r</aspf>\n"           \
  "    <p>none</p><sp/><pct>100</pct>\n"                                          \
  "  </policy_published>\n"                                                       \
  "  <record>\n"                                                                  \
  "    <row><source_ip>192.0.2.1</source_ip><count>2</count>\n"                   \
  "      <policy_evaluated><disposition>none</disposition><dkim>Pass</dkim>"      \
  "<spf>fail</spf></policy_evaluated></row>\n"                                    \
  "    <identifiers><header_from>Sender.example</header_from></identifiers>\n"    \
  "    <auth_results><dkim><domain>sender.example</domain><result>pass</result>"  \
  "<human_result></human_result></dkim>"                                          \
  "<spf><domain>bounce.sender.example</domain><result>fail</result></spf>"        \
  "</auth_results>\n"                                                             \
  "  </record>\n"                                                                 \
  "</feedback>\n"

/* The exact shape the old add-on wrote (json.dumps defaults), with the
 * forward-confirmed name added under row. */
static void test_json_shape_exact(void **state)
{
  struct out o;
  (void)state;
  assert_int_equal(run(RUA, &o), DMARC_OK);
  assert_int_equal(o.n, 1);
  assert_string_equal(
      o.all.data,
      "{\"feedback\": [{\"report_metadata\": {\"org_name\": \"Example Receiver\", "
      "\"email\": \"noreply-dmarc@Receiver.example\", \"extra_contact_info\": {}, "
      "\"report_id\": \"RID-42\", \"date_range\": {\"begin\": \"1767225600\", "
      "\"end\": \"1767311999\"}}}, {\"policy_published\": {\"domain\": "
      "\"sender.example\", \"adkim\": \"r\", \"aspf\": \"r\", \"p\": \"none\", "
      "\"sp\": {}, \"pct\": \"100\"}}, {\"record\": {\"row\": {\"source_ip\": "
      "\"192.0.2.1\", \"count\": \"2\", \"policy_evaluated\": {\"disposition\": "
      "\"none\", \"dkim\": \"pass\", \"spf\": \"fail\"}, \"ip_resolution\": "
      "\"mail.example.com\"}, \"identifiers\": {\"header_from\": "
      "\"sender.example\"}, \"auth_results\": {\"dkim\": {\"domain\": "
      "\"sender.example\", \"result\": \"pass\", \"human_result\": {}}, "
      "\"spf\": {\"domain\": \"bounce.sender.example\", \"result\": "
      "\"fail\"}}}}], \"vendor_rua_xsd_validations\": \"None\"}\n---\n");
  assert_int_equal(o.time, 1767311999);
  assert_string_equal(o.source, "rua.xml");
  buf_free(&o.all);
}

static void test_kv_shape_exact(void **state)
{
  static const char *names[] = { "rua_ta_dmarc_relaxed_v01.xsd" };
  static const int pass[] = { 1 };
  static const char *info[] = { "" };
  struct dmarc_xsd_annotation x = { 1, names, pass, info };
  struct out o;
  (void)state;
  assert_int_equal(
      run_fmt(RUA, strlen(RUA), 0, DMARC_FORMAT_KV, NULL, &x, &o, NULL, 0),
      DMARC_OK);
  assert_string_equal(o.all.data,
                      "RUA BEGIN\n"
                      "rpt_metadata_org_name=\"Example Receiver\",\n"
                      "rpt_metadata_email=\"noreply-dmarc@Receiver.example\",\n"
                      "rpt_metadata_extra_contact_info=\"\",\n"
                      "rpt_metadata_report_id=\"RID-42\",\n"
                      "rpt_metadata_date_range_begin=\"1767225600\",\n"
                      "rpt_metadata_date_range_end=\"1767311999\",\n"
                      "policy_published_domain=\"sender.example\",\n"
                      "policy_published_adkim=\"r\",\n"
                      "policy_published_aspf=\"r\",\n"
                      "policy_published_p=\"none\",\n"
                      "policy_published_sp=\"\",\n"
                      "policy_published_pct=\"100\",\n"
                      "row_source_ip=\"192.0.2.1\",\n"
                      "src=\"mail.example.com\",\n"
                      "row_count=\"2\",\n"
                      "row_policy_evaluated_disposition=\"none\",\n"
                      "row_policy_evaluated_dkim=\"pass\",\n"
                      "row_policy_evaluated_spf=\"fail\",\n"
                      "identifiers_header_from=\"sender.example\",\n"
                      "auth_result_dkim_domain=\"sender.example\",\n"
                      "auth_result_dkim_result=\"pass\",\n"
                      "auth_result_dkim_human_result=\"\",\n"
                      "auth_result_spf_domain=\"bounce.sender.example\",\n"
                      "auth_result_spf_result=\"fail\",\n"
                      "vendor_rua_xsd_validation=\"success\"\n"
                      "\n---\n");
  buf_free(&o.all);
}

/* Every DKIM and SPF result reaches KV (the old add-on kept the first), and
 * a quote in a value is escaped instead of breaking the event. */
static void test_kv_all_results_and_quotes(void **state)
{
  const char *doc =
      "<feedback><report_metadata><org_name>The \"Big\" Org</org_name>"
      "<report_id>1</report_id></report_metadata>"
      "<record><row><source_ip>198.51.100.7</source_ip></row><auth_results>"
      "<dkim><domain>a.example</domain><result>pass</result></dkim>"
      "<spf><domain>s.example</domain><result>pass</result></spf>"
      "<dkim><domain>b.example</domain><result>fail</result></dkim>"
      "</auth_results></record></feedback>";
  struct out o;
  (void)state;
  assert_int_equal(
      run_fmt(doc, strlen(doc), 0, DMARC_FORMAT_KV, NULL, NULL, &o, NULL, 0),
      DMARC_OK);
  assert_non_null(
      strstr(o.all.data, "rpt_metadata_org_name=\"The \\\"Big\\\" Org\""));
  assert_non_null(strstr(o.all.data, "auth_result_dkim_domain=\"a.example\""));
  assert_non_null(strstr(o.all.data, "auth_result_dkim_domain=\"b.example\""));
  assert_non_null(strstr(o.all.data, "auth_result_dkim_result=\"fail\""));
  assert_non_null(strstr(o.all.data, "vendor_rua_xsd_validation=\"unknown\""));
  assert_null(strstr(o.all.data, "src=")); /* not confirmed: no src */
  buf_free(&o.all);
}

/* Repeated siblings become an array at the place of the first, like an
 * ordered dict; attributes become keys, text beside them "content". */
static void test_repeated_and_attributes(void **state)
{
  const char *doc =
      "<feedback><record><row><source_ip>2001:DB8::1</source_ip></row>"
      "<auth_results><dkim><domain>A.example</domain></dkim>"
      "<spf><domain>s.example</domain></spf>"
      "<dkim><domain>b.example</domain><human_result lang=\"EN\">Body Hash "
      "Mismatch</human_result></dkim></auth_results></record></feedback>";
  struct out o;
  (void)state;
  assert_int_equal(run(doc, &o), DMARC_OK);
  assert_non_null(
      strstr(o.all.data,
             "\"auth_results\": {\"dkim\": [{\"domain\": \"a.example\"}, "
             "{\"domain\": \"b.example\", \"human_result\": {\"lang\": \"en\", "
             "\"content\": \"body hash mismatch\"}}], \"spf\": {\"domain\": "
             "\"s.example\"}}"));
  /* IPv6 lower-cased like every record value; no row-level insert when
   * the name does not confirm. */
  assert_non_null(strstr(o.all.data, "{\"source_ip\": \"2001:db8::1\"}"));
  buf_free(&o.all);
}

/* Records before the header, version first in the document: the event
 * order is still metadata, policy, version, record; a namespace changes
 * nothing (RFC 9990); unknown top-level elements are kept. */
static void test_any_order_namespace_unknown(void **state)
{
  const char *doc =
      "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"
      "<version>1.0</version>"
      "<record><row><source_ip>203.0.113.9</source_ip><count>1</count></row>"
      "<vendor_x>Keep Me</vendor_x></record>"
      "<extension><x:a xmlns:x=\"urn:x\">1</x:a></extension>"
      "<policy_published><domain>d.example</domain><np>reject</np>"
      "<testing>n</testing></policy_published>"
      "<report_metadata><org_name>GMX</org_name><report_id>r</report_id>"
      "<date_range><begin>1</begin><end> 1767311999.0 </end></date_range>"
      "</report_metadata></feedback>";
  struct out o;
  (void)state;
  assert_int_equal(run(doc, &o), DMARC_OK);
  assert_int_equal(o.n, 1);
  assert_true(strncmp(o.all.data,
                      "{\"feedback\": [{\"report_metadata\": "
                      "{\"org_name\": \"GMX\"",
                      50) == 0);
  assert_non_null(strstr(
      o.all.data,
      "{\"policy_published\": {\"domain\": \"d.example\", \"np\": \"reject\", "
      "\"testing\": \"n\"}}, {\"version\": \"1.0\"}, {\"extension\": {\"a\": "
      "\"1\"}}, {\"record\": {\"row\": {\"source_ip\": \"203.0.113.9\", "
      "\"count\": \"1\"}, \"vendor_x\": \"keep me\"}}]"));
  /* The value is kept as written; only the time stamp is parsed. */
  assert_non_null(strstr(o.all.data, "\"end\": \"1767311999.0\""));
  assert_int_equal(o.time, 1767311999);
  buf_free(&o.all);
}

static void test_one_event_per_record_and_chunking(void **state)
{
  struct buf doc;
  struct out whole, bytes;
  (void)state;
  buf_init(&doc, (size_t)-1);
  buf_puts(&doc, "<feedback><report_metadata><org_name>o</org_name>"
                 "<date_range><end>100</end></date_range></report_metadata>");
  for(int i = 0; i < 50; i++)
    buf_printf(&doc,
               "<record><row><source_ip>10.0.0.%d</source_ip>"
               "<count>%d</count></row></record>",
               i, i);
  buf_puts(&doc, "</feedback>");
  assert_int_equal(run_fmt(doc.data, doc.len, 0, DMARC_FORMAT_JSON, NULL, NULL,
                           &whole, NULL, 0),
                   DMARC_OK);
  assert_int_equal(whole.n, 50);
  /* A byte at a time gives the very same events. */
  assert_int_equal(run_fmt(doc.data, doc.len, 1, DMARC_FORMAT_JSON, NULL, NULL,
                           &bytes, NULL, 0),
                   DMARC_OK);
  assert_int_equal(bytes.n, 50);
  assert_string_equal(whole.all.data, bytes.all.data);
  assert_non_null(strstr(whole.all.data, "\"source_ip\": \"10.0.0.49\", "
                                         "\"count\": \"49\""));
  buf_free(&doc);
  buf_free(&whole.all);
  buf_free(&bytes.all);
}

/* windows-1252 (AOL) through iconv, UTF-16 with BOM, UTF-8 with BOM; all
 * non-ASCII escaped as \uXXXX like json.dumps. */
static void test_encodings(void **state)
{
  const char cp1252[] =
      "<?xml version=\"1.0\" encoding=\"windows-1252\"?><feedback>"
      "<report_metadata><org_name>Caf\xe9 \x80</org_name></report_metadata>"
      "<record><row><source_ip>192.0.2.2</source_ip></row></record></feedback>";
  const char bom8[] = "\xef\xbb\xbf<feedback><record><row><count>1</count>"
                      "</row></record></feedback>";
  const char *ascii = "<feedback><record><row><count>\xc3\xa9</count></row>"
                      "</record></feedback>";
  char u16[512];
  size_t n = 0;
  struct out o;
  (void)state;

  assert_int_equal(run_fmt(cp1252, sizeof(cp1252) - 1, 0, DMARC_FORMAT_JSON,
                           NULL, NULL, &o, NULL, 0),
                   DMARC_OK);
  assert_non_null(strstr(o.all.data, "\"org_name\": \"Caf\\u00e9 \\u20ac\""));
  buf_free(&o.all);

  assert_int_equal(run_fmt(bom8, sizeof(bom8) - 1, 0, DMARC_FORMAT_JSON, NULL,
                           NULL, &o, NULL, 0),
                   DMARC_OK);
  assert_int_equal(o.n, 1);
  buf_free(&o.all);

  u16[n++] = (char)0xff;
  u16[n++] = (char)0xfe;
  for(const char *c = ascii; *c; c++) {
    if((unsigned char)*c == 0xc3) { /* é = U+00E9 */
      u16[n++] = (char)0xe9;
      u16[n++] = 0;
      c++;
      continue;
    }
    u16[n++] = *c;
    u16[n++] = 0;
  }
  assert_int_equal(
      run_fmt(u16, n, 3, DMARC_FORMAT_JSON, NULL, NULL, &o, NULL, 0), DMARC_OK);
  assert_non_null(strstr(o.all.data, "\"count\": \"\\u00e9\""));
  buf_free(&o.all);
}

static void expect(const char *doc, enum dmarc_verdict want, const char *why)
{
  struct out o;
  char reason[512];
  enum dmarc_verdict v = run_fmt(doc, strlen(doc), 7, DMARC_FORMAT_JSON, NULL,
                                 NULL, &o, reason, sizeof(reason));
  if(v != want || !strstr(reason, why))
    fail_msg("verdict %d (want %d), reason '%s' (want '%s')", v, want, reason,
             why);
  buf_free(&o.all);
}

/* Every XML attack needs a DTD; the first one refuses the document before
 * anything is expanded or fetched. */
static void test_xml_attacks_refused(void **state)
{
  (void)state;
  expect(
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
      "<feedback><record>&lol2;</record></feedback>",
      DMARC_FORBIDDEN, "DOCTYPE");
  expect("<!DOCTYPE feedback [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
         "<feedback>&xxe;</feedback>",
         DMARC_FORBIDDEN, "<!DOCTYPE feedback>");
  expect("<!DOCTYPE feedback SYSTEM \"http://127.0.0.1:9/x.dtd\"><feedback/>",
         DMARC_FORBIDDEN, "SYSTEM http://127.0.0.1:9/x.dtd");
  expect("<!DOCTYPE f [<!ENTITY % p SYSTEM \"http://127.0.0.1:9/p\"> %p;]>"
         "<feedback/>",
         DMARC_FORBIDDEN, "DOCTYPE");
}

static void test_not_reports_and_malformed(void **state)
{
  (void)state;
  expect("", DMARC_NOT_REPORT, "empty");
  expect("%PDF-1.4 not xml at all", DMARC_NOT_REPORT, "not XML");
  expect("<html><body>hi</body></html>", DMARC_NOT_REPORT,
         "root element is <html>");
  expect("<feedback><record><row>", DMARC_MALFORMED, "not well-formed");
  expect("<feedback><email><bad@x.example></email></feedback>", DMARC_MALFORMED,
         "line 1");
  expect("<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?><feedback/>",
         DMARC_MALFORMED, "encoding");
}

static void test_limits(void **state)
{
  struct dmarc_limits lim;
  struct buf doc;
  struct out o;
  char reason[512];
  (void)state;

  dmarc_limits_default(&lim);
  buf_init(&doc, (size_t)-1);
  buf_puts(&doc, "<feedback><record>");
  for(int i = 0; i < 40; i++)
    buf_puts(&doc, "<a>");
  assert_int_equal(run_fmt(doc.data, doc.len, 0, DMARC_FORMAT_JSON, &lim, NULL,
                           &o, reason, sizeof(reason)),
                   DMARC_LIMIT);
  assert_non_null(strstr(reason, "deeper than 32 (max_depth)"));

  lim.max_text = 100;
  buf_reset(&doc);
  buf_puts(&doc, "<feedback><record><row><count>");
  for(int i = 0; i < 20; i++)
    buf_puts(&doc, "0123456789");
  buf_puts(&doc, "</count></row></record></feedback>");
  assert_int_equal(run_fmt(doc.data, doc.len, 0, DMARC_FORMAT_JSON, &lim, NULL,
                           &o, reason, sizeof(reason)),
                   DMARC_LIMIT);
  assert_non_null(strstr(reason, "longer than 100 bytes (max_text)"));

  dmarc_limits_default(&lim);
  lim.max_records = 3;
  buf_reset(&doc);
  buf_puts(&doc, "<feedback>");
  for(int i = 0; i < 5; i++)
    buf_puts(&doc, "<record><row><count>1</count></row></record>");
  buf_puts(&doc, "</feedback>");
  assert_int_equal(run_fmt(doc.data, doc.len, 0, DMARC_FORMAT_JSON, &lim, NULL,
                           &o, reason, sizeof(reason)),
                   DMARC_LIMIT);
  assert_non_null(strstr(reason, "more than 3 records (max_records)"));

  dmarc_limits_default(&lim);
  lim.max_element_bytes = 4096;
  buf_reset(&doc);
  buf_puts(&doc, "<feedback><record>");
  for(int i = 0; i < 400; i++)
    buf_puts(&doc, "<c>1</c>");
  buf_puts(&doc, "</record></feedback>");
  assert_int_equal(run_fmt(doc.data, doc.len, 0, DMARC_FORMAT_JSON, &lim, NULL,
                           &o, reason, sizeof(reason)),
                   DMARC_LIMIT);
  assert_non_null(strstr(reason, "max_element_bytes"));
  buf_free(&doc);
}

static void test_xsd_annotation(void **state)
{
  static const char *names[] = { "a.xsd", "b.xsd" };
  static const int pass[] = { 1, 0 };
  static const char *info[] = { "", "Element 'x': \"bad\", line 3" };
  struct dmarc_xsd_annotation x = { 2, names, pass, info };
  struct out o;
  (void)state;
  assert_int_equal(
      run_fmt(RUA, strlen(RUA), 0, DMARC_FORMAT_JSON, NULL, &x, &o, NULL, 0),
      DMARC_OK);
  assert_non_null(strstr(
      o.all.data,
      "], \"vendor_rua_xsd_validations\": "
      "{\"a.xsd\": {\"result\": \"pass\"}, \"b.xsd\": {\"result\": \"fail\", "
      "\"info\": \"Element 'x': \\\"bad\\\", line 3\"}}}\n"));
  buf_free(&o.all);
}

static int check_entry(void *ud, const struct dmarc_spool_entry *e)
{
  int *n = ud;
  char ip[32];

  snprintf(ip, sizeof(ip), "10.0.%d.%d", *n / 256, *n % 256);
  if(strcmp(e->ip, ip) || e->len != 3000 || e->insert_at != (size_t)*n % 3000 ||
     e->frag[0] != (char)('0' + *n % 10) ||
     e->frag[2999] != (char)('a' + 2999 % 26))
    return -1;
  (*n)++;
  return 0;
}

/* More than the spool's memory part: records come back whole and in order
 * from the temporary file. */
static void test_spool_spills_to_file(void **state)
{
  struct dmarc_spool *sp = dmarc_spool_new();
  struct buf big;
  uint64_t start, mid = 0, end;
  int seen = 0;
  (void)state;

  buf_init(&big, (size_t)-1);
  for(int i = 0; i < 3000; i++)
    buf_putc(&big, (char)('a' + i % 26));
  start = dmarc_spool_mark(sp);
  for(int i = 0; i < 4000; i++) { /* ~12 MB: spills to the file */
    char ip[32];
    snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
    big.data[0] = (char)('0' + i % 10);
    assert_int_equal(
        dmarc_spool_add(sp, big.data, big.len, (size_t)i % 3000, ip), 0);
    if(i == 1999)
      mid = dmarc_spool_mark(sp);
  }
  end = dmarc_spool_mark(sp);
  assert_true(end - start > 2 * DMARC_SPOOL_MEM);
  assert_int_equal(dmarc_spool_each(sp, start, end, check_entry, &seen), 0);
  assert_int_equal(seen, 4000);
  /* Rewinding into the file part drops the later entries. */
  assert_int_equal(dmarc_spool_rewind(sp, mid), 0);
  assert_int_equal(dmarc_spool_mark(sp), mid);
  seen = 0;
  assert_int_equal(dmarc_spool_each(sp, start, mid, check_entry, &seen), 0);
  assert_int_equal(seen, 2000);
  buf_free(&big);
  dmarc_spool_free(sp);
}

/* A document abandoned part-way (the archive around it failed) is not a
 * report even though nothing in it was wrong so far, and its records are
 * taken back out of the spool. */
static void test_abandoned_document_is_no_report(void **state)
{
  struct dmarc_limits lim;
  struct dmarc_spool *sp = dmarc_spool_new();
  struct dmarc_parser *p;
  const char *doc = "<feedback><record><row><count>1</count></row></record>";
  (void)state;
  dmarc_limits_default(&lim);
  p = dmarc_parser_new(&lim, DMARC_FORMAT_JSON, sp, "x.xml");
  assert_int_equal(dmarc_parser_feed(p, doc, strlen(doc)), DMARC_OK);
  assert_true(dmarc_spool_mark(sp) > 0);
  assert_null(dmarc_parser_done(p));
  assert_int_equal(dmarc_spool_mark(sp), 0);
  dmarc_spool_free(sp);
}

/* Mail inputs add members to every event and tell reports apart by key. */
static void test_extra_members_and_key(void **state)
{
  struct out o;
  (void)state;
  extra = "\"vendor_rua_mail\": {\"uid\": \"7\"}";
  assert_int_equal(run(RUA, &o), DMARC_OK);
  assert_non_null(strstr(o.all.data,
                         "\"vendor_rua_xsd_validations\": \"None\", "
                         "\"vendor_rua_mail\": {\"uid\": \"7\"}}\n"));
  assert_string_equal(last_key, "Example Receiver\x1f"
                                "RID-42\x1f"
                                "Sender.EXAMPLE\x1f"
                                "1767225600\x1f"
                                "1767311999");
  buf_free(&o.all);
  extra = "mail_uid=\"7\",\n";
  assert_int_equal(
      run_fmt(RUA, strlen(RUA), 0, DMARC_FORMAT_KV, NULL, NULL, &o, NULL, 0),
      DMARC_OK);
  assert_non_null(strstr(o.all.data, "vendor_rua_xsd_validation=\"unknown\"\n"
                                     "mail_uid=\"7\",\n"));
  buf_free(&o.all);
  extra = NULL;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_json_shape_exact),
    cmocka_unit_test(test_kv_shape_exact),
    cmocka_unit_test(test_kv_all_results_and_quotes),
    cmocka_unit_test(test_repeated_and_attributes),
    cmocka_unit_test(test_any_order_namespace_unknown),
    cmocka_unit_test(test_one_event_per_record_and_chunking),
    cmocka_unit_test(test_encodings),
    cmocka_unit_test(test_xml_attacks_refused),
    cmocka_unit_test(test_not_reports_and_malformed),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_xsd_annotation),
    cmocka_unit_test(test_spool_spills_to_file),
    cmocka_unit_test(test_abandoned_document_is_no_report),
    cmocka_unit_test(test_extra_members_and_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
