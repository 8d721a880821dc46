/*
 * xsd memory bound: a generated RFC 7489 report of XSD_BIG_MB megabytes
 * (default 50) is validated while it is being generated, 64 KiB at a time,
 * and the peak RSS of the process may grow by less than 24 MiB.  A separate
 * executable so that no other test has raised the peak before we measure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "xsd.h"

#ifdef __SANITIZE_ADDRESS__
/* ASan keeps freed blocks in a quarantine (256 MB by default) instead of
 * reusing them, which would measure ASan, not us.  A small quarantine still
 * catches use-after-free of recent blocks. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
  return "quarantine_size_mb=1";
}
#endif

#define CHUNK         (64 * 1024)
#define MAX_GROWTH_KB (24 * 1024)

static const char head[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<feedback>\n"
    "  <version>1.0</version>\n"
    "  <report_metadata>\n"
    "    <org_name>bulk.example</org_name>\n"
    "    <email>dmarc@bulk.example</email>\n"
    "    <report_id>bulk-1</report_id>\n"
    "    <date_range><begin>1772323200</begin><end>1772409599</end></date_range>\n"
    "  </report_metadata>\n"
    "  <policy_published>\n"
    "    <domain>example.com</domain><adkim>r</adkim><aspf>r</aspf>\n"
    "    <p>none</p><sp>none</sp><pct>100</pct><fo>0</fo>\n"
    "  </policy_published>\n";

static const char tail[] = "</feedback>\n";

static long peak_rss_kb(void)
{
  struct rusage ru;

  assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
  return ru.ru_maxrss; /* kilobytes on Linux */
}

static size_t record(char *out, size_t cap, unsigned long n)
{
  int len = snprintf(
      out, cap,
      "  <record>\n"
      "    <row>\n"
      "      <source_ip>%s%lu.%lu.%lu</source_ip>\n"
      "      <count>%lu</count>\n"
      "      <policy_evaluated>\n"
      "        <disposition>none</disposition>\n"
      "        <dkim>pass</dkim>\n"
      "        <spf>%s</spf>\n"
      "      </policy_evaluated>\n"
      "    </row>\n"
      "    <identifiers>\n"
      "      <envelope_from>mta%lu.example.net</envelope_from>\n"
      "      <header_from>example.com</header_from>\n"
      "    </identifiers>\n"
      "    <auth_results>\n"
      "      <dkim><domain>example.com</domain><selector>s%lu</selector>"
      "<result>pass</result></dkim>\n"
      "      <spf><domain>mta%lu.example.net</domain><scope>mfrom</scope>"
      "<result>%s</result></spf>\n"
      "    </auth_results>\n"
      "  </record>\n",
      "10.", (n >> 16) & 255, (n >> 8) & 255, n & 255, n % 1000 + 1,
      n % 3 ? "pass" : "fail", n % 97, n % 13, n % 97,
      n % 3 ? "pass" : "softfail");

  assert_true(len > 0 && (size_t)len < cap);
  return (size_t)len;
}

static void test_big_report_bounded_memory(void **state)
{
  struct xsd_result r[XSD_SCHEMA_COUNT];
  struct xsd_validation *v;
  const char *env = getenv("XSD_BIG_MB");
  size_t target = (size_t)(env ? strtoul(env, NULL, 10) : 50) << 20;
  size_t total = 0, used = 0;
  unsigned long n = 0;
  char *chunk = malloc(CHUNK + 2048);
  long before, after;
  struct timespec t0, t1;
  char err[256];

  (void)state;
  assert_non_null(chunk);
  assert_int_equal(xsd_init(err, sizeof(err)), 0);

  /* Warm up: libxml2's lazily built tables, the allocator's arenas. */
  v = xsd_validation_begin();
  assert_non_null(v);
  xsd_validation_feed(v, head, sizeof(head) - 1);
  used = record(chunk, CHUNK, 0);
  xsd_validation_feed(v, chunk, used);
  xsd_validation_feed(v, tail, sizeof(tail) - 1);
  xsd_validation_end(v, r);
  assert_true(r[0].pass);
  assert_true(r[2].pass);

  before = peak_rss_kb();
  clock_gettime(CLOCK_MONOTONIC, &t0);
  v = xsd_validation_begin();
  assert_non_null(v);
  xsd_validation_feed(v, head, sizeof(head) - 1);
  total = sizeof(head) - 1;
  while(total < target) {
    used = 0;
    while(used < CHUNK)
      used += record(chunk + used, 2048, n++);
    xsd_validation_feed(v, chunk, used);
    total += used;
  }
  xsd_validation_feed(v, tail, sizeof(tail) - 1);
  total += sizeof(tail) - 1;
  xsd_validation_end(v, r);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  after = peak_rss_kb();

  printf(
      "# %zu bytes, %lu records in %.2f s; peak RSS %ld -> %ld KiB\n", total, n,
      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
      before, after);
  for(unsigned i = 0; i < XSD_SCHEMA_COUNT; i++)
    printf("#   %s: %s %s\n", xsd_schema_name(i), r[i].pass ? "pass" : "fail",
           r[i].info);

  /* The relaxed and RFC 7489 schemas read every byte and accept it; the
   * draft (version) and RFC 9990 (namespace) stop at the start. */
  assert_true(r[0].pass);
  assert_false(r[1].pass);
  assert_true(r[2].pass);
  assert_false(r[3].pass);
  assert_true(after - before < MAX_GROWTH_KB);
  free(chunk);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_big_report_bounded_memory),
  };

  return cmocka_run_group_tests_name("xsd-bigdoc", tests, NULL, NULL);
}
