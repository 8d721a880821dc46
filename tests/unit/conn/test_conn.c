/*
 * conn against Dovecot's IMAPS port (real TLS with the test CA) and the
 * fake servers: verification failures, timeouts, over-long lines, chunked
 * reads, STARTTLS injection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "util.h"
#include "test_servers.h"

static struct conn_opts imaps_opts(void)
{
  struct conn_opts o;
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = tenv_port("DOVETEST_IMAPS_PORT");
  o.tls = CONN_TLS_IMPLICIT;
  o.ca_file = tenv("DOVETEST_CA");
  o.io_timeout_ms = 5000;
  o.connect_timeout_ms = 5000;
  return o;
}

static void assert_contains(const char *hay, const char *needle)
{
  if(!strstr(hay, needle))
    fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void test_tls_with_ca(void **state)
{
  struct conn_opts o = imaps_opts();
  char err[CONN_ERR_LEN];
  struct conn *c = conn_connect(&o, err, sizeof(err));
  const char *line;
  size_t n;
  (void)state;
  if(!c)
    fail_msg("%s", err);
  assert_true(conn_is_tls(c));
  assert_true(conn_is_verified(c));
  assert_int_equal(conn_read_line(c, &line, &n), 0);
  assert_true(n > 4 && strncmp(line, "* OK", 4) == 0);
  assert_int_equal(conn_write_str(c, "a LOGOUT\r\n"), 0);
  assert_int_equal(conn_read_line(c, &line, &n), 0);
  assert_true(strncmp(line, "* BYE", 5) == 0);
  conn_close(c);
}

/* By name: SNI and host name check; "localhost" may also resolve to ::1,
 * where nothing listens, so this also exercises trying the next address. */
static void test_tls_localhost_name(void **state)
{
  struct conn_opts o = imaps_opts();
  char err[CONN_ERR_LEN];
  struct conn *c;
  (void)state;
  o.host = "localhost";
  c = conn_connect(&o, err, sizeof(err));
  if(!c)
    fail_msg("%s", err);
  assert_true(conn_is_verified(c));
  assert_string_equal(conn_peer(c), strstr(conn_peer(c), "localhost:"));
  conn_close(c);
}

static void test_tls_without_ca_fails(void **state)
{
  struct conn_opts o = imaps_opts();
  char err[CONN_ERR_LEN], want[100];
  (void)state;
  o.ca_file = NULL; /* system store: does not know the test CA */
  assert_null(conn_connect(&o, err, sizeof(err)));
  snprintf(
      want, sizeof(want),
      "TLS: certificate verify failed for 127.0.0.1:%u: ", (unsigned)o.port);
  assert_contains(err, want);
  assert_contains(err, "self");
  assert_contains(err, "signed certificate");
}

static void test_tls_wrong_host_fails(void **state)
{
  struct conn_opts o = imaps_opts();
  char err[CONN_ERR_LEN];
  (void)state;
  o.verify_name = "wronghost";
  assert_null(conn_connect(&o, err, sizeof(err)));
  assert_contains(err, "certificate verify failed");
  assert_contains(err, "hostname mismatch");
}

static void test_tls_wrong_ip_fails(void **state)
{
  struct conn_opts o = imaps_opts();
  char err[CONN_ERR_LEN];
  (void)state;
  o.verify_name = "127.0.0.2";
  assert_null(conn_connect(&o, err, sizeof(err)));
  assert_contains(err, "IP address mismatch");
}

static void test_tls_no_verify_is_not_verified(void **state)
{
  struct conn_opts o = imaps_opts();
  char err[CONN_ERR_LEN];
  struct conn *c;
  (void)state;
  o.ca_file = NULL;
  o.tls_no_verify = true;
  c = conn_connect(&o, err, sizeof(err));
  if(!c)
    fail_msg("%s", err);
  assert_true(conn_is_tls(c));
  assert_false(conn_is_verified(c));
  conn_close(c);
}

static void test_bad_ca_file(void **state)
{
  struct conn_opts o = imaps_opts();
  char err[CONN_ERR_LEN];
  (void)state;
  o.ca_file = "/nonexistent/ca.pem";
  assert_null(conn_connect(&o, err, sizeof(err)));
  assert_contains(err, "cannot load CA file /nonexistent/ca.pem");
}

/* A minimal system has no CA bundle (no ca-certificates): a given CA file
 * is enough, and without one the error names every path tried. */
