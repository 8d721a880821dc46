/* Unit tests for soar-imap-c/ioc: each test states the exact set expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ioc.h"

static const struct ioc_opts all = { true, true, true, true };

/* Compare the values of kind k with the NULL-terminated list want, in
 * order. */
static void expect_kind(const struct ioc_result *r, enum ioc_kind k,
                        const char *const *want)
{
  size_t n = 0;
  while(want[n])
    n++;
  for(size_t i = 0; i < ioc_count(r, k); i++)
    print_message("  kind %d got [%s]\n", (int)k, ioc_get(r, k, i));
  assert_int_equal(ioc_count(r, k), n);
  for(size_t i = 0; i < n; i++)
    assert_string_equal(ioc_get(r, k, i), want[i]);
}

static struct ioc_result *scan(const char *text)
{
  struct ioc_result *r = ioc_result_new();
  assert_non_null(r);
  assert_int_equal(ioc_scan_text(r, &all, text, strlen(text)), 0);
  return r;
}

#define NONE      ((const char *const[]){ NULL })
#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_ipv4(void **state)
{
  struct ioc_result *r = scan(
      "a 10.0.0.1, b 1234.5.6.7 c v1.2.3.4.5 d 192.168.0.300 e 255.255.255.255."
      " f 010.1.1.1 g (8.8.8.8) h 1.2.3 i x10.0.0.2 j 10.0.0.1 k 172.16.0.1:8080");
  (void)state;
  expect_kind(r, IOC_IP,
              LIST("10.0.0.1", "255.255.255.255", "8.8.8.8", "172.16.0.1"));
  ioc_result_free(r);
}

static void test_ipv6(void **state)
{
  struct ioc_result *r = scan(
      "Note::Foo std::vector a ::ffff:10.1.2.3 b fe80::1%eth0 c 2001:db8::1. "
      "d [2001:db8::2]:443 e dead:beef f 12:30:45 g ::1 h 2001:db8:::1");
  (void)state;
  expect_kind(
      r, IOC_IP,
      LIST("::ffff:10.1.2.3", "fe80::1", "2001:db8::1", "2001:db8::2", "::1"));
  ioc_result_free(r);
}

static void test_hashes(void **state)
{
  char text[1024];
  const char *md5 = "d41d8cd98f00b204e9800998ecf8427e";
  const char *sha1 = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709";
  const char *sha256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  const char *sha512 =
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
      "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
  (void)state;
  snprintf(text, sizeof(text),
           "md5 %s. sha1 %s sha256:%s\nsha512 %s\n"
           "too long %s0 not hex d41d8cd98f00b204e9800998ecf8427g word%s "
           "again %s",
           md5, sha1, sha256, sha512, md5, md5, md5);
  struct ioc_result *r = scan(text);
  expect_kind(r, IOC_HASH, LIST(md5, sha1, sha256, sha512));
  ioc_result_free(r);
}

static void test_urls_text(void **state)
{
  /* The test case of the Python connector, plus trimming and entities. */
  struct ioc_result *r = scan(
      "See HTTPS://example.com/path and https://b\xc3\xbc"
      "cher.example/angebot\n"
      "(http://paren.example.org/x), <http://angle.example.net/a?b=1&amp;c=2>. "
      "https://en.wikipedia.org/wiki/Foo_(bar) end. http://bad_host/ "
      "http://10.1.2.3:8080/p http://[2001:db8::5]/v6 http://no-tld/ "
      "xhttp://glued.example.com/");
  (void)state;
  expect_kind(r, IOC_URL,
              LIST("HTTPS://example.com/path",
                   "https://b\xc3\xbc"
                   "cher.example/angebot",
                   "http://paren.example.org/x",
                   "http://angle.example.net/a?b=1&c=2",
                   "https://en.wikipedia.org/wiki/Foo_(bar)",
                   "http://10.1.2.3:8080/p", "http://[2001:db8::5]/v6"));
  /* .example is not a public suffix; .com, .org and .net are. */
  expect_kind(r, IOC_DOMAIN,
              LIST("example.com", "paren.example.org", "angle.example.net",
                   "en.wikipedia.org"));
  ioc_result_free(r);
}

