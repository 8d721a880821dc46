/*
 * Unit tests for common/dmarc/dkim.  run.sh generates RSA keys with
 * opendkim-genkey into KEYDIR and serves their public halves from dnsmasq
 * on 127.0.0.1:DNS_PORT (see run.sh for the records).  Messages are signed
 * here with libopendkim's signer and the private keys, then changed or not,
 * then verified through dnsmasq.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <opendkim/dkim.h>

#include "dkim.h"
#include "util.h"

#define DOMAIN "example.test"

static const char base_msg[] =
    "From: DMARC Reporter <noreply-dmarc@example.test>\r\n"
    "To: dmarc-rua@example.org\r\n"
    "Subject: Report Domain: example.org Submitter: example.test\r\n"
    "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
    "Message-ID: <report-1@example.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "This is an aggregate report.\r\n"
    "It has two lines of body.\r\n";

static char dns_server[64];
static struct dkim_verifier *verifier;
static DKIM_LIB *signer;

/* --- helpers ------------------------------------------------------------ */

static char *read_key(const char *name)
{
  const char *dir = getenv("KEYDIR");
  char path[512];
  FILE *f;
  char *buf;
  size_t n;

  assert_non_null(dir);
  snprintf(path, sizeof(path), "%s/%s.private", dir, name);
  f = fopen(path, "r");
  assert_non_null(f);
  buf = calloc(1, 8192);
  assert_non_null(buf);
  n = fread(buf, 1, 8191, f);
  fclose(f);
  assert_true(n > 0);
  return buf;
}

/* Append s to the malloc'd string *dst, turning bare LFs into CRLF. */
static void append_crlf(char **dst, size_t *len, const char *s, size_t slen)
{
  char *d = realloc(*dst, *len + 2 * slen + 1);

  assert_non_null(d);
  for(size_t i = 0; i < slen; i++) {
    if(s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
      d[(*len)++] = '\r';
    d[(*len)++] = s[i];
  }
  d[*len] = '\0';
  *dst = d;
}

/* Sign msg with KEYDIR/<keyname>.private as selector s=<selector>, d=domain;
 * return the message with the DKIM-Signature field prepended (malloc'd).
 * fixed_time, when nonzero, is the signing time t= and then the signature
 * expires 60 s later (x=). */
static char *sign_full(const char *msg, const char *keyname,
                       const char *selector, const char *domain,
                       dkim_canon_t canon, uint64_t fixed_time)
{
  static const char field[] = DKIM_SIGNHEADER ": ";
  DKIM_LIB *lib = signer;
  DKIM_STAT st;
  DKIM *d;
  char *key = read_key(keyname);
  unsigned char *hdr = NULL;
  size_t hlen = 0, len = 0;
  char *out = NULL;

  if(fixed_time != 0) {
    uint64_t ttl = 60;
    lib = dkim_init(NULL, NULL);
    assert_non_null(lib);
    assert_int_equal(dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME,
                                  &fixed_time, sizeof(fixed_time)),
                     DKIM_STAT_OK);
    assert_int_equal(dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL,
                                  &ttl, sizeof(ttl)),
                     DKIM_STAT_OK);
  }
  d = dkim_sign(lib, (const unsigned char *)"test", NULL, (unsigned char *)key,
                (const unsigned char *)selector, (const unsigned char *)domain,
                canon, canon, DKIM_SIGN_RSASHA256, -1, &st);
  assert_non_null(d);
  assert_int_equal(dkim_chunk(d, (unsigned char *)msg, strlen(msg)),
                   DKIM_STAT_OK);
  assert_int_equal(dkim_chunk(d, NULL, 0), DKIM_STAT_OK);
  assert_int_equal(dkim_eom(d, NULL), DKIM_STAT_OK);
  assert_int_equal(dkim_getsighdr_d(d, strlen(field), &hdr, &hlen),
                   DKIM_STAT_OK);
  append_crlf(&out, &len, field, strlen(field));
  append_crlf(&out, &len, (const char *)hdr, hlen);
  append_crlf(&out, &len, "\r\n", 2);
  append_crlf(&out, &len, msg, strlen(msg));
  dkim_free(d);
  if(lib != signer)
    dkim_close(lib);
  free(key);
  return out;
}

