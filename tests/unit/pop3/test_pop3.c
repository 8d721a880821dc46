/*
 * The POP3 client against Dovecot seeded by ../imap/seed.sh (102 messages;
 * message 102 has lines starting with "." and a line that is only ".").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pop3.h"
#include "buf.h"
#include "test_servers.h"

#define SEEDED 102

static void assert_contains(const char *hay, const char *needle)
{
  if(!strstr(hay, needle))
    fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static struct pop3_opts opts_for(enum pop3_tls tls)
{
  struct pop3_opts o;
  memset(&o, 0, sizeof(o));
  o.conn.host = "127.0.0.1";
  o.conn.port = tenv_port(tls == POP3_TLS_IMPLICIT ? "DOVETEST_POP3S_PORT"
                                                   : "DOVETEST_POP3_PORT");
  o.conn.ca_file = tenv("DOVETEST_CA");
  o.conn.io_timeout_ms = 10000;
  o.tls = tls;
  return o;
}

static struct pop3 *connect_ok(const struct pop3_opts *o)
{
  char err[CONN_ERR_LEN];
  struct pop3 *p = pop3_connect(o, err, sizeof(err));
  if(!p)
    fail_msg("connect: %s", err);
  return p;
}

static struct pop3 *login_ok(const struct pop3_opts *o)
{
  struct pop3 *p = connect_ok(o);
  if(pop3_login(p, tenv("DOVETEST_USER"), tenv("DOVETEST_PASS")) != 0)
    fail_msg("%s", pop3_error(p));
  return p;
}

struct uids {
  size_t n;
  uint32_t last;
  char first[80];
  bool dup;
};

static int on_uid(void *ctx, uint32_t msgno, const char *uid)
{
  struct uids *u = ctx;
  if(msgno != u->last + 1)
    u->dup = true;
  u->last = msgno;
  if(u->n == 0)
    snprintf(u->first, sizeof(u->first), "%s", uid);
  else if(strcmp(uid, u->first) == 0)
    u->dup = true;
  u->n++;
  return 0;
}

static int on_size(void *ctx, uint32_t msgno, uint64_t size)
{
  uint64_t *s = ctx;
  s[0]++;
  s[1] += size;
  (void)msgno;
  return 0;
}

static void test_pop3s_session(void **state)
{
  struct pop3_opts o = opts_for(POP3_TLS_IMPLICIT);
  struct pop3 *p = login_ok(&o);
  uint32_t count;
  uint64_t size, sizes[2] = { 0, 0 };
  struct uids u;
  (void)state;
  assert_true(pop3_is_verified(p));
  assert_true(pop3_has_capa(p, "UIDL"));
  assert_int_equal(pop3_get_state(p), POP3_STATE_TRANSACTION);
  assert_int_equal(pop3_stat(p, &count, &size), 0);
  assert_int_equal(count, SEEDED);
  memset(&u, 0, sizeof(u));
  assert_int_equal(pop3_uidl(p, on_uid, &u), 0);
  assert_int_equal(u.n, SEEDED);
  assert_false(u.dup);
  assert_int_equal(strlen(u.first), 16); /* pop3_uidl_format %08Xu%08Xv */
  assert_int_equal(pop3_list(p, on_size, sizes), 0);
  assert_int_equal(sizes[0], SEEDED);
  assert_int_equal(sizes[1], size);
  assert_int_equal(pop3_quit(p), 0);
  assert_int_equal(pop3_get_state(p), POP3_STATE_QUIT);
  pop3_free(p);
}

static int collect(void *ctx, const void *d, size_t n)
{
  return buf_append(ctx, d, n);
}

static void test_retr_dot_unstuffing(void **state)
{
  struct pop3_opts o = opts_for(POP3_TLS_IMPLICIT);
  struct pop3 *p = login_ok(&o);
  struct buf b;
  char path[512];
  size_t elen;
  char *expect;
  (void)state;
  snprintf(path, sizeof(path), "%s/expected/dots.eml", tenv("DOVETEST_DIR"));
  expect = slurp(path, &elen);
  assert_non_null(expect);
  buf_init(&b, 1 << 20);
  if(pop3_retr(p, SEEDED, collect, &b) != 0)
    fail_msg("%s", pop3_error(p));
  assert_int_equal(b.len, elen);
  assert_memory_equal(b.data, expect, elen); /* byte-exact */
  buf_free(&b);
  free(expect);

  buf_init(&b, 1 << 20);
  assert_int_equal(pop3_retr(p, 1, collect, &b), 0);
  assert_non_null(strstr(b.data, "\r\n\r\nThis is test message number 1.\r\n"));
  buf_free(&b);

  /* no such message: -ERR, session usable */
  assert_int_equal(pop3_retr(p, 9999, collect, &b), -1);
  assert_contains(pop3_error(p), "RETR failed at 127.0.0.1:");
  assert_contains(pop3_error(p), "-ERR");
  assert_int_equal(pop3_get_state(p), POP3_STATE_TRANSACTION);
  pop3_free(p);
}

