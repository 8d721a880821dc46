/*
 * Unit tests for common/dmarc/dns against real servers on loopback (run.sh
 * starts them): dnsmasq with the records in records.conf (DNS_PORT), a
 * blackhole that never answers (BLACKHOLE_PORT), a server that answers NXDOMAIN
 * after 200 ms (SLOW_PORT) and, when the host has ::1, an instant one there
 * (V6_PORT).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "dns_stats.h"
#include "util.h"

#define SLOW_DELAY_MS 200
#define BULK          200

static char server_buf[64];

/* "127.0.0.1:PORT" (or "[::1]:PORT") from the environment variable var;
 * NULL when it is not set. */
static const char *server_from_env(const char *var, const char *host)
{
  const char *port = getenv(var);

  if(port == NULL || *port == '\0')
    return NULL;
  snprintf(server_buf, sizeof(server_buf), "%s:%s", host, port);
  return server_buf;
}

static struct dns_resolver *resolver_for(const char *var, int timeout_ms)
{
  char err[256] = "";
  const char *server = server_from_env(var, "127.0.0.1");
  struct dns_resolver *r;

  if(server == NULL)
    fail_msg("%s is not set (run the tests through run.sh)", var);
  r = dns_resolver_new(server, timeout_ms, err, sizeof(err));
  if(r == NULL)
    fail_msg("dns_resolver_new(%s): %s", server, err);
  return r;
}

static struct dns_stats stats(const struct dns_resolver *r)
{
  struct dns_stats st;

  dns_get_stats(r, &st);
  return st;
}

/* Submit ip, wait up to 5 s, return the answer. */
static const char *resolve(struct dns_resolver *r, const char *ip)
{
  dns_submit(r, ip);
  dns_wait(r, util_now_ms() + 5000);
  return dns_lookup(r, ip);
}

static void assert_name(const char *got, const char *want)
{
  if(got == NULL)
    fail_msg("expected %s, got not resolved", want);
  assert_string_equal(got, want);
}

/* --- server strings ---------------------------------------------------- */

static void test_server_strings(void **state)
{
  static const char *const good[] = {
    "127.0.0.1",    "127.0.0.1:5353",    "::1", "[::1]", "[::1]:5353",
    "2001:db8::53", "[2001:db8::53]:53",
  };
  static const char *const bad[] = {
    "",
    "localhost",
    "127.0.0.1:",
    "127.0.0.1:0",
    "127.0.0.1:65536",
    "127.0.0.1:53x",
    "[::1",
    "[::1]x",
    "[::1]:",
    "[127.0.0.1]:53x",
    "[]:53",
    "1.2.3:53",
    "::1:53:",
  };
  char err[256];

  (void)state;
  for(size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    struct dns_resolver *r;
    err[0] = '\0';
    r = dns_resolver_new(good[i], 0, err, sizeof(err));
    if(r == NULL)
      fail_msg("'%s' refused: %s", good[i], err);
    dns_resolver_free(r);
  }
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    if(dns_resolver_new(bad[i], 0, err, sizeof(err)) != NULL)
      fail_msg("'%s' accepted", bad[i]);
    /* The message names the input. */
    assert_non_null(strstr(err, "DNS server '"));
  }
  assert_null(dns_resolver_new("127.0.0.1", -1, err, sizeof(err)));
  assert_non_null(strstr(err, "-1"));
}

/* --- answers ----------------------------------------------------------- */

static void test_confirmed_ipv4(void **state)
{
  struct dns_resolver *r = resolver_for("DNS_PORT", 1000);

  (void)state;
  assert_name(resolve(r, "192.0.2.1"), "good.test");
  /* IPv4-mapped IPv6 is the same host and the same cache entry. */
  assert_name(dns_lookup(r, "::ffff:192.0.2.1"), "good.test");
  assert_int_equal(stats(r).ptr_queries, 1);
  assert_int_equal(stats(r).name_queries, 1);
  assert_true(stats(r).responses >= 2);
  dns_resolver_free(r);
}