static char *sign_as(const char *msg, const char *keyname, const char *selector,
                     dkim_canon_t canon, uint64_t fixed_time)
{
  return sign_full(msg, keyname, selector, DOMAIN, canon, fixed_time);
}

static char *sign(const char *msg, const char *keyname, const char *selector)
{
  return sign_as(msg, keyname, selector, DKIM_CANON_RELAXED, 0);
}

/* Replace the first occurrence of from in s (same length) in place. */
static void tamper(char *s, const char *from, const char *to)
{
  char *p = strstr(s, from);

  assert_non_null(p);
  assert_int_equal(strlen(from), strlen(to));
  memcpy(p, to, strlen(to));
}

static void verify_with(struct dkim_verifier *v, const char *msg,
                        struct dkim_result **res, size_t *n)
{
  char err[256] = "";
  int rc = dkim_verify_message(v, msg, strlen(msg), res, n, err, sizeof(err));

  if(rc != 0)
    fail_msg("dkim_verify_message: %s", err);
}

static void verify(const char *msg, struct dkim_result **res, size_t *n)
{
  verify_with(verifier, msg, res, n);
}

static void assert_result(const struct dkim_result *r, const char *selector,
                          const char *result, const char *reason_prefix)
{
  assert_string_equal(r->domain, DOMAIN);
  assert_string_equal(r->selector, selector);
  assert_string_equal(r->result, result);
  if(strncmp(r->reason, reason_prefix, strlen(reason_prefix)) != 0)
    fail_msg("reason '%s' does not start with '%s'", r->reason, reason_prefix);
}

/* A UDP socket on 127.0.0.1 that is never read: a DNS server that never
 * answers.  Returns the fd; *port_r gets its port. */
static int silent_server(int *port_r)
{
  struct sockaddr_in sa;
  socklen_t salen = sizeof(sa);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);

  assert_true(fd >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
  *port_r = ntohs(sa.sin_port);
  return fd;
}

/* --- fixtures ----------------------------------------------------------- */

static int setup(void **state)
{
  const char *port = getenv("DNS_PORT");
  char err[256];

  (void)state;
  if(port == NULL || getenv("KEYDIR") == NULL) {
    fprintf(stderr, "DNS_PORT and KEYDIR must be set (run through run.sh)\n");
    return -1;
  }
  snprintf(dns_server, sizeof(dns_server), "127.0.0.1:%s", port);
  verifier = dkim_verifier_new(dns_server, 2000, err, sizeof(err));
  if(verifier == NULL) {
    fprintf(stderr, "dkim_verifier_new: %s\n", err);
    return -1;
  }
  signer = dkim_init(NULL, NULL);
  return signer == NULL ? -1 : 0;
}

static int teardown(void **state)
{
  (void)state;
  dkim_verifier_free(verifier);
  dkim_close(signer);
  return 0;
}

/* --- tests -------------------------------------------------------------- */

static void test_pass(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *msg = sign(base_msg, "sel1", "sel1");

  (void)state;
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "sel1", "pass", "");
  assert_string_equal(res[0].reason, "");
  dkim_results_free(res, n);
  free(msg);
}

static void test_pass_simple_canon(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *msg = sign_as(base_msg, "sel1", "sel1", DKIM_CANON_SIMPLE, 0);

  (void)state;
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "sel1", "pass", "");
  dkim_results_free(res, n);
  free(msg);
}

/* The same verifier gives the same verdicts again and again (state from
 * one message does not leak into the next). */
static void test_reuse(void **state)
{
  char *good = sign(base_msg, "sel1", "sel1");
  char *nokey = sign(base_msg, "sel1", "nokey");

  (void)state;
  for(int i = 0; i < 5; i++) {
    struct dkim_result *res;
    size_t n;
    verify(i % 2 ? nokey : good, &res, &n);
    assert_int_equal(n, 1);
    assert_string_equal(res[0].result, i % 2 ? "permerror" : "pass");
    dkim_results_free(res, n);
  }
  free(good);
  free(nokey);
}

static void test_body_altered(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *msg = sign(base_msg, "sel1", "sel1");

  (void)state;
  tamper(msg, "two lines", "ten lines");
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "sel1", "fail", "body hash mismatch");
  dkim_results_free(res, n);
  free(msg);
}

