/*
 * Unit tests for common/mail/mime.
 *
 * Fixtures live in tests/data/mail (see make-fixtures.py there); they are
 * stored with LF line ends and every structural test also runs on a CRLF
 * copy.  Hostile shapes (deep nesting, part floods, huge header blocks) are
 * generated here, never committed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "mime.h"
#include "buf.h"

/* ---- helpers ----------------------------------------------------------- */

static char *load(const char *name, size_t *len_r)
{
  const char *src = getenv("SRCDIR");
  char path[4096];
  FILE *f;
  char *data;
  long n;

  snprintf(path, sizeof(path), "%s/tests/data/mail/%s", src ? src : ".", name);
  f = fopen(path, "rb");
  if(f == NULL)
    fail_msg("cannot open fixture %s", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  assert_true(n >= 0);
  rewind(f);
  data = malloc((size_t)n + 1);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  data[n] = '\0';
  *len_r = (size_t)n;
  return data;
}

/* Copy with every LF turned into CRLF. */
static char *to_crlf(const char *in, size_t len, size_t *len_r)
{
  char *out = malloc(len * 2 + 1);
  size_t i, j = 0;

  assert_non_null(out);
  for(i = 0; i < len; i++) {
    if(in[i] == '\n')
      out[j++] = '\r';
    out[j++] = in[i];
  }
  out[j] = '\0';
  *len_r = j;
  return out;
}

struct fx {
  char *data;
  size_t len;
  struct mime_message *msg;
};

static void fx_parse(struct fx *fx, const char *name, int crlf,
                     const struct mime_limits *lim)
{
  const char *err = NULL;

  fx->data = load(name, &fx->len);
  if(crlf) {
    size_t n;
    char *c = to_crlf(fx->data, fx->len, &n);
    free(fx->data);
    fx->data = c;
    fx->len = n;
  }
  assert_int_equal(mime_parse(fx->data, fx->len, lim, &fx->msg, &err), 0);
  assert_non_null(fx->msg);
}

static void fx_free(struct fx *fx)
{
  mime_message_free(&fx->msg);
  assert_null(fx->msg);
  free(fx->data);
}

static const struct mime_part *nth_part(const struct mime_message *msg,
                                        unsigned index)
{
  const struct mime_part *p;

  for(p = mime_message_root(msg); p != NULL; p = mime_part_next(p))
    if(p->index == index)
      return p;
  fail_msg("no part %u", index);
  return NULL;
}

/* The n-th part (0-based) of content type ct in walk order. */
static const struct mime_part *find_ct(const struct mime_message *msg,
                                       const char *ct, int n)
{
  const struct mime_part *p;

  for(p = mime_message_root(msg); p != NULL; p = mime_part_next(p))
    if(strcmp(p->content_type, ct) == 0 && n-- == 0)
      return p;
  fail_msg("no part of type %s", ct);
  return NULL;
}

static char *text_of(const struct mime_message *msg, const struct mime_part *p)
{
  struct mime_data d;

  assert_int_equal(mime_part_text(msg, p, &d), 0);
  return d.data; /* caller frees */
}

static void assert_text(const struct mime_message *msg,
                        const struct mime_part *p, const char *want)
{
  char *t = text_of(msg, p);

  assert_string_equal(t, want);
  free(t);
}

/* Structural invariants every tree must keep, whatever the input. */
static void check_tree(const struct mime_message *msg, const char *in,
                       size_t len)
{
  const struct mime_part *p;
  unsigned n = 0, expect_index = 0;

  for(p = mime_message_root(msg); p != NULL; p = mime_part_next(p)) {
    const struct mime_part *c;
    unsigned nc = 0;
    size_t i;

    assert_int_equal(p->index, expect_index);
    expect_index++;
    n++;
    if(p->parent != NULL)
      assert_int_equal(p->depth, p->parent->depth + 1);
    assert_true(p->depth <= mime_message_limits(msg)->max_depth);
    for(c = p->children; c != NULL; c = c->next) {
      assert_ptr_equal(c->parent, p);
      nc++;
    }
    assert_int_equal(nc, p->nchildren);
    assert_non_null(p->content_type);
    if(p->flags & MIME_PART_OVERFLOW)
      assert_non_null(p->reason);
    /* a part outside any decoded copy lies inside the input */
    if(p->body >= in && p->body <= in + len)
      assert_true(p->body + p->body_len <= in + len);
    for(i = 0; i < p->nheaders; i++) {
      assert_int_equal(strlen(p->headers[i].value), p->headers[i].value_len);
      assert_int_equal(strlen(p->headers[i].decoded),
                       p->headers[i].decoded_len);
    }
  }
  assert_int_equal(n, mime_message_part_count(msg));
  assert_true(n <= mime_message_limits(msg)->max_parts);
}

/* Decode and convert every part; with ASan this proves no read is out of
 * bounds.  Returns the number of bytes produced (to keep the work live). */
static size_t touch_all(const struct mime_message *msg)
{
  const struct mime_part *p;
  size_t total = 0;

  for(p = mime_message_root(msg); p != NULL; p = mime_part_next(p)) {
    struct mime_data d;
    int64_t t;

    assert_int_equal(mime_part_decode(msg, p, &d), 0);
    assert_non_null(d.data);
    total += d.len;
    mime_data_free(&d);
    assert_int_equal(mime_part_text(msg, p, &d), 0);
    total += d.len;
    mime_data_free(&d);
    (void)mime_part_is_attachment(p);
    (void)mime_part_is_body(p);
    if(mime_header_get(p, "Date") != NULL)
      (void)mime_parse_date(mime_header_get(p, "Date"), &t);
  }
  return total;
}

/* ---- structure --------------------------------------------------------- */

static void test_alternative(void **state)
{
  struct fx fx;
  const struct mime_part *root, *plain, *html;
  int64_t t;
  int crlf;

  (void)state;
  for(crlf = 0; crlf < 2; crlf++) {
    fx_parse(&fx, "alternative.eml", crlf, NULL);
    root = mime_message_root(fx.msg);
    assert_string_equal(root->content_type, "multipart/alternative");
    assert_true(root->flags & MIME_PART_MULTIPART);
    assert_int_equal(root->nchildren, 2);
    assert_int_equal(mime_message_part_count(fx.msg), 3);
    assert_int_equal(mime_message_flags(fx.msg) & MIME_PART_OVERFLOW, 0);
    assert_string_equal(mime_header_get(root, "from"),
                        "\"Alice Example\" <alice@example.org>");
    assert_string_equal(mime_header_get(root, "Subject"), "Lunch?");
    assert_string_equal(mime_header_get(root, "Message-ID"),
                        "<alt-1@example.org>");
    assert_int_equal(mime_parse_date(mime_header_get(root, "Date"), &t), 0);
    assert_int_equal(t, 1751359957);

    plain = root->children;
    html = plain->next;
    assert_string_equal(plain->content_type, "text/plain");
    assert_string_equal(plain->charset, "utf-8");
    assert_int_equal(plain->encoding, MIME_ENC_QP);
    assert_true(mime_part_is_body(plain));
    assert_false(mime_part_is_attachment(plain));
    assert_text(fx.msg, plain,
                "Caf\xC3\xA9 at noon? This line is long and uses "
                "a soft break here to continue.\nSecond line.");
    assert_string_equal(html->content_type, "text/html");
    assert_true(mime_part_is_body(html));
    assert_text(fx.msg, html, "<p>Caf\xC3\xA9 at <b>noon</b>?</p>");
    check_tree(fx.msg, fx.data, fx.len);
    fx_free(&fx);
  }
}

/* mixed > related > alternative, with boundaries "b", "b-rel", "b-rel-alt"
 * that are prefixes of each other, and delimiter lines with trailing
 * blanks. */
static void test_nested(void **state)
{
  struct fx fx;
  const struct mime_part *root, *rel, *alt, *png, *pdf;
  struct mime_data d;
  int crlf;

  (void)state;
  for(crlf = 0; crlf < 2; crlf++) {
    fx_parse(&fx, "nested.eml", crlf, NULL);
    check_tree(fx.msg, fx.data, fx.len);
    root = mime_message_root(fx.msg);
    assert_int_equal(mime_message_part_count(fx.msg), 7);
    assert_int_equal(root->nchildren, 2);
    rel = root->children;
    assert_string_equal(rel->content_type, "multipart/related");
    assert_int_equal(rel->nchildren, 2);
    alt = rel->children;
    assert_string_equal(alt->content_type, "multipart/alternative");
    assert_int_equal(alt->nchildren, 2);
    assert_int_equal(alt->depth, 2);
    assert_text(fx.msg, alt->children, "plain body");
    assert_text(fx.msg, alt->children->next,
                "<p>html body <img src=\"cid:dot@x\"></p>");
    png = alt->next;
    assert_string_equal(png->content_type, "image/png");
    assert_string_equal(png->disposition, "inline");
    assert_true(mime_part_is_attachment(png)); /* not text */
    assert_string_equal(mime_header_get(png, "content-id"), "<dot@x>");
    assert_int_equal(mime_part_decode(fx.msg, png, &d), 0);
    assert_true(d.len > 8 && memcmp(d.data, "\x89PNG\r\n\x1a\n", 8) == 0);
    mime_data_free(&d);
    pdf = rel->next;
    assert_string_equal(pdf->content_type, "application/pdf");
    assert_string_equal(pdf->filename, "minutes.pdf");
    assert_true(mime_part_is_attachment(pdf));
    assert_int_equal(mime_part_decode(fx.msg, pdf, &d), 0);
    assert_int_equal(d.len, 18);
    assert_memory_equal(d.data, "%PDF-1.4\n%minimal\n", 18);
    mime_data_free(&d);
    assert_int_equal(mime_message_flags(fx.msg) &
                         (MIME_PART_OVERFLOW | MIME_PART_NO_END_BOUNDARY),
                     0);
    fx_free(&fx);
  }
}

static void test_attached_message(void **state)
{
  struct fx fx;
  const struct mime_part *root, *msgpart, *inner, *exe;
  const struct mime_header *h;
  struct mime_data d;
  int n = 0;

  (void)state;
  fx_parse(&fx, "attached-message.eml", 0, NULL);
  check_tree(fx.msg, fx.data, fx.len);
  root = mime_message_root(fx.msg);
  assert_true(mime_part_is_message_root(root));
  assert_int_equal(root->nchildren, 2);
  msgpart = root->children->next;
  assert_string_equal(msgpart->content_type, "message/rfc822");
  assert_true(msgpart->flags & MIME_PART_MESSAGE);
  assert_string_equal(msgpart->filename, "original.eml");
  assert_false(mime_part_is_leaf(msgpart));
  assert_false(mime_part_is_attachment(msgpart));
  assert_int_equal(msgpart->nchildren, 1);

  inner = msgpart->children;
  assert_true(mime_part_is_message_root(inner));
  assert_false(mime_part_is_message_root(root->children));
  assert_string_equal(mime_header_get(inner, "From"),
                      "Mallory M\xC3\xBCller <mallory@bad.example>");
  h = mime_header_find(inner, "From", NULL);
  assert_string_equal(h->value,
                      "=?utf-8?q?Mallory_M=C3=BCller?= <mallory@bad.example>");
  assert_string_equal(mime_header_get(inner, "Subject"), "Rechnung 42");
  for(h = mime_header_find(inner, "received", NULL); h != NULL;
      h = mime_header_find(inner, "received", h)) {
    assert_string_equal(
        h->value,
        n == 0
            ? "from a.bad.example by mx.example.org; Mon, 3 Mar 2025 10:00:00 +0000"
            : "from b.bad.example by a.bad.example; Mon, 3 Mar 2025 09:59:00 +0000");
    n++;
  }
  assert_int_equal(n, 2);
  assert_string_equal(inner->content_type, "multipart/mixed");
  assert_int_equal(inner->nchildren, 2);
  assert_true(mime_part_is_body(inner->children));
  exe = inner->children->next;
  assert_string_equal(exe->filename, "invoice.exe");
  assert_true(mime_part_is_attachment(exe));
  assert_int_equal(exe->depth, 3);
  assert_int_equal(mime_part_decode(fx.msg, exe, &d), 0);
  assert_int_equal(d.len, 16);
  assert_memory_equal(
      d.data, "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00", 16);
  mime_data_free(&d);
  /* top-level headers are the outer mail's */
  assert_string_equal(mime_header_get(root, "Subject"), "Fwd: suspicious");
  fx_free(&fx);
}

/* ---- DMARC report shapes ----------------------------------------------- */

/* The report XML inside every fixture, as the inline text/xml shape has it. */
static char *report_xml(size_t *len_r)
{
  struct fx fx;
  struct mime_data d;
  char *x;

  fx_parse(&fx, "dmarc-textxml.eml", 0, NULL);
  assert_int_equal(mime_part_decode(fx.msg, find_ct(fx.msg, "text/xml", 0), &d),
                   0);
  x = d.data;
  *len_r = d.len;
  fx_free(&fx);
  return x;
}

static void assert_gzip_is_report(const char *gz, size_t len)
{
  size_t xlen;
  char *xml = report_xml(&xlen);
  unsigned char out[8192];
  z_stream z;

  memset(&z, 0, sizeof(z));
  assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  z.next_in = (unsigned char *)(uintptr_t)gz;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = sizeof(out);
  assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
  assert_int_equal(z.total_out, xlen);
  assert_memory_equal(out, xml, xlen);
  inflateEnd(&z);
  free(xml);
}

static const char ZNAME[] =
    "reporter.example!example.com!1700000000!1700086399.zip";
static const char GNAME[] =
    "reporter.example!example.com!1700000000!1700086399.xml.gz";

static void test_dmarc_shapes(void **state)
{
  static const struct {
    const char *file, *ct, *name;
    int gz;         /* 1: payload is gzip, 0: zip */
    unsigned depth; /* of the payload leaf */
  } cases[] = {
    { "dmarc-zip.eml", "application/zip", ZNAME, 0, 1 },
    { "dmarc-xzip.eml", "application/x-zip-compressed", ZNAME, 0, 1 },
    { "dmarc-comcast.eml", "text/plain", GNAME, 1, 1 }, /* application-x-gzip */
    { "dmarc-ses.eml", "application/octet-stream",
      "amazonses.com!example.com!1700000000!1700086400.xml.gz", 1, 1 },
    { "dmarc-gzip-noname.eml", "application/gzip", NULL, 1, 1 },
    { "dmarc-wholebody.eml", "application/zip", ZNAME, 0, 0 },
    { "dmarc-forwarded.eml", "application/gzip", GNAME, 1, 3 },
    { "dmarc-exchange.eml", "text/plain", ZNAME, 0, 1 },
  };
  struct mime_data zref;
  struct fx ref;
  size_t i;
  int crlf;

  (void)state;
  /* the clean 76-column zip is the reference for every zip shape */
  fx_parse(&ref, "dmarc-zip.eml", 0, NULL);
  assert_int_equal(
      mime_part_decode(ref.msg, find_ct(ref.msg, "application/zip", 0), &zref),
      0);
  assert_memory_equal(zref.data, "PK\x03\x04", 4);

  for(crlf = 0; crlf < 2; crlf++) {
    for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      const struct mime_part *p, *found = NULL;
      struct fx fx;
      int payloads = 0;

      fx_parse(&fx, cases[i].file, crlf, NULL);
      check_tree(fx.msg, fx.data, fx.len);
      assert_non_null(mime_header_get(mime_message_root(fx.msg), "Subject"));
      assert_non_null(mime_header_get(mime_message_root(fx.msg), "Message-ID"));
      /* what the DMARC input does: every leaf, sniffed by content */
      for(p = mime_message_root(fx.msg); p != NULL; p = mime_part_next(p)) {
        struct mime_data d;

        if(!mime_part_is_leaf(p))
          continue;
        assert_int_equal(mime_part_decode(fx.msg, p, &d), 0);
        if(d.len >= 4 && (memcmp(d.data, "PK\x03\x04", 4) == 0 ||
                          memcmp(d.data, "\x1f\x8b", 2) == 0)) {
          payloads++;
          found = p;
          if(cases[i].gz) {
            assert_memory_equal(d.data, "\x1f\x8b", 2);
            assert_gzip_is_report(d.data, d.len);
          }
          else {
            assert_int_equal(d.len, zref.len);
            assert_memory_equal(d.data, zref.data, zref.len);
          }
          assert_int_equal(d.flags & MIME_DATA_TRUNCATED, 0);
        }
        mime_data_free(&d);
      }
      if(payloads != 1)
        fail_msg("%s: %d payloads", cases[i].file, payloads);
      assert_string_equal(found->content_type, cases[i].ct);
      if(cases[i].name == NULL)
        assert_null(found->filename);
      else
        assert_string_equal(found->filename, cases[i].name);
      assert_int_equal(found->depth, cases[i].depth);
      assert_true(mime_part_is_attachment(found));
      fx_free(&fx);
    }
  }
  mime_data_free(&zref);
  fx_free(&ref);
}

