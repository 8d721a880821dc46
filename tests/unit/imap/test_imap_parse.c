/*
 * IMAP parsers on literal strings, no server: BODYSTRUCTURE (section
 * numbers, parameters, nested messages, literals inside, depth and part
 * limits, every truncation and random damage of a valid input), modified
 * UTF-7, INTERNALDATE, UID sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "buf.h"

/* Dovecot's BODYSTRUCTURE for the seed's multipart message (shape), plus
 * an Outlook-style message/rfc822 and RFC 2231 parameters. */
static const char complex_bs[] =
    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 26 1 NIL NIL NIL NIL)"
    "(\"application\" \"zip\" (\"name\" \"report.zip\") NIL NIL \"base64\" 310 NIL"
    " (\"attachment\" (\"filename\" \"report.zip\")) NIL NIL)"
    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 500"
    " (\"Tue, 14 Nov 2023 22:13:20 +0000\" \"Inner \\\"quoted\\\"\" ((\"Inner\" NIL \"inner\" \"example.org\"))"
    " ((\"Inner\" NIL \"inner\" \"example.org\")) ((\"Inner\" NIL \"inner\" \"example.org\"))"
    " ((NIL NIL \"testuser\" \"example.org\")) NIL NIL NIL NIL)"
    " ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 11 1 NIL NIL NIL NIL)"
    "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 17 1 NIL NIL NIL NIL)"
    " \"alternative\" (\"boundary\" \"inner-b\") NIL NIL NIL)"
    " 20 NIL (\"attachment\" (\"filename\" \"fwd.eml\")) NIL NIL)"
    " \"mixed\" (\"boundary\" \"outer-b\") NIL NIL NIL)";

static struct imap_bodypart *parse_ok(const char *s, size_t len)
{
  struct imap_bodypart *root = NULL;
  char err[200];
  if(imap_bodystructure_parse(s, len, &root, err, sizeof(err)) != 0)
    fail_msg("parse failed: %s", err);
  assert_non_null(root);
  return root;
}

static void test_bs_complex(void **state)
{
  struct imap_bodypart *r = parse_ok(complex_bs, strlen(complex_bs));
  const struct imap_bodypart *p;
  (void)state;
  assert_string_equal(r->section, "");
  assert_string_equal(r->type, "multipart");
  assert_string_equal(r->subtype, "mixed");
  assert_string_equal(r->boundary, "outer-b");
  assert_int_equal(r->nchildren, 3);

  p = r->children[0];
  assert_string_equal(p->section, "1");
  assert_string_equal(p->type, "text");
  assert_string_equal(p->charset, "us-ascii");
  assert_int_equal(p->size, 26);
  assert_int_equal(p->lines, 1);
  assert_null(p->disposition);

  p = imap_bodypart_find(r, "2");
  assert_non_null(p);
  assert_string_equal(p->type, "application");
  assert_string_equal(p->subtype, "zip");
  assert_string_equal(p->encoding, "base64");
  assert_string_equal(p->disposition, "attachment");
  assert_string_equal(p->filename, "report.zip");
  assert_string_equal(p->name, "report.zip");
  assert_int_equal(p->size, 310);

  p = imap_bodypart_find(r, "3");
  assert_non_null(p);
  assert_string_equal(p->type, "message");
  assert_string_equal(p->subtype, "rfc822");
  assert_int_equal(p->lines, 20);
  assert_string_equal(p->filename, "fwd.eml");
  assert_int_equal(p->nchildren, 1);
  assert_string_equal(p->children[0]->type, "multipart");
  assert_string_equal(p->children[0]->subtype, "alternative");
  assert_string_equal(p->children[0]->section, "3");
  assert_ptr_equal(p->children[0]->parent, p);
  assert_int_equal(p->children[0]->depth, 2);

  p = imap_bodypart_find(r, "3.2");
  assert_non_null(p);
  assert_string_equal(p->subtype, "html");
  assert_int_equal(p->depth, 3);
  assert_string_equal(imap_bodypart_find(r, "3.1")->subtype, "plain");
  assert_null(imap_bodypart_find(r, "4"));
  assert_null(imap_bodypart_find(r, "3.3"));
  imap_bodystructure_free(r);
}