static void test_header_altered(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *msg = sign(base_msg, "sel1", "sel1");

  (void)state;
  tamper(msg, "Submitter: example.test", "Submitter: exampel.test");
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "sel1", "fail", "signature mismatch");
  dkim_results_free(res, n);
  free(msg);
}

/* sel2's published key belongs to another key pair. */
static void test_wrong_key(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *msg = sign(base_msg, "sel2", "sel2");

  (void)state;
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "sel2", "fail", "signature mismatch");
  dkim_results_free(res, n);
  free(msg);
}

static void test_no_key(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *msg = sign(base_msg, "sel1", "nokey");

  (void)state;
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "nokey", "permerror", "no key");
  assert_string_equal(res[0].reason, "no key");
  dkim_results_free(res, n);
  free(msg);
}

static void test_revoked_key(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *msg = sign(base_msg, "sel1", "revoked");

  (void)state;
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "revoked", "permerror", "key revoked");
  dkim_results_free(res, n);
  free(msg);
}

static void test_expired(void **state)
{
  struct dkim_result *res;
  size_t n;
  /* Signed on 2001-09-09, expired a minute later. */
  char *msg = sign_as(base_msg, "sel1", "sel1", DKIM_CANON_RELAXED, 1000000000);

  (void)state;
  assert_non_null(strstr(msg, "x=1000000060"));
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "sel1", "fail", "signature expired");
  dkim_results_free(res, n);
  free(msg);
}

/* Topmost field first: sel2 (added last, wrong key) then sel1. */
static void test_two_signatures(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *once = sign(base_msg, "sel1", "sel1");
  char *twice = sign(once, "sel2", "sel2");

  (void)state;
  verify(twice, &res, &n);
  assert_int_equal(n, 2);
  assert_result(&res[0], "sel2", "fail", "signature mismatch");
  assert_result(&res[1], "sel1", "pass", "");
  dkim_results_free(res, n);
  free(once);
  free(twice);
}

static void test_unsigned(void **state)
{
  struct dkim_result *res = (struct dkim_result *)1;
  size_t n = 99;

  (void)state;
  verify(base_msg, &res, &n);
  assert_int_equal(n, 0);
  assert_null(res);
  dkim_results_free(res, n);
}

static void test_empty_and_headers_only(void **state)
{
  struct dkim_result *res = (struct dkim_result *)1;
  size_t n = 99;

  (void)state;
  verify("", &res, &n);
  assert_int_equal(n, 0);
  assert_null(res);
  verify("Subject: no body, no blank line", &res, &n);
  assert_int_equal(n, 0);
  assert_null(res);
}

/* A message stored with bare LF line ends verifies as its CRLF form. */
static void test_lf_only(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *msg = sign_as(base_msg, "sel1", "sel1", DKIM_CANON_SIMPLE, 0);
  char *lf = malloc(strlen(msg) + 1);
  size_t o = 0;

  (void)state;
  assert_non_null(lf);
  for(const char *p = msg; *p != '\0'; p++)
    if(*p != '\r')
      lf[o++] = *p;
  lf[o] = '\0';
  assert_null(strchr(lf, '\r'));
  verify(lf, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "sel1", "pass", "");
  dkim_results_free(res, n);
  free(lf);
  free(msg);
}

/* A DKIM-Signature field missing b=/bh=/h= is reported, not dropped, and a
 * valid signature next to it still passes. */
static void test_malformed(void **state)
{
  static const char bad[] =
      "DKIM-Signature: v=1; a=rsa-sha256; d=" DOMAIN "; s=sel1; garbage\r\n";
  struct dkim_result *res;
  size_t n;
  char *signed_msg = sign(base_msg, "sel1", "sel1");
  char *msg = malloc(strlen(bad) + strlen(signed_msg) + 1);

  (void)state;
  assert_non_null(msg);
  strcpy(msg, bad);
  strcat(msg, signed_msg);
  verify(msg, &res, &n);
  assert_int_equal(n, 2);
  assert_string_equal(res[0].result, "permerror");
  if(strncmp(res[0].reason, "malformed signature", 19) != 0)
    fail_msg("reason '%s'", res[0].reason);
  assert_result(&res[1], "sel1", "pass", "");
  dkim_results_free(res, n);

  /* Alone, with a body, and without any tag at all. */
  verify("DKIM-Signature: \r\nFrom: a@b.test\r\n\r\nbody\r\n", &res, &n);
  assert_int_equal(n, 1);
  assert_string_equal(res[0].result, "permerror");
  assert_string_equal(res[0].domain, "");
  assert_string_equal(res[0].selector, "");
  dkim_results_free(res, n);
  free(msg);
  free(signed_msg);
}