static void test_dmarc_textxml(void **state)
{
  struct fx fx;
  const struct mime_part *x;
  char *t;

  (void)state;
  fx_parse(&fx, "dmarc-textxml.eml", 0, NULL);
  x = find_ct(fx.msg, "text/xml", 0);
  if(!x) { /* cmocka's fail() does not return to gcc's eyes */
    fail_msg("no text/xml part");
    return;
  }
  assert_string_equal(x->disposition, "inline");
  assert_null(x->filename);
  assert_true(mime_part_is_leaf(x));
  /* RFC 2046 4.1.4: unnamed inline text of any subtype is a body */
  assert_false(mime_part_is_attachment(x));
  assert_true(mime_part_is_body(x));
  t = text_of(fx.msg, x);
  assert_true(strncmp(t, "<?xml version=\"1.0\"", 19) == 0);
  assert_non_null(strstr(t, "<report_id>4217713390021645</report_id>"));
  free(t);
  fx_free(&fx);
}

/* Exchange and gateway quirks in one mail. */
static void test_exchange_quirks(void **state)
{
  struct fx fx;
  const struct mime_part *root, *rel, *html, *typo, *footer;
  int crlf;

  (void)state;
  for(crlf = 0; crlf < 2; crlf++) {
    fx_parse(&fx, "dmarc-exchange.eml", crlf, NULL);
    root = mime_message_root(fx.msg);
    /* lower-case "Content-type", boundary on a folded line */
    assert_string_equal(root->content_type, "multipart/mixed");
    assert_string_equal(root->boundary, "_004_exch_");
    /* split encoded subject joined; blanks between the words dropped */
    assert_string_equal(
        mime_header_get(root, "Subject"),
        "Report domain: example.com Submitter: protection.outlook.example");
    assert_string_equal(mime_header_get(root, "From"),
                        "\"DMARC Reporter\" <dmarc@reporter.example>");
    /* the stray line without a leading blank stays in To, and the fields
     * after it are still fields */
    assert_string_equal(
        mime_header_get(root, "To"),
        "dmarc-rua@example.com, dmarc-copy@example.com, dmarc-third@example.com");
    assert_string_equal(mime_header_get(root, "Thread-Topic"),
                        "Report domain: example.com");
    assert_int_equal(root->flags & MIME_PART_NO_HEADER_END, 0);
    /* the footer part is last and the close delimiter is missing */
    assert_true(root->flags & MIME_PART_NO_END_BOUNDARY);
    assert_int_equal(root->nchildren, 3);
    rel = root->children;
    assert_string_equal(rel->content_type, "multipart/related");
    assert_string_equal(mime_part_ct_param(rel, "type"), "text/html");
    html = rel->children;
    assert_string_equal(html->charset, "utf8");
    assert_true(mime_part_is_body(html));
    assert_text(fx.msg, html,
                "<p>This is a DMARC aggregate report \xE2\x80\x94 "
                "see attachment.</p>");
    typo = rel->next;
    assert_int_equal(typo->content_type_explicit, 0); /* "ContentType:" */
    assert_string_equal(typo->content_type, "text/plain");
    assert_non_null(mime_header_find(typo, "ContentType", NULL));
    footer = typo->next;
    assert_true(mime_part_is_body(footer));
    assert_text(fx.msg, footer,
                "-- Scanned by the gateway. No threats found. --\n");
    check_tree(fx.msg, fx.data, fx.len);
    fx_free(&fx);
  }
}