static void test_ptr_not_back(void **state)
{
  struct dns_resolver *r = resolver_for("DNS_PORT", 1000);

  (void)state;
  /* liar.test exists but has another address. */
  assert_null(resolve(r, "192.0.2.2"));
  /* ghost.test does not exist at all. */
  assert_null(resolve(r, "192.0.2.3"));
  /* v4only.test has an A record equal to 192.0.2.1, but the address is
   * IPv6 and has no AAAA. */
  assert_null(resolve(r, "2001:db8::2"));
  assert_int_equal(stats(r).ptr_queries, 3);
  assert_int_equal(stats(r).name_queries, 3);
  assert_false(stats(r).dead);
  dns_resolver_free(r);
}

static void test_match_not_first_a(void **state)
{
  struct dns_resolver *r = resolver_for("DNS_PORT", 1000);

  (void)state;
  assert_name(resolve(r, "192.0.2.4"), "multi.test");
  dns_resolver_free(r);
}

static void test_ipv6_confirmed(void **state)
{
  struct dns_resolver *r = resolver_for("DNS_PORT", 1000);

  (void)state;
  /* Submitted in one spelling, looked up in others. */
  dns_submit(r, "2001:DB8:0:0:0::1");
  dns_wait(r, util_now_ms() + 5000);
  assert_name(dns_lookup(r, "2001:db8::1"), "v6.test");
  assert_name(dns_lookup(r, "2001:0db8:0000:0000:0000:0000:0000:0001"),
              "v6.test");
  assert_int_equal(stats(r).entries, 1);
  dns_resolver_free(r);
}

static void test_no_ptr(void **state)
{
  struct dns_resolver *r = resolver_for("DNS_PORT", 1000);

  (void)state;
  assert_null(resolve(r, "192.0.2.99"));
  assert_null(resolve(r, "2001:db8::99"));
  assert_int_equal(stats(r).ptr_queries, 2);
  /* No PTR name, so nothing to look up forward. */
  assert_int_equal(stats(r).name_queries, 0);
  /* NXDOMAIN is an answer: the resolver is alive. */
  assert_int_equal(stats(r).responses, 2);
  dns_resolver_free(r);
}

static void test_second_ptr_confirms(void **state)
{
  struct dns_resolver *r = resolver_for("DNS_PORT", 1000);

  (void)state;
  assert_name(resolve(r, "192.0.2.5"), "second.test");
  assert_int_equal(stats(r).name_queries, 2);
  dns_resolver_free(r);
}

static void test_invalid_ip(void **state)
{
  static const char *const bad[] = {
    "",
    "not-an-ip",
    "192.0.2.1 ",
    " 192.0.2.1",
    "999.0.2.1",
    "192.0.2",
    "192.0.2.1.5",
    "fe80::1%eth0",
    "2001:db8::1::2",
    "::gggg",
    "[2001:db8::1]",
    "0x7f.0.0.1",
    "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee",
  };
  struct dns_resolver *r = resolver_for("DNS_PORT", 1000);
  int64_t t0;

  (void)state;
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    dns_submit(r, bad[i]);
  dns_submit(r, NULL);
  t0 = util_now_ms();
  dns_wait(r, t0 + 5000);
  /* Nothing was queued, so nothing to wait for. */
  assert_true(util_now_ms() - t0 < 100);
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_null(dns_lookup(r, bad[i]));
  assert_null(dns_lookup(r, NULL));
  assert_int_equal(stats(r).ptr_queries, 0);
  assert_int_equal(stats(r).entries, 0);
  /* Never submitted: not resolved, even though it would confirm. */
  assert_null(dns_lookup(r, "192.0.2.1"));
  dns_resolver_free(r);
}

/* --- cache -------------------------------------------------------------- */