static void test_too_many_signatures(void **state)
{
  struct dkim_result *res;
  size_t n;
  char *msg = strdup(base_msg);

  (void)state;
  assert_non_null(msg);
  for(int i = 0; i < DKIM_MAX_SIGNATURES + 3; i++) {
    char *next = sign(msg, "sel1", "sel1");
    free(msg);
    msg = next;
  }
  verify(msg, &res, &n);
  assert_int_equal(n, DKIM_MAX_SIGNATURES);
  for(size_t i = 0; i < n; i++)
    assert_result(&res[i], "sel1", "pass", "");
  dkim_results_free(res, n);
  free(msg);
}

/* Hostile: the same signature field repeated 2000 times: only the first
 * DKIM_MAX_SIGNATURES are verified (the rest cause no DNS traffic).  And a
 * d= too long to look up is a permanent error, not a DNS failure. */
static void test_hostile_fields(void **state)
{
  struct dkim_result *res;
  size_t n, flen, blen = strlen(base_msg);
  char *signed_msg = sign(base_msg, "sel1", "sel1");
  char *msg, *p;
  char longd[400];
  int64_t t0;

  (void)state;
  flen = strlen(signed_msg) - blen; /* the DKIM-Signature field */
  msg = malloc(flen * 2000 + blen + 1);
  assert_non_null(msg);
  p = msg;
  for(int i = 0; i < 2000; i++, p += flen)
    memcpy(p, signed_msg, flen);
  memcpy(p, base_msg, blen + 1);
  t0 = util_now_ms();
  verify(msg, &res, &n);
  assert_int_equal(n, DKIM_MAX_SIGNATURES);
  for(size_t i = 0; i < n; i++)
    assert_result(&res[i], "sel1", "pass", "");
  assert_true(util_now_ms() - t0 < 5000);
  dkim_results_free(res, n);
  free(msg);

  /* 4 labels of 60 + ".test": a valid domain, but with
   * "sel1._domainkey." in front no longer a DNS name (over 253). */
  memset(longd, 'a', 4 * 61);
  for(size_t i = 60; i < 4 * 61; i += 61)
    longd[i] = '.';
  strcpy(longd + 4 * 61, "test");
  msg = sign_full(base_msg, "sel1", "sel1", longd, DKIM_CANON_RELAXED, 0);
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_string_equal(res[0].domain, longd);
  assert_string_equal(res[0].result, "permerror");
  assert_string_equal(res[0].reason, "key name not valid in DNS");
  dkim_results_free(res, n);
  free(msg);

  /* A 70-byte label: short enough overall, still no valid DNS name. */
  memset(longd, 'b', 70);
  strcpy(longd + 70, ".test");
  msg = sign_full(base_msg, "sel1", "sel1", longd, DKIM_CANON_RELAXED, 0);
  verify(msg, &res, &n);
  assert_int_equal(n, 1);
  assert_string_equal(res[0].result, "permerror");
  assert_string_equal(res[0].reason, "key name not valid in DNS");
  dkim_results_free(res, n);
  free(msg);
  free(signed_msg);
}

/* Over the limit: refused before a byte is read (the mapping is readable
 * anyway, and never touched). */
static void test_too_large(void **state)
{
  size_t len = DKIM_MAX_MESSAGE + 1;
  void *big = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct dkim_result *res = (struct dkim_result *)1;
  size_t n = 99;
  char err[256] = "";

  (void)state;
  assert_true(big != MAP_FAILED);
  assert_int_equal(
      dkim_verify_message(verifier, big, len, &res, &n, err, sizeof(err)), -1);
  assert_null(res);
  assert_int_equal(n, 0);
  assert_non_null(strstr(err, "limit"));
  munmap(big, len);
}

/* A server that never answers: temperror after the timeout, and the second
 * signature's lookup is not even sent, so the whole message costs one
 * timeout. */