static void test_domains(void **state)
{
  struct ioc_result *r = scan("mail alice@Example.COM, bob@sub.b\xc3\xbc"
                              "cher.de or x@unknown.zzzz "
                              "and y@co.uk and z@10.0.0.1 and me@github.io.");
  (void)state;
  /* an IDN as written, then its A-label (RFC 3492 Punycode) */
  expect_kind(r, IOC_DOMAIN,
              LIST("example.com",
                   "sub.b\xc3\xbc"
                   "cher.de",
                   "sub.xn--bcher-kva.de", "github.io"));
  ioc_result_free(r);
  /* HTML source in a text body: the DOCTYPE's DTD is no link */
  r = scan("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
           "\"http://www.w3.org/TR/html4/loose.dtd\">\n<html>"
           "<a href=\"http://real.example.com/\">x</a> <!doctype x> "
           "http://after.example.com/");
  expect_kind(r, IOC_URL,
              LIST("http://real.example.com/", "http://after.example.com/"));
  ioc_result_free(r);
  r = scan("http://\xe4\xbe\x8b\xe3\x81\x88.jp/ and "
           "https://M\xc3\xbcnchen.de/x");
  expect_kind(r, IOC_DOMAIN,
              LIST("\xe4\xbe\x8b\xe3\x81\x88.jp", "xn--r8jz45g.jp",
                   "m\xc3\xbcnchen.de", "xn--mnchen-3ya.de"));
  ioc_result_free(r);
}

static void test_html(void **state)
{
  const char *html =
      "<html><head><style>.a{color:#d41d8cd98f00b204e9800998ecf8427e}</style>"
      "</head><body><p>Visit <a href=\"https://link.example.com/a?x=1&amp;y=2\">"
      "here</a> or <a href='mailto:sec@phish.example.net?subject=hi'>us</a>."
      "</p><img src=\"http://img.example.org/p.png\">"
      "<div>text url http://text.example.com/t and 192.0.2.7</div>"
      "<a href=\"javascript:alert(1)\">x</a></body></html>";
  struct ioc_result *r = ioc_result_new();
  struct buf text;
  (void)state;
  buf_init(&text, 1 << 20);
  assert_int_equal(ioc_scan_html(r, &all, html, strlen(html), &text), 0);
  expect_kind(r, IOC_URL,
              LIST("https://link.example.com/a?x=1&y=2",
                   "http://img.example.org/p.png",
                   "http://text.example.com/t"));
  expect_kind(r, IOC_DOMAIN,
              LIST("link.example.com", "phish.example.net", "img.example.org",
                   "text.example.com"));
  expect_kind(r, IOC_IP, LIST("192.0.2.7"));
  expect_kind(r, IOC_HASH, NONE); /* CSS is not text */
  assert_non_null(strstr(text.data, "text url http://text.example.com/t"));
  buf_free(&text);
  ioc_result_free(r);
}

/* The HTML walk's edges: nothing of a <style> (nor of tags inside it) is
 * scanned, a block element ends a line, and links nested 600 levels deep
 * are found (the tree walk this replaced stopped at 512). */
static void test_html_walk_edges(void **state)
{
  struct ioc_result *r = ioc_result_new();
  struct buf html, text;
  (void)state;
  buf_init(&html, 1 << 20);
  buf_init(&text, 1 << 20);
  buf_puts(&html, "<style>a{background:url(http://style.example.com/x)}"
                  "<b>bold.example.com</b></style><p>one.example.com</p>two ");
  for(int i = 0; i < 600; i++)
    buf_puts(&html, "<div>");
  buf_puts(&html, "<a href='http://deep.example.org/'>x</a> deep.example.net");
  for(int i = 0; i < 600; i++)
    buf_puts(&html, "</div>");
  assert_int_equal(ioc_scan_html(r, &all, html.data, html.len, &text), 0);
  expect_kind(r, IOC_URL, LIST("http://deep.example.org/"));
  expect_kind(r, IOC_DOMAIN, LIST("deep.example.org"));
  assert_non_null(strstr(text.data, "one.example.com\ntwo"));
  assert_non_null(strstr(text.data, "x deep.example.net"));
  assert_null(strstr(text.data, "bold"));
  buf_free(&html);
  buf_free(&text);
  ioc_result_free(r);
}