/* ---- charsets ---------------------------------------------------------- */

static void test_charsets(void **state)
{
  static const char *const want[] = {
    "Gr\xC3\xBC\xC3\x9F"
    "e aus K\xC3\xB6ln",
    "\xE2\x80\x9CQuoted\xE2\x80\x9D \xE2\x82\xAC price \xE2\x80\x93 caf\xC3\xA9",
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD"
    "\xE3\x82\xB9\xE3\x83\x88\\\xE3\x81\xA7\xE3\x81\x99",
    "\xCE\x95\xCE\xBB\xCE\xBB\xCE\xB7\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xAC \xE2\x9C\x93",
    "no charset but UTF-8 \xE2\x9C\x93",
    "unknown label caf\xC3\xA9",
    "quoted utf8 label \xE2\x9C\x93",
    "\xE6\x97\xA5\xE6\x9C\xAC",
  };
  static const char *const used[] = {
    "windows-1252", "windows-1252", "CP932", "UTF-8",
    "UTF-8",        "windows-1252", "UTF-8", "iso-2022-jp",
  };
  struct fx fx;
  const struct mime_part *p;
  size_t i = 0;
  int crlf;

  (void)state;
  for(crlf = 0; crlf < 2; crlf++) {
    fx_parse(&fx, "charsets.eml", crlf, NULL);
    assert_string_equal(mime_header_get(mime_message_root(fx.msg), "Subject"),
                        "Gr\xC3\xBC\xC3\x9F"
                        "e");
    for(i = 0, p = mime_message_root(fx.msg)->children; p != NULL;
        p = p->next, i++) {
      struct mime_data d;

      assert_true(i < sizeof(want) / sizeof(want[0]));
      assert_true(mime_part_is_body(p));
      assert_int_equal(mime_part_text(fx.msg, p, &d), 0);
      assert_string_equal(d.data, want[i]);
      assert_string_equal(d.charset, used[i]);
      assert_int_equal(d.flags & MIME_DATA_DAMAGED, 0);
      mime_data_free(&d);
    }
    assert_int_equal(i, sizeof(want) / sizeof(want[0]));
    fx_free(&fx);
  }
}

static void test_charset_direct(void **state)
{
  struct mime_data d;

  (void)state;
  /* invalid bytes in a declared charset become U+FFFD, the rest survives */
  assert_int_equal(mime_charset_to_utf8("utf-8",
                                        "a\xFF"
                                        "b",
                                        3, 0, &d),
                   0);
  assert_string_equal(d.data, "a\xEF\xBF\xBD"
                              "b");
  assert_true(d.flags & MIME_DATA_DAMAGED);
  mime_data_free(&d);
  assert_int_equal(mime_charset_to_utf8("shift_jis", "\x82\xA0\x82", 3, 0, &d),
                   0);
  assert_string_equal(d.data, "\xE3\x81\x82\xEF\xBF\xBD"); /* truncated char */
  mime_data_free(&d);
  /* a charset name that could reach iconv as a path is refused */
  assert_int_equal(mime_charset_to_utf8("../../x", "caf\xE9", 4, 0, &d), 0);
  assert_string_equal(d.data, "caf\xC3\xA9");
  assert_true(d.flags & MIME_DATA_FALLBACK);
  mime_data_free(&d);
  /* the windows-1252 holes map to C1 controls instead of failing */
  assert_int_equal(mime_charset_to_utf8("windows-1252", "\x81\x80", 2, 0, &d),
                   0);
  assert_string_equal(d.data, "\xC2\x81\xE2\x82\xAC");
  mime_data_free(&d);
  /* the cap cuts on a character boundary */
  assert_int_equal(mime_charset_to_utf8("iso-8859-1", "\xE9\xE9\xE9", 3, 5, &d),
                   0);
  assert_string_equal(d.data, "\xC3\xA9\xC3\xA9");
  assert_true(d.flags & MIME_DATA_TRUNCATED);
  mime_data_free(&d);
  assert_int_equal(mime_charset_to_utf8(NULL, "", 0, 0, &d), 0);
  assert_string_equal(d.data, "");
  mime_data_free(&d);
}