static void test_bs_single_part(void **state)
{
  const char *s =
      "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)";
  struct imap_bodypart *r = parse_ok(s, strlen(s));
  (void)state;
  assert_string_equal(r->section, "1");
  assert_string_equal(r->type, "text");
  assert_string_equal(r->subtype, "plain");
  assert_string_equal(r->params[0].name, "charset");
  assert_string_equal(r->charset, "US-ASCII"); /* values kept as sent */
  assert_string_equal(r->encoding, "7bit");
  assert_int_equal(r->lines, 92);
  imap_bodystructure_free(r);
}

/* A message/rfc822 whose body is a single part: that part is "N.1". */
static void test_bs_message_single_body(void **state)
{
  const char *s =
      "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)"
      "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
      " (\"application\" \"gzip\" (\"name\" \"r.xml.gz\") NIL NIL \"base64\" 40) 5)"
      " \"mixed\")";
  struct imap_bodypart *r = parse_ok(s, strlen(s));
  const struct imap_bodypart *p = imap_bodypart_find(r, "2.1");
  (void)state;
  assert_non_null(p);
  assert_string_equal(p->subtype, "gzip");
  assert_string_equal(p->filename, "r.xml.gz");
  assert_null(r->boundary);
  imap_bodystructure_free(r);
}

/* Strings sent as literals, with bytes a quoted string could not carry. */
static void test_bs_literals(void **state)
{
  static const char s[] =
      "(\"application\" \"octet-stream\" (\"name\" {9}\r\nb\"ad\\name) NIL NIL \"base64\" 10"
      " NIL (\"attachment\" (\"filename\" {7}\r\nx (1).z)) NIL NIL)";
  struct imap_bodypart *r = parse_ok(s, sizeof(s) - 1);
  (void)state;
  assert_string_equal(r->name, "b\"ad\\name");
  assert_string_equal(r->filename, "x (1).z");
  imap_bodystructure_free(r);
}

static void expect_fail(const char *s, size_t len, const char *why)
{
  struct imap_bodypart *root = (struct imap_bodypart *)1;
  char err[200];
  if(imap_bodystructure_parse(s, len, &root, err, sizeof(err)) == 0)
    fail_msg("accepted: %.*s", (int)len, s);
  assert_null(root);
  if(why && !strstr(err, why))
    fail_msg("error \"%s\" lacks \"%s\"", err, why);
}

static void test_bs_depth_limit(void **state)
{
  /* multipart nested 40 deep around one text part */
  struct buf b;
  (void)state;
  buf_init(&b, 1 << 20);
  for(int i = 0; i < 40; i++)
    buf_putc(&b, '(');
  buf_puts(&b, "\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)");
  for(int i = 0; i < 39; i++)
    buf_puts(&b, " \"mixed\")");
  expect_fail(b.data, b.len, "nested deeper than");
  buf_free(&b);

  /* the same at the limit parses */
  buf_init(&b, 1 << 20);
  for(int i = 0; i < IMAP_BODY_MAX_DEPTH + 1; i++)
    buf_putc(&b, '(');
  buf_puts(&b, "\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)");
  for(int i = 0; i < IMAP_BODY_MAX_DEPTH; i++)
    buf_puts(&b, " \"mixed\")");
  {
    struct imap_bodypart *r = parse_ok(b.data, b.len);
    const struct imap_bodypart *p = r;
    while(p->nchildren)
      p = p->children[0];
    assert_int_equal(p->depth, IMAP_BODY_MAX_DEPTH);
    imap_bodystructure_free(r);
  }
  buf_free(&b);
}