static void test_no_system_store(void **state)
{
  struct conn_opts o = imaps_opts();
  char err[CONN_ERR_LEN], want[100];
  struct conn *c;
  (void)state;
  setenv("SSL_CERT_FILE", "/nonexistent/bundle.pem", 1);
  setenv("SSL_CERT_DIR", "/nonexistent/certs", 1);
  assert_null(conn_system_ca_file());
  assert_null(conn_system_ca_dir());
  c = conn_connect(&o, err, sizeof(err)); /* the test CA, given */
  assert_non_null(c);
  assert_true(conn_is_verified(c));
  conn_close(c);
  o.ca_file = NULL;
  assert_null(conn_connect(&o, err, sizeof(err)));
  snprintf(want, sizeof(want),
           "TLS: no trusted CA certificates for "
           "127.0.0.1:%u: none of /nonexistent/bundle.pem",
           (unsigned)o.port);
  assert_contains(err, want);
  assert_contains(err, "/nonexistent/certs");
  assert_contains(err, "ca-certificates");
  assert_null(strchr(err, '\n'));
  unsetenv("SSL_CERT_FILE");
  unsetenv("SSL_CERT_DIR");
}

static void test_plain_is_not_tls(void **state)
{
  struct conn_opts o = imaps_opts();
  char err[CONN_ERR_LEN];
  struct conn *c;
  (void)state;
  o.tls = CONN_TLS_NONE;
  o.port = tenv_port("DOVETEST_IMAP_PORT");
  c = conn_connect(&o, err, sizeof(err));
  if(!c)
    fail_msg("%s", err);
  assert_false(conn_is_tls(c));
  assert_false(conn_is_verified(c));
  conn_close(c);
}

static void test_read_timeout(void **state)
{
  struct conn_opts o;
  char err[CONN_ERR_LEN], want[100];
  struct conn *c;
  const char *line;
  size_t n;
  int64_t t0, dt;
  (void)state;
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = fake_port("silent");
  o.io_timeout_ms = 500;
  c = conn_connect(&o, err, sizeof(err));
  if(!c)
    fail_msg("%s", err);
  t0 = util_now_ms();
  assert_int_equal(conn_read_line(c, &line, &n), -1);
  dt = util_now_ms() - t0;
  assert_true(dt >= 450 && dt < 2000);
  snprintf(want, sizeof(want), "timeout after 500 ms reading from 127.0.0.1:%u",
           (unsigned)o.port);
  assert_string_equal(conn_error(c), want);
  /* broken: later calls fail at once with the same message */
  assert_true(conn_is_broken(c));
  assert_int_equal(conn_write_str(c, "x"), -1);
  assert_string_equal(conn_error(c), want);
  conn_close(c);
}

/* TLS handshake against a server that never answers: bounded too. */
static void test_tls_handshake_timeout(void **state)
{
  struct conn_opts o;
  char err[CONN_ERR_LEN];
  int64_t t0, dt;
  (void)state;
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = fake_port("silent");
  o.tls = CONN_TLS_IMPLICIT;
  o.io_timeout_ms = 400;
  t0 = util_now_ms();
  assert_null(conn_connect(&o, err, sizeof(err)));
  dt = util_now_ms() - t0;
  assert_true(dt >= 350 && dt < 2000);
  assert_contains(err, "timeout after 400 ms in TLS handshake with 127.0.0.1:");
}

static void test_long_line_rejected(void **state)
{
  struct conn_opts o;
  char err[CONN_ERR_LEN];
  struct conn *c;
  const char *line;
  size_t n;
  int64_t t0;
  (void)state;
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = fake_port("longline");
  o.io_timeout_ms = 5000;
  o.max_line = 1024;
  c = conn_connect(&o, err, sizeof(err));
  if(!c)
    fail_msg("%s", err);
  t0 = util_now_ms();
  assert_int_equal(conn_read_line(c, &line, &n), -1);
  /* fails as soon as the limit is passed, not at the timeout */
  assert_true(util_now_ms() - t0 < 2000);
  assert_contains(conn_error(c), "line longer than 1024 bytes from 127.0.0.1:");
  conn_close(c);
}

static void test_long_line_in_chunks(void **state)
{
  struct conn_opts o;
  char err[CONN_ERR_LEN];
  struct conn *c;
  size_t total = 0;
  (void)state;
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = fake_port("longline");
  o.io_timeout_ms = 300;
  o.max_line = 1024;
  c = conn_connect(&o, err, sizeof(err));
  if(!c)
    fail_msg("%s", err);
  for(;;) {
    const char *p;
    size_t n;
    bool eol;
    if(conn_read_line_chunk(c, &p, &n, &eol) < 0)
      break;
    assert_false(eol);
    assert_int_equal(n, 1024);
    assert_int_equal(p[0], 'A');
    total += n;
  }
  /* 100000 bytes with no end: all full pieces handed out, then timeout */
  assert_int_equal(total, 100000 / 1024 * 1024);
  assert_contains(conn_error(c), "timeout after 300 ms");
  conn_close(c);
}