/* ---- header decoding --------------------------------------------------- */

static void check_words(const char *in, const char *want)
{
  size_t n;
  char *s = mime_header_decode(in, strlen(in), &n);

  assert_non_null(s);
  if(strcmp(s, want) != 0)
    fail_msg("decode(%s) = \"%s\", want \"%s\"", in, s, want);
  assert_int_equal(n, strlen(want));
  free(s);
}

static void test_rfc2047(void **state)
{
  (void)state;
  check_words("=?UTF-8?B?SGVsbG8gw6k=?= world", "Hello \xC3\xA9 world");
  check_words("=?iso-8859-1?q?caf=E9_cr=E8me?=", "caf\xC3\xA9 cr\xC3\xA8me");
  /* one character split across two words */
  check_words("=?utf-8?Q?=C3?= =?utf-8?Q?=A9t=C3=A9?=", "\xC3\xA9t\xC3\xA9");
  check_words("=?utf-8?B?w6k=?=\r\n =?utf-8?B?w6k=?=", "\xC3\xA9\xC3\xA9");
  /* text between words is kept, blanks between words are not */
  check_words("=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c");
  check_words("=?utf-8?q?a?=  \t =?utf-8?q?b?=", "ab");
  check_words("=?utf-8?q?a?==?utf-8?q?b?=", "ab");
  /* different charsets side by side */
  check_words("=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "\xC3\xA9\xC3\xA9");
  /* unknown charset: the word stays as written */
  check_words("=?x-klingon?Q?abc?= tail", "=?x-klingon?Q?abc?= tail");
  check_words("=?utf-8*en?b?SGk=?=", "Hi");
  check_words("=?Shift_JIS?B?k/qWew==?=", "\xE6\x97\xA5\xE6\x9C\xAC");
  /* malformed words are text */
  check_words("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");
  check_words("=?utf-8?q?unterminated", "=?utf-8?q?unterminated");
  check_words("a = b =? c ?= d", "a = b =? c ?= d");
  check_words("=?", "=?");
  /* a decoded NUL must not cut the string */
  check_words("=?utf-8?q?evil.exe=00.txt?=", "evil.exe\xEF\xBF\xBD.txt");
  check_words("", "");
  /* raw 8-bit text: UTF-8 kept, anything else read as windows-1252 */
  check_words("caf\xC3\xA9", "caf\xC3\xA9");
  check_words("caf\xE9 \x93q\x94", "caf\xC3\xA9 \xE2\x80\x9Cq\xE2\x80\x9D");
}

static void test_rfc2231_filenames(void **state)
{
  struct fx fx;
  const struct mime_part *p;
  int crlf;

  (void)state;
  for(crlf = 0; crlf < 2; crlf++) {
    fx_parse(&fx, "rfc2231.eml", crlf, NULL);
    p = mime_message_root(fx.msg)->children;
    assert_string_equal(p->filename, "\xE2\x82\xAC rates for Q1.xml.gz");
    p = p->next;
    assert_string_equal(p->filename, "Gr\xC3\xBC\xC3\x9F"
                                     "e.pdf");
    p = p->next;
    assert_string_equal(
        p->filename,
        "\xD0\x9E\xD1\x82\xD1\x87\xD1\x91\xD1\x82.pdf"); /* RFC 2047 in a name
                                                          */
    p = p->next;
    assert_string_equal(p->filename, "a-b.txt"); /* sections out of order */
    assert_true(mime_part_is_attachment(p));     /* text, but attachment */
    p = p->next;
    assert_string_equal(p->filename, "we\"ird; name.txt");
    assert_int_equal(p->ndisp_params, 2);
    assert_string_equal(p->disp_params[1].name, "size");
    assert_string_equal(p->disp_params[1].value, "3");
    p = p->next;
    assert_string_equal(p->filename, "evil.exe\xEF\xBF\xBD.txt");
    fx_free(&fx);
  }
}

/* ---- transfer encodings ------------------------------------------------ */

static struct mime_message *parse_str(const char *s)
{
  struct mime_message *msg;

  assert_int_equal(mime_parse(s, strlen(s), NULL, &msg, NULL), 0);
  return msg;
}

static void assert_decoded(const char *mail, const char *want, size_t wlen,
                           unsigned flags)
{
  struct mime_message *msg = parse_str(mail);
  struct mime_data d;

  assert_int_equal(mime_part_decode(msg, mime_message_root(msg), &d), 0);
  assert_int_equal(d.len, wlen);
  assert_memory_equal(d.data, want, wlen);
  assert_int_equal(d.flags, flags);
  mime_data_free(&d);
  mime_message_free(&msg);
}

static void test_qp(void **state)
{
  (void)state;
  assert_decoded(
      "Content-Transfer-Encoding: quoted-printable\n\n"
      "soft=\nbreak=\r\nCRLF and=  \ntrailing blanks after =\n"
      "a=3Db =3d =ZZ =4 trailing   \nend=",
      "softbreakCRLF andtrailing blanks after a=b = =ZZ =4 trailing\nend",
      sizeof(
          "softbreakCRLF andtrailing blanks after a=b = =ZZ =4 trailing\nend") -
          1,
      0);
  /* a tab-only line and an '=' at the very end */
  assert_decoded("Content-Transfer-Encoding: Quoted-Printable\n\n\t\nx=", "\nx",
                 2, 0);
}

static void test_base64_junk(void **state)
{
  (void)state;
  assert_decoded(
      "Content-Transfer-Encoding: base64\n\nSGVs\n bG8\t\r\nsIHdv\ncmxk\n",
      "Hello, world", 12, 0);
  /* junk characters are skipped and reported */
  assert_decoded("Content-Transfer-Encoding: BASE64\n\nSG*Vs#bG8=\n", "Hello",
                 5, MIME_DATA_DAMAGED);
  /* missing padding; concatenated padded blocks */
  assert_decoded("Content-Transfer-Encoding: base64\n\nSGk\n", "Hi", 2, 0);
  assert_decoded("Content-Transfer-Encoding: base64\n\nSGk=SGk=\n", "HiHi", 4,
                 0);
  assert_decoded("Content-Transfer-Encoding: base64\n\nS\n", "", 0,
                 MIME_DATA_DAMAGED);
  /* unknown encodings pass through, so does x-uuencode without a block */
  assert_decoded("Content-Transfer-Encoding: x-binhex\n\nbegin", "begin", 5, 0);
  assert_decoded("Content-Transfer-Encoding: x-uuencode\n\nbegin", "begin", 5,
                 0);
  assert_decoded("Content-Transfer-Encoding: x-uue\n\nbegin 644 a\n#:&D*\n"
                 "end\n",
                 "hi\n", 3, 0);
}

static void test_decoded_limit(void **state)
{
  struct mime_limits lim = { 0 };
  const char *mail = "Content-Transfer-Encoding: base64\n\nSGVsbG8sIHdvcmxk\n";
  struct mime_message *msg;
  struct mime_data d;

  (void)state;
  lim.max_decoded_bytes = 5;
  assert_int_equal(mime_parse(mail, strlen(mail), &lim, &msg, NULL), 0);
  assert_int_equal(mime_part_decode(msg, mime_message_root(msg), &d), 0);
  assert_int_equal(d.len, 5);
  assert_memory_equal(d.data, "Hello", 5);
  assert_true(d.flags & MIME_DATA_TRUNCATED);
  mime_data_free(&d);
  assert_int_equal(mime_part_text(msg, mime_message_root(msg), &d), 0);
  assert_string_equal(d.data, "Hello");
  assert_true(d.flags & MIME_DATA_TRUNCATED);
  mime_data_free(&d);
  mime_message_free(&msg);
}

/* ---- CRLF and LF give the same tree and the same content --------------- */

static void test_crlf_equivalence(void **state)
{
  static const char *const files[] = {
    "alternative.eml",      "nested.eml",
    "attached-message.eml", "dmarc-zip.eml",
    "dmarc-xzip.eml",       "dmarc-comcast.eml",
    "dmarc-ses.eml",        "dmarc-gzip-noname.eml",
    "dmarc-textxml.eml",    "dmarc-wholebody.eml",
    "dmarc-forwarded.eml",  "dmarc-exchange.eml",
    "charsets.eml",         "rfc2231.eml",
    "missing-end.eml",
  };
  size_t f;

  (void)state;
  for(f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
    struct fx lf, cr;
    const struct mime_part *a, *b;

    fx_parse(&lf, files[f], 0, NULL);
    fx_parse(&cr, files[f], 1, NULL);
    assert_int_equal(mime_message_part_count(lf.msg),
                     mime_message_part_count(cr.msg));
    for(a = mime_message_root(lf.msg), b = mime_message_root(cr.msg);
        a != NULL && b != NULL; a = mime_part_next(a), b = mime_part_next(b)) {
      struct mime_data da, db;
      size_t i;

      assert_string_equal(a->content_type, b->content_type);
      assert_int_equal(a->flags, b->flags);
      assert_int_equal(a->nchildren, b->nchildren);
      assert_int_equal(a->nheaders, b->nheaders);
      for(i = 0; i < a->nheaders; i++) {
        assert_string_equal(a->headers[i].name, b->headers[i].name);
        assert_string_equal(a->headers[i].decoded, b->headers[i].decoded);
      }
      if(a->filename != NULL)
        assert_string_equal(a->filename, b->filename);
      else
        assert_null(b->filename);
      if(!mime_part_is_leaf(a))
        continue;
      if(a->encoding == MIME_ENC_BASE64) {
        assert_int_equal(mime_part_decode(lf.msg, a, &da), 0);
        assert_int_equal(mime_part_decode(cr.msg, b, &db), 0);
      }
      else {
        assert_int_equal(mime_part_text(lf.msg, a, &da), 0);
        assert_int_equal(mime_part_text(cr.msg, b, &db), 0);
      }
      if(da.len != db.len || memcmp(da.data, db.data, da.len) != 0)
        fail_msg("%s part %u differs between LF and CRLF", files[f], a->index);
      mime_data_free(&da);
      mime_data_free(&db);
    }
    assert_null(a);
    assert_null(b);
    fx_free(&lf);
    fx_free(&cr);
  }
}

static void test_missing_end_boundary(void **state)
{
  struct fx fx;
  const struct mime_part *root;
  int crlf;

  (void)state;
  for(crlf = 0; crlf < 2; crlf++) {
    fx_parse(&fx, "missing-end.eml", crlf, NULL);
    root = mime_message_root(fx.msg);
    assert_string_equal(root->boundary, "simple"); /* unquoted */
    assert_true(root->flags & MIME_PART_MULTIPART);
    assert_true(root->flags & MIME_PART_NO_END_BOUNDARY);
    assert_int_equal(root->nchildren, 2);
    assert_text(fx.msg, root->children, "first");
    assert_text(fx.msg, root->children->next,
                "second, and the mail ends without a close delimiter\n");
    fx_free(&fx);
  }
}

static void test_odd_inputs(void **state)
{
  struct mime_message *msg;
  const struct mime_part *r;
  struct mime_data d;

  (void)state;
  assert_int_equal(mime_parse(NULL, 0, NULL, &msg, NULL), 0);
  r = mime_message_root(msg);
  assert_int_equal(r->nheaders, 0);
  assert_int_equal(r->body_len, 0);
  assert_string_equal(r->content_type, "text/plain");
  assert_int_equal(mime_part_text(msg, r, &d), 0);
  assert_string_equal(d.data, "");
  mime_data_free(&d);
  mime_message_free(&msg);
  mime_message_free(&msg); /* second free is a no-op */

  /* no empty line after the fields: the body starts at the first line that
   * is not a field */
  msg = parse_str("Subject: x\nHello world\n\nmore text\n");
  r = mime_message_root(msg);
  assert_int_equal(r->nheaders, 1);
  assert_string_equal(mime_header_get(r, "Subject"), "x");
  assert_true(r->flags & MIME_PART_NO_HEADER_END);
  assert_text(msg, r, "Hello world\n\nmore text\n");
  mime_message_free(&msg);

  /* a stray line followed by more fields is a broken fold, not the body */
  msg = parse_str("To: a@x,\nb@y\nSubject: s\n\nbody");
  r = mime_message_root(msg);
  assert_int_equal(r->nheaders, 2);
  assert_string_equal(mime_header_get(r, "To"), "a@x, b@y");
  assert_int_equal(r->flags & MIME_PART_NO_HEADER_END, 0);
  assert_text(msg, r, "body");
  mime_message_free(&msg);

  /* mbox "From " line, continuation before any field, NUL in a value */
  msg = parse_str(
      "From someone Mon Jan  1 00:00:00 2024\n cont\nSubject: a\n\nb");
  r = mime_message_root(msg);
  assert_int_equal(r->nheaders, 1);
  assert_string_equal(mime_header_get(r, "subject"), "a");
  mime_message_free(&msg);

  /* multipart without boundary, or whose boundary never occurs: a leaf */
  msg = parse_str("Content-Type: multipart/mixed\n\n--x\n\nbody\n");
  r = mime_message_root(msg);
  assert_true(r->flags & MIME_PART_BAD_MULTIPART);
  assert_true(mime_part_is_leaf(r));
  mime_message_free(&msg);
  msg =
      parse_str("Content-Type: multipart/mixed; boundary=zz\n\n--x\n\nbody\n");
  r = mime_message_root(msg);
  assert_true(r->flags & MIME_PART_BAD_MULTIPART);
  assert_true(mime_part_is_leaf(r));
  mime_message_free(&msg);

  /* multipart/digest parts default to message/rfc822 */
  msg = parse_str("Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
                  "Subject: inner\n\nhi\n--d--\n");
  r = mime_message_root(msg);
  assert_string_equal(r->children->content_type, "message/rfc822");
  assert_string_equal(mime_header_get(r->children->children, "Subject"),
                      "inner");
  mime_message_free(&msg);

  /* base64-encoded message/rfc822 (forbidden, but sent) is still walked */
  msg = parse_str(
      "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
      "U3ViamVjdDogZW5jb2RlZAoKYm9keQo=\n");
  r = mime_message_root(msg);
  assert_true(r->flags & MIME_PART_MESSAGE);
  assert_string_equal(mime_header_get(r->children, "Subject"), "encoded");
  assert_text(msg, r->children, "body\n");
  mime_message_free(&msg);
}

static void test_dates(void **state)
{
  int64_t t;

  (void)state;
  assert_int_equal(mime_parse_date("Wed, 15 Nov 2023 08:30:00 +0000", &t), 0);
  assert_int_equal(t, 1700037000);
  assert_int_equal(mime_parse_date("1 Jan 70 00:00 EST", &t), 0);
  assert_int_equal(t, 18000);
  assert_int_equal(mime_parse_date("Thu, 29 Feb 2024 23:59:60 -0930", &t), 0);
  assert_int_equal(t, 1709285400);
  assert_int_equal(
      mime_parse_date(" (c) Tue,  1 Jul 2025 10:52:37 +0200 (CEST)", &t), 0);
  assert_int_equal(t, 1751359957);
  assert_int_equal(mime_parse_date("15 November 2023 08:30 GMT", &t), 0);
  assert_int_equal(t, 1700037000);
  assert_int_equal(mime_parse_date("yesterday", &t), -1);
  assert_int_equal(mime_parse_date("", &t), -1);
  assert_int_equal(mime_parse_date("15 Nov 2023 25:00 +0000", &t), -1);
}

/* ---- limits: marked, never fatal --------------------------------------- */

static void test_limit_depth(void **state)
{
  struct buf b;
  struct mime_message *msg;
  const struct mime_part *p, *cut = NULL;
  int i, kind;

  (void)state;
  for(kind = 0; kind < 2; kind++) {
    buf_init(&b, 1 << 20);
    for(i = 0; i < 40; i++) {
      if(kind == 0)
        assert_int_equal(
            buf_printf(
                &b,
                "Content-Type: multipart/mixed; boundary=\"d%d\"\n\n--d%d\n", i,
                i),
            0);
      else
        assert_int_equal(
            buf_printf(
                &b, "Subject: level %d\nContent-Type: message/rfc822\n\n", i),
            0);
    }
    assert_int_equal(buf_puts(&b, "Content-Type: text/plain\n\ninnermost\n"),
                     0);
    assert_int_equal(mime_parse(b.data, b.len, NULL, &msg, NULL), 0);
    check_tree(msg, b.data, b.len);
    assert_true(mime_message_flags(msg) & MIME_PART_OVERFLOW);
    for(p = mime_message_root(msg); p != NULL; p = mime_part_next(p))
      if(p->flags & MIME_PART_OVERFLOW) {
        assert_null(cut);
        cut = p;
      }
    if(cut == NULL) {
      fail_msg("no part was cut");
      return;
    }
    assert_int_equal(cut->depth, MIME_DEFAULT_MAX_DEPTH);
    assert_non_null(strstr(cut->reason, "max_depth"));
    assert_true(mime_part_is_leaf(cut)); /* opaque content */
    assert_int_equal(mime_message_part_count(msg), MIME_DEFAULT_MAX_DEPTH + 1);
    touch_all(msg);
    mime_message_free(&msg);
    buf_free(&b);
    cut = NULL;
  }
}

static void test_limit_parts(void **state)
{
  struct buf b;
  struct mime_message *msg;
  const struct mime_part *root;
  struct mime_limits lim = { 0 };
  int i;

  (void)state;
  buf_init(&b, 1 << 22);
  assert_int_equal(
      buf_puts(&b, "Content-Type: multipart/mixed; boundary=p\n\n"), 0);
  for(i = 0; i < 1500; i++)
    assert_int_equal(
        buf_printf(&b, "--p\nContent-Type: text/plain\n\npart %d\n", i), 0);
  assert_int_equal(buf_puts(&b, "--p--\n"), 0);
  assert_int_equal(mime_parse(b.data, b.len, NULL, &msg, NULL), 0);
  check_tree(msg, b.data, b.len);
  root = mime_message_root(msg);
  assert_int_equal(mime_message_part_count(msg), MIME_DEFAULT_MAX_PARTS);
  assert_int_equal(root->nchildren, MIME_DEFAULT_MAX_PARTS - 1);
  assert_true(root->flags & MIME_PART_OVERFLOW);
  assert_non_null(strstr(root->reason, "max_parts"));
  assert_text(msg, nth_part(msg, 999), "part 998");
  mime_message_free(&msg);

  /* a small custom limit, and a message/rfc822 that no longer fits */
  lim.max_parts = 3;
  buf_reset(&b);
  assert_int_equal(
      buf_puts(
          &b,
          "Content-Type: multipart/mixed; boundary=p\n\n"
          "--p\n\none\n--p\nContent-Type: message/rfc822\n\nSubject: x\n\ny\n"
          "--p\n\nthree\n--p--\n"),
      0);
  assert_int_equal(mime_parse(b.data, b.len, &lim, &msg, NULL), 0);
  root = mime_message_root(msg);
  assert_int_equal(mime_message_part_count(msg), 3);
  assert_true(root->children->next->flags & MIME_PART_OVERFLOW);
  assert_true(mime_part_is_leaf(root->children->next));
  assert_true(root->flags & MIME_PART_OVERFLOW);
  mime_message_free(&msg);
  buf_free(&b);
}

static void test_limit_header_block(void **state)
{
  struct buf b;
  struct mime_message *msg;
  const struct mime_part *root;
  struct mime_limits lim = { 0 };
  int i;

  (void)state;
  buf_init(&b, 1 << 22);
  assert_int_equal(buf_puts(&b, "Subject: big\n"), 0);
  for(i = 0; i < 300; i++) {
    assert_int_equal(buf_printf(&b, "X-Pad-%d: ", i), 0);
    assert_int_equal(buf_printf(&b, "%0*d\n", 1000, i), 0);
  }
  assert_int_equal(buf_puts(&b, "Content-Type: multipart/mixed; boundary=q\n\n"
                                "--q\n\ninside\n--q--\n"),
                   0);
  assert_int_equal(mime_parse(b.data, b.len, NULL, &msg, NULL), 0);
  check_tree(msg, b.data, b.len);
  root = mime_message_root(msg);
  assert_true(root->flags & MIME_PART_HEADERS_TRUNCATED);
  assert_true(root->flags & MIME_PART_OVERFLOW);
  assert_non_null(strstr(root->reason, "max_header_bytes"));
  assert_true(root->nheaders > 200 && root->nheaders < 300);
  assert_string_equal(mime_header_get(root, "Subject"), "big");
  /* the body was still found, and is opaque */
  assert_true(mime_part_is_leaf(root));
  assert_int_equal(root->body_len, strlen("--q\n\ninside\n--q--\n"));
  mime_message_free(&msg);

  /* field count */
  lim.max_headers = 10;
  buf_reset(&b);
  for(i = 0; i < 50; i++)
    assert_int_equal(buf_printf(&b, "X-N: %d\n", i), 0);
  assert_int_equal(buf_puts(&b, "\nbody"), 0);
  assert_int_equal(mime_parse(b.data, b.len, &lim, &msg, NULL), 0);
  root = mime_message_root(msg);
  assert_int_equal(root->nheaders, 10);
  assert_true(root->flags & MIME_PART_HEADERS_TRUNCATED);
  assert_non_null(strstr(root->reason, "max_headers"));
  assert_text(msg, root, "body");
  mime_message_free(&msg);

  /* one giant folded field is cut, not copied whole */
  lim.max_headers = 0;
  lim.max_header_bytes = 4096;
  buf_reset(&b);
  assert_int_equal(buf_puts(&b, "To: a\n"), 0);
  for(i = 0; i < 20000; i++)
    assert_int_equal(buf_puts(&b, " x@example.com,\n"), 0);
  assert_int_equal(buf_puts(&b, "\nbody"), 0);
  assert_int_equal(mime_parse(b.data, b.len, &lim, &msg, NULL), 0);
  root = mime_message_root(msg);
  assert_int_equal(root->nheaders, 0);
  assert_true(root->flags & MIME_PART_OVERFLOW);
  assert_text(msg, root, "body");
  mime_message_free(&msg);
  buf_free(&b);
}

static void b64_append(struct buf *b, const char *in, size_t len)
{
  static const char al[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *p = (const unsigned char *)in;
  size_t i;

  for(i = 0; i < len; i += 3) {
    unsigned v = (unsigned)p[i] << 16;
    char q[4];
    if(i + 1 < len)
      v |= (unsigned)p[i + 1] << 8;
    if(i + 2 < len)
      v |= p[i + 2];
    q[0] = al[v >> 18];
    q[1] = al[(v >> 12) & 63];
    q[2] = i + 1 < len ? al[(v >> 6) & 63] : '=';
    q[3] = i + 2 < len ? al[v & 63] : '=';
    assert_int_equal(buf_append(b, q, 4), 0);
    if((i / 3) % 19 == 18)
      assert_int_equal(buf_putc(b, '\n'), 0);
  }
}

/* base64 message/rfc822 inside base64 message/rfc822 ...: the parse-time
 * copies share one max_decoded_bytes budget. */
static void test_limit_encoded_messages(void **state)
{
  struct buf cur, next;
  struct mime_limits lim = { 0 };
  struct mime_message *msg;
  const struct mime_part *p, *cut = NULL;
  unsigned entered = 0;
  int i;

  (void)state;
  buf_init(&cur, 1 << 22);
  assert_int_equal(buf_puts(&cur, "Subject: core\n\nhello\n"), 0);
  for(i = 0; i < 6; i++) {
    buf_init(&next, 1 << 22);
    assert_int_equal(
        buf_printf(&next,
                   "Subject: wrap %d\nContent-Type: message/rfc822\n"
                   "Content-Transfer-Encoding: base64\n\n",
                   i),
        0);
    b64_append(&next, cur.data, cur.len);
    buf_free(&cur);
    cur = next;
  }
  /* unlimited: all six layers open and the core text is reached */
  assert_int_equal(mime_parse(cur.data, cur.len, NULL, &msg, NULL), 0);
  assert_int_equal(mime_message_part_count(msg), 7);
  assert_text(msg, nth_part(msg, 6), "hello\n");
  assert_int_equal(mime_message_flags(msg) & MIME_PART_OVERFLOW, 0);
  mime_message_free(&msg);

  lim.max_decoded_bytes = 1200;
  assert_int_equal(mime_parse(cur.data, cur.len, &lim, &msg, NULL), 0);
  check_tree(msg, cur.data, cur.len);
  for(p = mime_message_root(msg); p != NULL; p = mime_part_next(p)) {
    if(p->flags & MIME_PART_MESSAGE)
      entered++;
    if((p->flags & MIME_PART_OVERFLOW) && cut == NULL)
      cut = p;
  }
  assert_non_null(cut);
  assert_true(entered < 6);
  assert_true(mime_message_flags(msg) & MIME_PART_OVERFLOW);
  touch_all(msg);
  mime_message_free(&msg);
  buf_free(&cur);
}

/* ---- robustness -------------------------------------------------------- */

/* Parse every prefix of a fixture (LF and CRLF) from an exact-size heap
 * copy, so ASan flags any read past the end, then decode every part. */
static void test_truncation_everywhere(void **state)
{
  static const char *const files[] = {
    "nested.eml",   "attached-message.eml", "dmarc-exchange.eml",
    "charsets.eml", "rfc2231.eml",          "dmarc-forwarded.eml",
  };
  size_t f;
  int crlf;

  (void)state;
  for(f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
    for(crlf = 0; crlf < 2; crlf++) {
      size_t len, k;
      char *data = load(files[f], &len);

      if(crlf) {
        char *c = to_crlf(data, len, &len);
        free(data);
        data = c;
      }
      for(k = 0; k <= len; k++) {
        char *copy = malloc(k ? k : 1);
        struct mime_message *msg;

        assert_non_null(copy);
        memcpy(copy, data, k);
        assert_int_equal(mime_parse(copy, k, NULL, &msg, NULL), 0);
        check_tree(msg, copy, k);
        touch_all(msg);
        mime_message_free(&msg);
        free(copy);
      }
      free(data);
    }
  }
}

/* Deterministic byte mutations: overwrite bytes with characters that
 * matter to the parser. */
static void test_mutations(void **state)
{
  static const char interesting[] = "-\r\n=?:;\"\\*'% \t\x80\xff\0Bq";
  static const char *const files[] = {
    "nested.eml",
    "attached-message.eml",
    "dmarc-exchange.eml",
    "rfc2231.eml",
  };
  uint32_t seed = 12345;
  size_t f;
  int round;

  (void)state;
  for(f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
    size_t len;
    char *data = load(files[f], &len);

    for(round = 0; round < 1500; round++) {
      char *copy = malloc(len);
      struct mime_message *msg;
      int m;

      memcpy(copy, data, len);
      for(m = 0; m < 1 + round % 8; m++) {
        seed = seed * 1103515245u + 12345u;
        copy[(seed >> 8) % len] =
            interesting[(seed >> 20) % (sizeof(interesting) - 1)];
      }
      assert_int_equal(mime_parse(copy, len, NULL, &msg, NULL), 0);
      check_tree(msg, copy, len);
      touch_all(msg);
      mime_message_free(&msg);
      free(copy);
    }
    free(data);
  }
}

/* uuencode-blocks.eml: x-uuencode parts are decoded (named by their begin line
 * unless the header names them), and a bare "begin 644" block in a text
 * body is found and decoded on its own. */
static void test_uuencode(void **state)
{
  unsigned char exe[2 + 512], zip[4 + 60 + 110], bin[36];
  const struct mime_part *body, *zp, *bp;
  struct mime_uu_block blk;
  struct mime_data d;
  struct fx fx;
  int crlf, i;

  (void)state;
  exe[0] = 'M';
  exe[1] = 'Z';
  for(i = 0; i < 512; i++)
    exe[2 + i] = (unsigned char)i;
  memcpy(zip, "PK\x03\x04", 4);
  memset(zip + 4, 0, 60);
  for(i = 0; i < 10; i++)
    memcpy(zip + 64 + 11 * i, "zip payload", 11);
  for(i = 0; i < 3; i++)
    memcpy(bin + 12 * i, "uue payload\n", 12);
  for(crlf = 0; crlf < 2; crlf++) {
    fx_parse(&fx, "uuencode-blocks.eml", crlf, NULL);
    check_tree(fx.msg, fx.data, fx.len);
    assert_int_equal(mime_message_root(fx.msg)->nchildren, 3);
    body = mime_message_root(fx.msg)->children;
    zp = body->next;
    bp = zp->next;
    assert_true(mime_part_is_body(body));
    assert_int_equal(zp->encoding, MIME_ENC_UUENCODE);
    assert_string_equal(zp->filename, "dropper.zip");
    assert_true(mime_part_is_attachment(zp));
    assert_int_equal(mime_part_decode(fx.msg, zp, &d), 0);
    assert_int_equal(d.len, sizeof(zip));
    assert_memory_equal(d.data, zip, sizeof(zip));
    assert_int_equal(d.flags, 0);
    mime_data_free(&d);
    assert_int_equal(bp->encoding, MIME_ENC_UUENCODE);
    assert_string_equal(bp->filename, "notes.bin"); /* the header wins */
    assert_int_equal(mime_part_decode(fx.msg, bp, &d), 0);
    assert_int_equal(d.len, sizeof(bin));
    assert_memory_equal(d.data, bin, sizeof(bin));
    mime_data_free(&d);

    assert_int_equal(mime_part_text(fx.msg, body, &d), 0);
    assert_int_equal(mime_uu_find(d.data, d.len, 0, &blk), 1);
    assert_string_equal(blk.name, "tool.exe");
    assert_memory_equal(d.data + blk.start, "begin 644 tool.exe\n", 19);
    assert_memory_equal(d.data + blk.end, "after 192.0.2.7", 15);
    assert_int_equal(mime_uu_find(d.data, d.len, blk.end, &blk), 0);
    assert_int_equal(mime_uu_find(d.data, d.len, 0, &blk), 1);
    {
      struct mime_data u;
      assert_int_equal(mime_uu_block_decode(d.data, &blk, 1 << 20, &u), 0);
      assert_int_equal(u.len, sizeof(exe));
      assert_memory_equal(u.data, exe, sizeof(exe));
      mime_data_free(&u);
      /* the same streaming limit as every decoder */
      assert_int_equal(mime_uu_block_decode(d.data, &blk, 100, &u), 0);
      assert_int_equal(u.len, 100);
      assert_true(u.flags & MIME_DATA_TRUNCATED);
      mime_data_free(&u);
    }
    mime_data_free(&d);
    fx_free(&fx);
  }
}

/* Prose that only looks like a begin line is not a block; a block without
 * its "end" line ends at its last encoded line. */
static void test_uuencode_shapes(void **state)
{
  static const char prose[] = "We begin 644 meetings today\nM is a letter\n"
                              "begin 644 x\nnot encoded\n";
  static const char noend[] = "begin 0755 a/b\\c.sh\n#:&D*\n\nmore text\n";
  struct mime_uu_block blk;
  struct mime_data u;

  (void)state;
  assert_int_equal(mime_uu_find(prose, strlen(prose), 0, &blk), 0);
  assert_int_equal(mime_uu_find(noend, strlen(noend), 0, &blk), 1);
  assert_string_equal(blk.name, "a/b\\c.sh");
  assert_int_equal(blk.end, strlen("begin 0755 a/b\\c.sh\n#:&D*\n\n"));
  assert_int_equal(mime_uu_block_decode(noend, &blk, 1 << 20, &u), 0);
  assert_int_equal(u.len, 3);
  assert_memory_equal(u.data, "hi\n", 3);
  mime_data_free(&u);
}

/* RFC 2045 5.2 / RFC 2046 5.1.1: a Content-Type that cannot be parsed, a
 * multipart without a usable boundary or whose boundary never occurs: all
 * read as text/plain bodies. */
static void test_bad_types(void **state)
{
  static const struct {
    const char *file;
    unsigned flag;
    const char *text;
  } cases[] = {
    { "bad-type.eml", MIME_PART_BAD_TYPE,
      "Log in at http://bad-type.example.com/login from 192.0.2.21\n" },
    { "bad-multipart.eml", MIME_PART_BAD_MULTIPART,
      "--tab\nContent-Type: text/plain\n\nPay at "
      "http://bad-multipart.example.net/pay from 192.0.2.22\n--tab--\n" },
    { "lost-boundary.eml", MIME_PART_BAD_MULTIPART, NULL },
  };
  struct mime_message *msg;
  const struct mime_part *r;
  size_t i;
  int crlf;

  (void)state;
  for(crlf = 0; crlf < 2; crlf++)
    for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      struct fx fx;

      fx_parse(&fx, cases[i].file, crlf, NULL);
      r = mime_message_root(fx.msg);
      assert_int_equal(mime_message_part_count(fx.msg), 1);
      assert_string_equal(r->content_type, "text/plain");
      assert_true(r->flags & cases[i].flag);
      assert_true(mime_part_is_body(r));
      if(cases[i].text != NULL)
        assert_text(fx.msg, r, cases[i].text);
      fx_free(&fx);
    }
  /* a missing subtype, a stray '/', tspecials: invalid too */
  static const char *const bad[] = { "text/", "/plain", "text/plain/x",
                                     "text/pl@in", "application-x-gzip" };
  for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char in[128];
    snprintf(in, sizeof(in), "Content-Type: %s; charset=utf-8\n\nx\n", bad[i]);
    msg = parse_str(in);
    r = mime_message_root(msg);
    assert_string_equal(r->content_type, "text/plain");
    assert_true(r->flags & MIME_PART_BAD_TYPE);
    assert_string_equal(r->charset, "utf-8");
    mime_message_free(&msg);
  }
  msg = parse_str("Content-Type: Application/X-Foo.Bar+xml\n\nx\n");
  r = mime_message_root(msg);
  assert_string_equal(r->content_type, "application/x-foo.bar+xml");
  assert_false(r->flags & MIME_PART_BAD_TYPE);
  mime_message_free(&msg);
}