static void test_retr_limit(void **state)
{
  struct pop3_opts o = opts_for(POP3_TLS_IMPLICIT);
  struct pop3 *p;
  struct buf b;
  (void)state;
  o.max_message = 100;
  p = login_ok(&o);
  buf_init(&b, 1 << 20);
  assert_int_equal(pop3_retr(p, 1, collect, &b), -1);
  assert_contains(pop3_error(p), "larger than 100 bytes");
  assert_true(b.len <= 100);
  /* the rest was drained: the session goes on */
  assert_int_equal(pop3_get_state(p), POP3_STATE_TRANSACTION);
  {
    uint32_t count;
    uint64_t size;
    assert_int_equal(pop3_stat(p, &count, &size), 0);
    assert_int_equal(count, SEEDED);
  }
  buf_free(&b);
  pop3_free(p);
}

static void test_stls(void **state)
{
  struct pop3_opts o = opts_for(POP3_TLS_STLS);
  struct pop3 *p = connect_ok(&o);
  uint32_t count;
  uint64_t size;
  (void)state;
  assert_true(pop3_is_verified(p));
  assert_false(pop3_has_capa(p, "STLS")); /* CAPA asked again over TLS */
  if(pop3_login(p, tenv("DOVETEST_USER"), tenv("DOVETEST_PASS")) != 0)
    fail_msg("%s", pop3_error(p));
  assert_int_equal(pop3_stat(p, &count, &size), 0);
  assert_int_equal(count, SEEDED);
  pop3_free(p);
}

static void test_bad_password(void **state)
{
  struct pop3_opts o = opts_for(POP3_TLS_IMPLICIT);
  struct pop3 *p = connect_ok(&o);
  char want[64];
  (void)state;
  assert_int_equal(pop3_login(p, tenv("DOVETEST_USER"), "wrong"), -1);
  snprintf(want, sizeof(want), "PASS failed at 127.0.0.1:%u: -ERR",
           (unsigned)o.conn.port);
  assert_contains(pop3_error(p), want);
  assert_int_equal(pop3_get_state(p), POP3_STATE_AUTHORIZATION);
  assert_int_equal(pop3_login(p, "x", "a\r\nDELE 1"), -1);
  assert_contains(pop3_error(p), "CR or LF");
  pop3_free(p);
}

static void test_plaintext_refused(void **state)
{
  struct pop3_opts o = opts_for(POP3_TLS_NONE);
  struct pop3 *p = connect_ok(&o);
  (void)state;
  assert_false(pop3_is_verified(p));
  assert_int_equal(pop3_login(p, tenv("DOVETEST_USER"), tenv("DOVETEST_PASS")),
                   -1);
  assert_contains(pop3_error(p), "not protected by verified TLS");
  assert_int_equal(pop3_stat(p, NULL, NULL), -1);
  assert_contains(pop3_error(p), "STAT not allowed");
  pop3_free(p);
}

static void test_xoauth2(void **state)
{
  struct pop3_opts o = opts_for(POP3_TLS_IMPLICIT);
  struct pop3 *p = connect_ok(&o);
  uint32_t count;
  uint64_t size;
  (void)state;
  assert_true(pop3_has_sasl(p, "XOAUTH2"));
  assert_int_equal(pop3_auth_xoauth2(p, tenv("DOVETEST_USER"), "bad-token"),
                   -1);
  assert_contains(pop3_error(p), "AUTH XOAUTH2 failed at 127.0.0.1:");
  assert_int_equal(pop3_get_state(p), POP3_STATE_AUTHORIZATION);
  if(pop3_auth_xoauth2(p, tenv("DOVETEST_USER"), tenv("DOVETEST_TOKEN")) != 0)
    fail_msg("%s", pop3_error(p));
  assert_int_equal(pop3_stat(p, &count, &size), 0);
  assert_int_equal(count, SEEDED);
  pop3_free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pop3s_session),
    cmocka_unit_test(test_retr_dot_unstuffing),
    cmocka_unit_test(test_retr_limit),
    cmocka_unit_test(test_stls),
    cmocka_unit_test(test_bad_password),
    cmocka_unit_test(test_plaintext_refused),
    cmocka_unit_test(test_xoauth2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