static void test_options_and_dedup(void **state)
{
  const struct ioc_opts only_ips = { true, false, false, false };
  const char *t = "1.1.1.1 1.1.1.1 http://x.example.com/ "
                  "d41d8cd98f00b204e9800998ecf8427e";
  struct ioc_result *r = ioc_result_new();
  (void)state;
  assert_int_equal(ioc_scan_text(r, &only_ips, t, strlen(t)), 0);
  assert_int_equal(ioc_scan_text(r, &only_ips, t, strlen(t)), 0);
  expect_kind(r, IOC_IP, LIST("1.1.1.1"));
  expect_kind(r, IOC_URL, NONE);
  expect_kind(r, IOC_HASH, NONE);
  expect_kind(r, IOC_DOMAIN, NONE);
  ioc_result_free(r);
}

static void test_validators(void **state)
{
  const char *h;
  size_t hl;
  (void)state;
  assert_true(ioc_is_ipv4("0.0.0.0", 7));
  assert_false(ioc_is_ipv4("1.2.3.04", 8));
  assert_false(ioc_is_ipv4("1.2.3.4 ", 8));
  assert_true(ioc_is_ipv6("::", 2));
  assert_false(ioc_is_ipv6("e::F:g", 6));
  assert_true(ioc_domain_ok("www.example.co.uk", 17));
  assert_false(ioc_domain_ok("co.uk", 5));
  assert_false(ioc_domain_ok("host.invalid-tld", 16));
  assert_int_equal(ioc_url_host("http://u:p@h.example.com:99/x", 29, &h, &hl),
                   1);
  assert_int_equal(hl, 13);
  assert_memory_equal(h, "h.example.com", 13);
  assert_int_equal(ioc_url_host("http://h.example.com:99999/", 27, &h, &hl), 0);
  assert_int_equal(ioc_url_host("ftp://h.example.com/", 20, &h, &hl), 0);
  /* Ends at the "@": no host, and nothing read past the end (a copy of
   * exactly that size, so ASan sees it; found by fuzz_ioc). */
  char *at = malloc(10);
  assert_non_null(at);
  memcpy(at, "https://r@", 10);
  assert_int_equal(ioc_url_host(at, 10, &h, &hl), 0);
  free(at);
}

static void test_hostile(void **state)
{
  /* Long runs of every special character must stay linear and safe. */
  size_t n = 4 << 20;
  char *t = malloc(n + 1);
  const char pat[] = "http://:@...::1.1.1a&#x;&amp;";
  struct ioc_result *r = ioc_result_new();
  (void)state;
  assert_non_null(t);
  for(size_t i = 0; i < n; i++)
    t[i] = pat[i % (sizeof(pat) - 1)];
  t[n] = '\0';
  assert_int_equal(ioc_scan_text(r, &all, t, n), 0);
  memset(t, '1', n);
  assert_int_equal(ioc_scan_text(r, &all, t, n), 0);
  memset(t, ':', n);
  assert_int_equal(ioc_scan_text(r, &all, t, n), 0);
  assert_int_equal(ioc_scan_html(r, &all, t, n, NULL), 0);
  free(t);
  ioc_result_free(r);
}

/* A quoted href or src is delimited by its quotes: a trailing '.' or ')'
 * is part of the URL (in text it ends a sentence); the DOCTYPE's DTD
 * address is not a link. */
static void test_html_attr_urls(void **state)
{
  const char *html =
      "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\" "
      "\"http://www.w3.org/TR/html4/loose.dtd\"><html><body>"
      "<a href=\"http://dot.example.com/a.\">x</a>"
      "<a href=\"http://paren.example.com/b_(c)\">y</a>"
      "<img src=\" http://sp.example.com/i.png \"> end http://t.example.com/s."
      "</body></html>";
  struct ioc_result *r = ioc_result_new();
  (void)state;
  assert_int_equal(ioc_scan_html(r, &all, html, strlen(html), NULL), 0);
  expect_kind(r, IOC_URL,
              LIST("http://dot.example.com/a.",
                   "http://paren.example.com/b_(c)",
                   "http://sp.example.com/i.png", "http://t.example.com/s"));
  ioc_result_free(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ipv4),
    cmocka_unit_test(test_ipv6),
    cmocka_unit_test(test_hashes),
    cmocka_unit_test(test_urls_text),
    cmocka_unit_test(test_domains),
    cmocka_unit_test(test_html),
    cmocka_unit_test(test_html_walk_edges),
    cmocka_unit_test(test_html_attr_urls),
    cmocka_unit_test(test_options_and_dedup),
    cmocka_unit_test(test_validators),
    cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