/* text-subtypes.eml: RFC 2046 4.1.4, unknown text subtypes are text; RFC
 * 1896 text/enriched comes out as plain text. */
static void test_text_subtypes(void **state)
{
  const struct mime_part *en, *csv, *named, *ics;
  struct mime_message *msg;
  struct fx fx;
  int crlf;

  (void)state;
  for(crlf = 0; crlf < 2; crlf++) {
    fx_parse(&fx, "text-subtypes.eml", crlf, NULL);
    assert_int_equal(mime_message_root(fx.msg)->nchildren, 4);
    en = mime_message_root(fx.msg)->children;
    csv = en->next;
    named = csv->next;
    ics = named->next;
    assert_true(mime_part_is_body(en));
    assert_true(mime_part_is_body(csv));
    assert_true(mime_part_is_attachment(named)); /* a name */
    assert_true(mime_part_is_attachment(ics));   /* a disposition */
    assert_text(fx.msg, en, "Visit http://enriched.example.com/a<now in red");
    assert_text(fx.msg, csv, "host,ip\ncsv.example.org,192.0.2.31");
    fx_free(&fx);
  }
  /* n line breaks are n - 1, except in nofill; << in a param is dropped */
  msg = parse_str("Content-Type: text/enriched\n\na\n\n\nb <nofill>c\nd"
                  "</nofill><x-long-unknown-command-name>e<param><<p</param>"
                  "<not a command because it runs on and on and on past sixty "
                  "characters>");
  assert_text(msg, mime_message_root(msg),
              "a\n\nb c\nde<not a command because it runs on and on and on "
              "past sixty characters>");
  mime_message_free(&msg);
}