static void test_bs_part_limit(void **state)
{
  struct buf b;
  (void)state;
  buf_init(&b, 1 << 22);
  buf_putc(&b, '(');
  for(int i = 0; i < IMAP_BODY_MAX_PARTS + 5; i++)
    buf_puts(&b, "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)");
  buf_puts(&b, " \"mixed\")");
  expect_fail(b.data, b.len, "more than");
  buf_free(&b);
}

static void test_bs_malformed(void **state)
{
  static const char *bad[] = {
    "",
    "NIL",
    "(",
    "()",
    "(\"text\")",
    "(\"text\" \"plain\" NIL NIL NIL \"7bit\" x 1)",
    "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 99999999999 1)",
    "(\"text\" \"plain\" (\"a\") NIL NIL \"7bit\" 1 1)",
    "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) trailing",
    "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1 NIL (\"att\" (\"x\")) NIL NIL)",
    "(\"text\" \"plain\" (\"name\" {999}\r\nshort) NIL NIL \"7bit\" 1 1)",
    "(\"text\" \"pl\\ain\" NIL NIL NIL \"7bit\" 1 1)",
    "( \"mixed\")",
    "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) NIL)",
    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 1 (NIL) (\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1))",
  };
  (void)state;
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    expect_fail(bad[i], strlen(bad[i]), NULL);
  }
  {
    /* a NUL inside a literal string */
    static const char nul[] =
        "(\"text\" \"plain\" (\"name\" {3}\r\na\0b) NIL NIL \"7bit\" 1 1)";
    expect_fail(nul, sizeof(nul) - 1, NULL);
  }
}

/* Every proper prefix of a valid structure must fail cleanly (ASan checks
 * that no byte past the end is read). */
static void test_bs_truncations(void **state)
{
  size_t n = strlen(complex_bs);
  (void)state;
  for(size_t i = 0; i < n; i++) {
    char *copy = malloc(i ? i : 1);
    memcpy(copy, complex_bs, i);
    expect_fail(copy, i, NULL);
    free(copy);
  }
}

/* Random damage: must never crash or leak; success is allowed. */
static void test_bs_mutations(void **state)
{
  size_t n = strlen(complex_bs);
  unsigned seed = 12345;
  static const char alphabet[] = "()\" {}\r\n\\0123456789NIL";
  (void)state;
  for(int round = 0; round < 20000; round++) {
    char *copy = malloc(n);
    struct imap_bodypart *r = NULL;
    char err[100];
    memcpy(copy, complex_bs, n);
    for(int k = 0; k < 1 + round % 4; k++) {
      seed = seed * 1103515245u + 12345u;
      copy[(seed >> 8) % n] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
    }
    if(imap_bodystructure_parse(copy, n, &r, err, sizeof(err)) == 0)
      imap_bodystructure_free(r);
    else
      assert_null(r);
    free(copy);
  }
}

static void utf7_roundtrip(const char *utf8, const char *mutf7)
{
  struct buf b;
  buf_init(&b, 4096);
  assert_int_equal(imap_utf7_encode(utf8, strlen(utf8), &b), 0);
  assert_string_equal(b.data ? b.data : "", mutf7);
  buf_free(&b);
  buf_init(&b, 4096);
  assert_int_equal(imap_utf7_decode(mutf7, strlen(mutf7), &b), 0);
  assert_string_equal(b.data ? b.data : "", utf8);
  buf_free(&b);
}