static int collect(void *ctx, const void *data, size_t len)
{
  struct buf *b = ctx;
  return buf_append(b, data, len);
}

static void test_split_reads(void **state)
{
  struct conn_opts o;
  char err[CONN_ERR_LEN];
  struct conn *c;
  const char *line;
  size_t n;
  struct buf b;
  (void)state;
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = fake_port("chunks");
  o.io_timeout_ms = 2000;
  c = conn_connect(&o, err, sizeof(err));
  if(!c)
    fail_msg("%s", err);
  assert_int_equal(conn_read_line(c, &line, &n), 0);
  assert_int_equal(n, 11);
  assert_string_equal(line, "hello world");
  assert_int_equal(conn_read_line(c, &line, &n), 0);
  assert_string_equal(line, "second");
  buf_init(&b, 100);
  assert_int_equal(conn_read_exact(c, 10, collect, &b), 0);
  assert_int_equal(b.len, 10);
  assert_memory_equal(b.data, "0123456789", 10);
  buf_free(&b);
  conn_set_timeout(c, 200);
  assert_int_equal(conn_read_exact(c, 1, NULL, NULL), -1);
  assert_contains(conn_error(c), "timeout after 200 ms");
  conn_close(c);
}

static void test_starttls_injection_refused(void **state)
{
  struct conn_opts o;
  char err[CONN_ERR_LEN];
  struct conn *c;
  const char *line;
  size_t n;
  (void)state;
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = fake_port("starttls_inject");
  o.io_timeout_ms = 2000;
  c = conn_connect(&o, err, sizeof(err));
  if(!c)
    fail_msg("%s", err);
  assert_int_equal(conn_read_line(c, &line, &n), 0);
  assert_int_equal(conn_write_str(c, "A1 STARTTLS\r\n"), 0);
  assert_int_equal(conn_read_line(c, &line, &n), 0);
  assert_string_equal(line, "A1 OK begin TLS now");
  /* the injected line arrived in the same segment */
  if(conn_buffered(c) == 0)
    skip();
  assert_int_equal(conn_starttls(c), -1);
  assert_contains(conn_error(c), "unexpected bytes after the server's reply");
  conn_close(c);
}

static void test_connect_refused(void **state)
{
  struct conn_opts o;
  char err[CONN_ERR_LEN], want[80];
  struct sockaddr_in sa;
  socklen_t sl = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  (void)state;
  /* a port that was free a moment ago and has no listener */
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  close(fd);
  memset(&o, 0, sizeof(o));
  o.host = "127.0.0.1";
  o.port = ntohs(sa.sin_port);
  assert_null(conn_connect(&o, err, sizeof(err)));
  snprintf(want, sizeof(want),
           "connect to 127.0.0.1:%u failed: Connection refused",
           (unsigned)o.port);
  assert_string_equal(err, want);
}

static void test_opts_checked(void **state)
{
  struct conn_opts o;
  char err[CONN_ERR_LEN];
  (void)state;
  memset(&o, 0, sizeof(o));
  assert_null(conn_connect(&o, err, sizeof(err)));
  assert_contains(err, "host and port are required");
  o.host = "127.0.0.1";
  o.port = 1;
  o.max_line = CONN_MAX_MAX_LINE + 1;
  assert_null(conn_connect(&o, err, sizeof(err)));
  assert_contains(err, "max_line");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tls_with_ca),
    cmocka_unit_test(test_tls_localhost_name),
    cmocka_unit_test(test_tls_without_ca_fails),
    cmocka_unit_test(test_tls_wrong_host_fails),
    cmocka_unit_test(test_tls_wrong_ip_fails),
    cmocka_unit_test(test_tls_no_verify_is_not_verified),
    cmocka_unit_test(test_bad_ca_file),
    cmocka_unit_test(test_no_system_store),
    cmocka_unit_test(test_plain_is_not_tls),
    cmocka_unit_test(test_read_timeout),
    cmocka_unit_test(test_tls_handshake_timeout),
    cmocka_unit_test(test_long_line_rejected),
    cmocka_unit_test(test_long_line_in_chunks),
    cmocka_unit_test(test_split_reads),
    cmocka_unit_test(test_starttls_injection_refused),
    cmocka_unit_test(test_connect_refused),
    cmocka_unit_test(test_opts_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