/* bounce-headers.eml: RFC 6522 message/rfc822-headers is entered like an
 * attached message; its root has the bounced message's fields and an
 * empty body. */
static void test_returned_headers(void **state)
{
  const struct mime_part *rh, *inner;
  struct fx fx;
  int crlf;

  (void)state;
  for(crlf = 0; crlf < 2; crlf++) {
    fx_parse(&fx, "bounce-headers.eml", crlf, NULL);
    check_tree(fx.msg, fx.data, fx.len);
    rh = find_ct(fx.msg, "message/rfc822-headers", 0);
    if(rh == NULL) {
      fail_msg("no message/rfc822-headers part");
      return;
    }
    assert_true(rh->flags & MIME_PART_MESSAGE);
    assert_false(mime_part_is_leaf(rh));
    inner = rh->children;
    assert_true(mime_part_is_message_root(inner));
    assert_string_equal(mime_header_get(inner, "From"),
                        "Phisher <phisher@phish.example.net>");
    assert_string_equal(mime_header_get(inner, "Subject"), "Your invoice");
    assert_int_equal(inner->body_len, 0);
    fx_free(&fx);
  }
}

/* mixed-8bit-header.eml: an encoded word between a raw UTF-8 run and a raw
 * Latin-1 run: the word decoded from its bytes, each run converted once. */