static void test_utf7_vectors(void **state)
{
  (void)state;
  utf7_roundtrip("Rapports/F\xc3\xa9vrier", "Rapports/F&AOk-vrier");
  utf7_roundtrip("INBOX", "INBOX");
  utf7_roundtrip("", "");
  utf7_roundtrip("A&B", "A&-B");
  utf7_roundtrip("&", "&-");
  /* RFC 3501 5.1.3 example: ~peter/mail/台北/日本語 */
  utf7_roundtrip(
      "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
      "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  utf7_roundtrip("\xe2\x98\xba!", "&Jjo-!");
  /* outside the BMP: a surrogate pair (U+1F600) */
  utf7_roundtrip("x\xf0\x9f\x98\x80y", "x&2D3eAA-y");
  /* a tab is not printable: encoded */
  utf7_roundtrip("a\tb", "a&AAk-b");
}

static void test_utf7_invalid(void **state)
{
  static const char *bad_dec[] = {
    "&AOk",           /* unterminated */
    "&AGE-",          /* encodes 'a', which must be sent as itself */
    "&Jjo",           /* unterminated */
    "&2D0-",          /* lone high surrogate */
    "&3gA-",          /* lone low surrogate */
    "&AOl-",          /* non-zero padding bits */
    "&A*k-",          /* not base64 */
    "F\xc3\xa9vrier", /* 8-bit byte */
    "&AOkA-",         /* 6 leftover bits: a partial character */
  };
  struct buf b;
  (void)state;
  for(size_t i = 0; i < sizeof(bad_dec) / sizeof(bad_dec[0]); i++) {
    buf_init(&b, 4096);
    if(imap_utf7_decode(bad_dec[i], strlen(bad_dec[i]), &b) == 0)
      fail_msg("decoded invalid \"%s\"", bad_dec[i]);
    buf_free(&b);
  }
  buf_init(&b, 4096);
  assert_int_equal(imap_utf7_encode("bad\xc3", 4, &b),
                   -1); /* truncated UTF-8 */
  buf_free(&b);
  buf_init(&b, 4096);
  assert_int_equal(imap_utf7_encode("a\0b", 3, &b), -1);
  buf_free(&b);
}

static void test_internaldate(void **state)
{
  int64_t t;
  (void)state;
  assert_int_equal(
      imap_parse_internaldate("14-Nov-2023 22:13:20 +0000", 26, &t), 0);
  assert_int_equal(t, 1700000000);
  assert_int_equal(
      imap_parse_internaldate(" 1-Jan-1970 01:00:00 +0100", 26, &t), 0);
  assert_int_equal(t, 0);
  assert_int_equal(
      imap_parse_internaldate("17-Jul-1996 02:44:25 -0700", 26, &t), 0);
  assert_int_equal(t, 837596665);
  assert_int_equal(
      imap_parse_internaldate("17-Jux-1996 02:44:25 -0700", 26, &t), -1);
  assert_int_equal(imap_parse_internaldate("17-Jul-1996 02:44:25", 20, &t), -1);
  assert_int_equal(
      imap_parse_internaldate("32-Jul-1996 02:44:25 -0700", 26, &t), -1);
}

static void test_uid_set(void **state)
{
  const uint32_t u[] = { 9, 1, 2, 3, 7, 10, 3, 4294967295u };
  struct buf b;
  (void)state;
  buf_init(&b, 1024);
  assert_int_equal(imap_uid_set_format(u, sizeof(u) / sizeof(u[0]), &b), 0);
  assert_string_equal(b.data, "1:3,7,9:10,4294967295");
  buf_free(&b);
  buf_init(&b, 5);
  assert_int_equal(imap_uid_set_format(u, sizeof(u) / sizeof(u[0]), &b), -1);
  buf_free(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bs_complex),
    cmocka_unit_test(test_bs_single_part),
    cmocka_unit_test(test_bs_message_single_body),
    cmocka_unit_test(test_bs_literals),
    cmocka_unit_test(test_bs_depth_limit),
    cmocka_unit_test(test_bs_part_limit),
    cmocka_unit_test(test_bs_malformed),
    cmocka_unit_test(test_bs_truncations),
    cmocka_unit_test(test_bs_mutations),
    cmocka_unit_test(test_utf7_vectors),
    cmocka_unit_test(test_utf7_invalid),
    cmocka_unit_test(test_internaldate),
    cmocka_unit_test(test_uid_set),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