static void test_cache(void **state)
{
  struct dns_resolver *r = resolver_for("DNS_PORT", 1000);

  (void)state;
  /* Twice before it is answered, once after: one PTR query.  run.sh checks
   * dnsmasq's log agrees. */
  dns_submit(r, "192.0.2.77");
  dns_submit(r, "192.0.2.77");
  dns_wait(r, util_now_ms() + 5000);
  assert_name(dns_lookup(r, "192.0.2.77"), "cache.test");
  dns_submit(r, "192.0.2.77");
  dns_poll(r);
  dns_wait(r, util_now_ms() + 5000);
  assert_name(dns_lookup(r, "192.0.2.77"), "cache.test");
  assert_int_equal(stats(r).ptr_queries, 1);
  assert_int_equal(stats(r).entries, 1);

  /* Different spellings of one IPv6 address share one entry. */
  dns_submit(r, "2001:DB8::1");
  dns_submit(r, "2001:db8:0::1");
  dns_submit(r, "2001:0db8::0:1");
  dns_wait(r, util_now_ms() + 5000);
  assert_int_equal(stats(r).ptr_queries, 2);
  assert_int_equal(stats(r).entries, 2);
  assert_name(dns_lookup(r, "2001:db8:0::1"), "v6.test");
  dns_resolver_free(r);
}

/* --- progress without blocking ------------------------------------------ */

static void test_poll_progress(void **state)
{
  struct dns_resolver *r = resolver_for("DNS_PORT", 1000);
  int64_t start = util_now_ms();
  const char *name = NULL;

  (void)state;
  dns_submit(r, "192.0.2.1");
  dns_submit(r, "192.0.2.4");
  while(util_now_ms() - start < 5000) {
    int64_t t = util_now_ms();
    dns_poll(r);
    /* Never blocks. */
    assert_true(util_now_ms() - t < 50);
    name = dns_lookup(r, "192.0.2.4");
    if(name != NULL && dns_lookup(r, "192.0.2.1") != NULL)
      break;
    usleep(2000);
  }
  assert_name(name, "multi.test");
  assert_name(dns_lookup(r, "192.0.2.1"), "good.test");
  dns_resolver_free(r);
}

/* --- concurrency --------------------------------------------------------- */

static void test_bulk_confirmed(void **state)
{
  struct dns_resolver *r = resolver_for("DNS_PORT", 2000);
  char ip[32], want[32];

  (void)state;
  /* The same formula as run.sh's bulk records. */
  for(int i = 1; i <= BULK; i++) {
    snprintf(ip, sizeof(ip), "10.77.%d.%d", i / 100, i % 100);
    dns_submit(r, ip);
  }
  dns_wait(r, util_now_ms() + 10000);
  for(int i = 1; i <= BULK; i++) {
    snprintf(ip, sizeof(ip), "10.77.%d.%d", i / 100, i % 100);
    snprintf(want, sizeof(want), "bulk%d.test", i);
    assert_name(dns_lookup(r, ip), want);
  }
  assert_int_equal(stats(r).ptr_queries, BULK);
  assert_true(stats(r).inflight_max >= 32);
  assert_true(stats(r).inflight_max <= DNS_MAX_INFLIGHT);
  dns_resolver_free(r);
}

static void test_parallel_slow_server(void **state)
{
  struct dns_resolver *r = resolver_for("SLOW_PORT", 2000);
  char ip[32];
  int64_t t0, elapsed;

  (void)state;
  t0 = util_now_ms();
  for(int i = 0; i < BULK; i++) {
    snprintf(ip, sizeof(ip), "198.18.%d.%d", i / 100, i % 100);
    dns_submit(r, ip);
  }
  dns_wait(r, t0 + 15000);
  elapsed = util_now_ms() - t0;
  /* One after another this is BULK x 200 ms = 40 s; DNS_MAX_INFLIGHT side
   * by side it is ceil(200 / 64) = 4 rounds of 200 ms. */
  print_message("200 addresses at %d ms each answered in %lld ms\n",
                SLOW_DELAY_MS, (long long)elapsed);
  assert_true(elapsed >= 4 * SLOW_DELAY_MS - 50);
  assert_true(elapsed < 2500);
  assert_int_equal(stats(r).inflight_max, DNS_MAX_INFLIGHT);
  assert_int_equal(stats(r).responses, BULK);
  assert_false(stats(r).dead);
  assert_null(dns_lookup(r, "198.18.0.0"));
  dns_resolver_free(r);
}

/* --- unreachable resolver ----------------------------------------------- */

struct capture {
  int saved;
  char path[64];
};