static void test_dns_timeout(void **state)
{
  int port, fd = silent_server(&port);
  char server[64], err[256];
  struct dkim_verifier *v;
  struct dkim_result *res;
  size_t n;
  char *once = sign(base_msg, "sel1", "sel1");
  char *twice = sign(once, "sel2", "sel2");
  int64_t t0, elapsed;

  (void)state;
  snprintf(server, sizeof(server), "127.0.0.1:%d", port);
  v = dkim_verifier_new(server, 400, err, sizeof(err));
  assert_non_null(v);
  t0 = util_now_ms();
  verify_with(v, twice, &res, &n);
  elapsed = util_now_ms() - t0;
  assert_int_equal(n, 2);
  assert_result(&res[0], "sel2", "temperror", "DNS timeout");
  assert_result(&res[1], "sel1", "temperror", "DNS skipped");
  assert_true(elapsed >= 350);
  if(elapsed > 1500)
    fail_msg("took %lld ms for a 400 ms timeout", (long long)elapsed);
  dkim_results_free(res, n);

  /* The next message tries again (one timeout, not zero). */
  t0 = util_now_ms();
  verify_with(v, once, &res, &n);
  elapsed = util_now_ms() - t0;
  assert_int_equal(n, 1);
  assert_result(&res[0], "sel1", "temperror", "DNS timeout");
  assert_true(elapsed >= 350);
  dkim_results_free(res, n);

  dkim_verifier_free(v);
  close(fd);
  free(once);
  free(twice);
}

/* Nothing listens: an error (or timeout), reported as temperror. */
static void test_dns_refused(void **state)
{
  int port, fd = silent_server(&port);
  char server[64], err[256];
  struct dkim_verifier *v;
  struct dkim_result *res;
  size_t n;
  char *msg = sign(base_msg, "sel1", "sel1");

  (void)state;
  close(fd); /* the port is now (very likely) closed */
  snprintf(server, sizeof(server), "127.0.0.1:%d", port);
  v = dkim_verifier_new(server, 400, err, sizeof(err));
  assert_non_null(v);
  verify_with(v, msg, &res, &n);
  assert_int_equal(n, 1);
  assert_result(&res[0], "sel1", "temperror", "DNS");
  dkim_results_free(res, n);
  dkim_verifier_free(v);
  free(msg);
}

static void test_bad_server(void **state)
{
  static const char *const bad[] = {
    "",
    "dns.example.test",
    "127.0.0.1:dns",
    "300.1.1.1",
    "[::1",
    "[::1]x",
    "127.0.0.1:0",
    "127.0.0.1:65536",
    "127.0.0.1,127.0.0.2",
  };
  char err[256];

  (void)state;
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    if(dkim_verifier_new(bad[i], 1000, err, sizeof(err)) != NULL)
      fail_msg("'%s' accepted", bad[i]);
    assert_non_null(strstr(err, "DNS server"));
  }
  assert_null(dkim_verifier_new(NULL, -1, err, sizeof(err)));
  dkim_verifier_free(NULL);
  dkim_results_free(NULL, 0);
}

/* Accepted forms; NULL is the system resolver.  Created, never asked. */
static void test_good_server(void **state)
{
  static const char *const good[] = {
    NULL, "127.0.0.1", "127.0.0.1:53", "::1", "[::1]", "[::1]:5353",
  };
  char err[256];

  (void)state;
  for(size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    struct dkim_verifier *v = dkim_verifier_new(good[i], 0, err, sizeof(err));
    if(v == NULL)
      fail_msg("'%s' refused: %s", good[i] ? good[i] : "(null)", err);
    dkim_verifier_free(v);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pass),
    cmocka_unit_test(test_pass_simple_canon),
    cmocka_unit_test(test_reuse),
    cmocka_unit_test(test_body_altered),
    cmocka_unit_test(test_header_altered),
    cmocka_unit_test(test_wrong_key),
    cmocka_unit_test(test_no_key),
    cmocka_unit_test(test_revoked_key),
    cmocka_unit_test(test_expired),
    cmocka_unit_test(test_two_signatures),
    cmocka_unit_test(test_unsigned),
    cmocka_unit_test(test_empty_and_headers_only),
    cmocka_unit_test(test_lf_only),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_too_many_signatures),
    cmocka_unit_test(test_hostile_fields),
    cmocka_unit_test(test_too_large),
    cmocka_unit_test(test_dns_timeout),
    cmocka_unit_test(test_dns_refused),
    cmocka_unit_test(test_bad_server),
    cmocka_unit_test(test_good_server),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