static void test_mixed_8bit_header(void **state)
{
  struct fx fx;

  (void)state;
  fx_parse(&fx, "mixed-8bit-header.eml", 0, NULL);
  assert_string_equal(mime_header_get(mime_message_root(fx.msg), "Subject"),
                      "J\xC3\xBCrgen M\xC3\xBCller Stra\xC3\x9F"
                      "e");
  assert_string_equal(mime_header_get(mime_message_root(fx.msg), "To"),
                      "Heinz M\xC3\xBCller <heinz@rcpt.example>");
  fx_free(&fx);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_alternative),
    cmocka_unit_test(test_nested),
    cmocka_unit_test(test_attached_message),
    cmocka_unit_test(test_dmarc_shapes),
    cmocka_unit_test(test_dmarc_textxml),
    cmocka_unit_test(test_exchange_quirks),
    cmocka_unit_test(test_charsets),
    cmocka_unit_test(test_charset_direct),
    cmocka_unit_test(test_rfc2047),
    cmocka_unit_test(test_rfc2231_filenames),
    cmocka_unit_test(test_qp),
    cmocka_unit_test(test_base64_junk),
    cmocka_unit_test(test_decoded_limit),
    cmocka_unit_test(test_crlf_equivalence),
    cmocka_unit_test(test_missing_end_boundary),
    cmocka_unit_test(test_odd_inputs),
    cmocka_unit_test(test_dates),
    cmocka_unit_test(test_limit_depth),
    cmocka_unit_test(test_limit_parts),
    cmocka_unit_test(test_limit_header_block),
    cmocka_unit_test(test_limit_encoded_messages),
    cmocka_unit_test(test_truncation_everywhere),
    cmocka_unit_test(test_mutations),
    cmocka_unit_test(test_uuencode),
    cmocka_unit_test(test_uuencode_shapes),
    cmocka_unit_test(test_bad_types),
    cmocka_unit_test(test_text_subtypes),
    cmocka_unit_test(test_returned_headers),
    cmocka_unit_test(test_mixed_8bit_header),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