static void capture_stderr(struct capture *c)
{
  int fd;

  snprintf(c->path, sizeof(c->path), "/tmp/dns-test-stderr.XXXXXX");
  fd = mkstemp(c->path);
  assert_true(fd >= 0);
  fflush(stderr);
  c->saved = dup(2);
  assert_true(c->saved >= 0);
  assert_true(dup2(fd, 2) == 2);
  close(fd);
}

/* Restore stderr; return what was written (caller frees). */
static char *release_stderr(struct capture *c)
{
  static const size_t cap = 65536;
  char *text = calloc(1, cap);
  FILE *f;
  size_t n;

  fflush(stderr);
  dup2(c->saved, 2);
  close(c->saved);
  assert_non_null(text);
  f = fopen(c->path, "r");
  assert_non_null(f);
  n = fread(text, 1, cap - 1, f);
  text[n] = '\0';
  fclose(f);
  unlink(c->path);
  fputs(text, stderr); /* still show it in the test log */
  return text;
}

static int count(const char *hay, const char *needle)
{
  int n = 0;

  for(const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

static void test_dead_resolver(void **state)
{
  /* c-ares alone would wait 2 s + 4 s: the deadline comes first. */
  struct dns_resolver *r = resolver_for("BLACKHOLE_PORT", 2000);
  struct capture cap;
  char *log, ip[32];
  int64_t t0, elapsed;

  (void)state;
  capture_stderr(&cap);
  dns_submit(r, "192.0.2.1");
  dns_submit(r, "192.0.2.4");
  dns_submit(r, "2001:db8::1");
  t0 = util_now_ms();
  dns_wait(r, t0 + 1000);
  elapsed = util_now_ms() - t0;
  assert_true(elapsed >= 1000);
  assert_true(elapsed < 1500);
  assert_true(stats(r).dead);
  assert_int_equal(stats(r).responses, 0);
  assert_null(dns_lookup(r, "192.0.2.1"));

  /* From now on every lookup is answered at once, without a query. */
  for(int i = 0; i < 50; i++) {
    snprintf(ip, sizeof(ip), "192.0.2.%d", 100 + i);
    dns_submit(r, ip);
  }
  dns_poll(r);
  t0 = util_now_ms();
  dns_wait(r, t0 + 5000);
  assert_true(util_now_ms() - t0 < 50);
  assert_null(dns_lookup(r, "192.0.2.100"));
  assert_int_equal(stats(r).ptr_queries, 3);
  dns_wait(r, util_now_ms() + 1000);
  log = release_stderr(&cap);

  /* One WARN, naming the server and the rule. */
  assert_int_equal(
      count(log, "reverse lookups are off for the rest of this run"), 1);
  assert_non_null(strstr(log, "WARN DNS: no answer from 127.0.0.1:"));
  free(log);
  dns_resolver_free(r);
}

/* With a short c-ares timeout the queries run out of tries (100 + 200 ms)
 * long before the caller's deadline; that is just as conclusive. */
static void test_dead_by_timeouts(void **state)
{
  struct dns_resolver *r = resolver_for("BLACKHOLE_PORT", 100);
  struct capture cap;
  char *log;
  int64_t t0, elapsed;

  (void)state;
  capture_stderr(&cap);
  dns_submit(r, "192.0.2.1");
  t0 = util_now_ms();
  dns_wait(r, t0 + 5000);
  elapsed = util_now_ms() - t0;
  log = release_stderr(&cap);
  print_message("gave up after %lld ms\n", (long long)elapsed);
  assert_true(elapsed >= 250);
  assert_true(elapsed < 1500);
  assert_true(stats(r).dead);
  assert_int_equal(count(log, "reverse lookups are off"), 1);
  free(log);
  dns_submit(r, "192.0.2.4");
  assert_int_equal(stats(r).ptr_queries, 1);
  dns_resolver_free(r);
}

/* Nothing listens on the port: the kernel refuses at once (ICMP port
 * unreachable), which is no answer either. */
static void test_dead_refused(void **state)
{
  struct sockaddr_in sin;
  socklen_t len = sizeof(sin);
  char server[64], err[256];
  struct dns_resolver *r;
  struct capture cap;
  char *log;
  int fd;
  int64_t t0;

  (void)state;
  /* A port that was free a moment ago and is closed now. */
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(fd >= 0);
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
  close(fd);
  snprintf(server, sizeof(server), "127.0.0.1:%u", ntohs(sin.sin_port));
  r = dns_resolver_new(server, 2000, err, sizeof(err));
  assert_non_null(r);

  capture_stderr(&cap);
  dns_submit(r, "192.0.2.1");
  t0 = util_now_ms();
  dns_wait(r, t0 + 5000);
  log = release_stderr(&cap);
  assert_true(util_now_ms() - t0 < 1000);
  assert_true(stats(r).dead);
  assert_int_equal(count(log, "reverse lookups are off"), 1);
  free(log);
  dns_resolver_free(r);
}

/* A deadline that is over before the resolver had a fair chance gives up
 * on the addresses but does not condemn the resolver; once a server has
 * answered, later deadlines never do. */
static void test_short_deadline_not_dead(void **state)
{
  struct dns_resolver *r = resolver_for("SLOW_PORT", 2000);
  int64_t t0;

  (void)state;
  dns_submit(r, "198.18.5.1");
  dns_wait(r, util_now_ms() + 20);
  assert_false(stats(r).dead);
  assert_null(dns_lookup(r, "198.18.5.1"));

  dns_submit(r, "198.18.5.2");
  dns_wait(r, util_now_ms() + 3000);
  assert_true(stats(r).responses >= 1);

  dns_submit(r, "198.18.5.3");
  t0 = util_now_ms();
  dns_wait(r, t0 + 50);
  assert_true(util_now_ms() - t0 < 150);
  assert_false(stats(r).dead);
  /* Still working. */
  dns_submit(r, "198.18.5.4");
  dns_wait(r, util_now_ms() + 3000);
  assert_int_equal(stats(r).ptr_queries, 4);
  assert_false(stats(r).dead);
  dns_resolver_free(r);
}

/* Freeing with queries still out must release everything (ASan). */
static void test_free_in_flight(void **state)
{
  struct dns_resolver *r = resolver_for("BLACKHOLE_PORT", 2000);
  char ip[32];

  (void)state;
  for(int i = 0; i < 100; i++) {
    snprintf(ip, sizeof(ip), "2001:db8::%x", i + 1);
    dns_submit(r, ip);
  }
  dns_poll(r);
  assert_int_equal(stats(r).ptr_queries, DNS_MAX_INFLIGHT);
  assert_null(dns_lookup(r, "2001:db8::1"));
  dns_resolver_free(r);
}

/* --- "[IPv6]:PORT" server ------------------------------------------------ */

static void test_ipv6_server(void **state)
{
  char err[256];
  const char *server = server_from_env("V6_PORT", "[::1]");
  struct dns_resolver *r;

  (void)state;
  if(server == NULL) {
    print_message("no ::1 on this host; skipped\n");
    skip();
  }
  r = dns_resolver_new(server, 1000, err, sizeof(err));
  if(r == NULL)
    fail_msg("%s: %s", server, err);
  assert_null(resolve(r, "192.0.2.1"));
  /* The NXDOMAIN came from the server on [::1]. */
  assert_int_equal(stats(r).responses, 1);
  assert_false(stats(r).dead);
  dns_resolver_free(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_server_strings),
    cmocka_unit_test(test_confirmed_ipv4),
    cmocka_unit_test(test_ptr_not_back),
    cmocka_unit_test(test_match_not_first_a),
    cmocka_unit_test(test_ipv6_confirmed),
    cmocka_unit_test(test_no_ptr),
    cmocka_unit_test(test_second_ptr_confirms),
    cmocka_unit_test(test_invalid_ip),
    cmocka_unit_test(test_cache),
    cmocka_unit_test(test_poll_progress),
    cmocka_unit_test(test_bulk_confirmed),
    cmocka_unit_test(test_parallel_slow_server),
    cmocka_unit_test(test_dead_resolver),
    cmocka_unit_test(test_dead_by_timeouts),
    cmocka_unit_test(test_dead_refused),
    cmocka_unit_test(test_short_deadline_not_dead),
    cmocka_unit_test(test_free_in_flight),
    cmocka_unit_test(test_ipv6_server),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
