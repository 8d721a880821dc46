/*
 * dmarc/pool: sources ingested on worker threads come back exactly as a
 * sequential ingest would give them: the same events in the same order,
 * the same duplicate decisions against a seen store the workers never
 * touch, results in submission order; memory bounded; a failing event
 * callback stops the writing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "pool.h"
#include "buf.h"

#define NSRC 60

/* Source i: report id r<i % 45> (so 15 repeat an earlier one), i % 4 + 1
 * records; every 7th is not a report, every 11th is malformed. */
static char *source(unsigned i, size_t *len)
{
  struct buf b;
  buf_init(&b, SIZE_MAX);
  if(i % 7 == 3)
    buf_puts(&b, "just some text, not a report\n");
  else {
    buf_printf(&b,
               "<?xml version=\"1.0\"?><feedback><report_metadata>"
               "<org_name>Org %u</org_name><email>a@example.com</email>"
               "<report_id>r%u</report_id><date_range><begin>1772323200"
               "</begin><end>1772409599</end></date_range>"
               "</report_metadata><policy_published><domain>example.com"
               "</domain><p>none</p></policy_published>",
               i % 45, i % 45);
    for(unsigned k = 0; k < i % 4 + 1; k++)
      buf_printf(&b,
                 "<record><row><source_ip>192.0.2.%u</source_ip>"
                 "<count>%u</count><policy_evaluated><disposition>none"
                 "</disposition><dkim>pass</dkim><spf>pass</spf>"
                 "</policy_evaluated></row><identifiers><header_from>"
                 "example.com</header_from></identifiers><auth_results>"
                 "<spf><domain>example.com</domain><result>pass</result>"
                 "</spf></auth_results></record>",
                 k + 1, i);
    if(i % 11 != 5)
      buf_puts(&b, "</feedback>\n");
  }
  *len = b.len;
  return b.data;
}

/* A seen store: the keys emitted so far, and what was asked. */
struct seen {
  char *keys[NSRC * 2];
  unsigned n;
  pthread_t owner; /* the only thread allowed to call */
  unsigned calls;
};

static int seen_cb(void *ud, const char *key)
{
  struct seen *s = ud;
  assert_true(pthread_equal(pthread_self(), s->owner));
  s->calls++;
  for(unsigned i = 0; i < s->n; i++)
    if(!strcmp(s->keys[i], key))
      return 1;
  return 0;
}

static void emitted_cb(void *ud, const char *key)
{
  struct seen *s = ud;
  assert_true(pthread_equal(pthread_self(), s->owner));
  assert_true(s->n < NSRC * 2);
  s->keys[s->n++] = strdup(key);
}

static void seen_free(struct seen *s)
{
  for(unsigned i = 0; i < s->n; i++)
    free(s->keys[i]);
}

/* Everything written, one line per event with its source, then a line
 * per finished source. */
struct out {
  struct buf text;
  int fail_after; /* >= 0: the event callback fails from then on */
  unsigned events;
};

static int on_event(void *ud, const char *text, size_t len, int64_t time,
                    const char *source)
{
  struct out *o = ud;
  if(o->fail_after >= 0 && o->events >= (unsigned)o->fail_after)
    return -1;
  o->events++;
  buf_printf(&o->text, "%s %lld ", source ? source : "-", (long long)time);
  buf_append(&o->text, text, len);
  buf_putc(&o->text, '\n');
  return 0;
}

static void note(struct out *o, const char *name,
                 const struct dmarc_ingest_result *res)
{
  buf_printf(&o->text,
             "done %s status=%s reports=%u dups=%u events=%llu "
             "skipped=%u\n",
             name, dmarc_ingest_status_name(res->status), res->reports,
             res->duplicates, (unsigned long long)res->events,
             res->skipped_leaves);
}

static void on_done(void *ud, const char *name,
                    const struct dmarc_ingest_result *res)
{
  note(ud, name, res);
}

static void info_for(struct dmarc_source_info *info, struct seen *s, unsigned i,
                     char *extra, size_t n)
{
  memset(info, 0, sizeof(*info));
  snprintf(extra, n, "\"vendor_rua_mail\": {\"uid\": %u}", i);
  info->extra_json = extra;
  info->seen = seen_cb;
  info->emitted = emitted_cb;
  info->ud = s;
}

static void sequential(struct out *o)
{
  struct dmarc_ingest_opts opts;
  struct dmarc_ingest *in;
  struct seen s;
  char err[256];

  memset(&s, 0, sizeof(s));
  s.owner = pthread_self();
  dmarc_ingest_opts_default(&opts);
  in = dmarc_ingest_new(&opts, err, sizeof(err));
  assert_non_null(in);
  for(unsigned i = 0; i < NSRC; i++) {
    struct dmarc_source_info info;
    struct dmarc_ingest_result res;
    char name[32], extra[64];
    size_t len;
    char *data = source(i, &len);
    snprintf(name, sizeof(name), "src%u", i);
    info_for(&info, &s, i, extra, sizeof(extra));
    dmarc_ingest_mem(in, data, len, name, &info, on_event, o, &res);
    note(o, name, &res);
    free(data);
  }
  dmarc_ingest_free(in);
  seen_free(&s);
}

static void pooled(struct out *o, unsigned workers, size_t max_held,
                   struct seen *s)
{
  struct dmarc_ingest_opts opts;
  struct dmarc_pool_opts po = { 0 };
  struct dmarc_pool *p;
  char err[256];
  int failed = 0;

  memset(s, 0, sizeof(*s));
  s->owner = pthread_self();
  dmarc_ingest_opts_default(&opts);
  po.workers = workers;
  po.max_held = max_held;
  p = dmarc_pool_new(&opts, &po, on_event, o, err, sizeof(err));
  assert_non_null(p);
  for(unsigned i = 0; i < NSRC; i++) {
    struct dmarc_source_info info;
    char name[32], extra[64];
    size_t len;
    char *data = source(i, &len);
    snprintf(name, sizeof(name), "src%u", i);
    info_for(&info, s, i, extra, sizeof(extra));
    if(dmarc_pool_submit(p, data, len, name, &info, on_done, o))
      failed = 1;
    if(i % 13 == 0 && dmarc_pool_drain(p, false))
      failed = 1;
  }
  if(dmarc_pool_drain(p, true))
    failed = 1;
  assert_int_equal(failed, o->fail_after >= 0);
  assert_int_equal(dmarc_pool_pending(p), 0);
  dmarc_pool_free(p);
}

static void same_as_sequential(unsigned workers, size_t max_held)
{
  struct out a = { .fail_after = -1 }, b = { .fail_after = -1 };
  struct seen s;

  buf_init(&a.text, SIZE_MAX);
  buf_init(&b.text, SIZE_MAX);
  sequential(&a);
  pooled(&b, workers, max_held, &s);
  assert_true(a.events > 50);
  assert_int_equal(a.events, b.events);
  assert_int_equal(a.text.len, b.text.len);
  assert_memory_equal(a.text.data, b.text.data, a.text.len);
  /* 45 distinct ids; the malformed sources (i % 11 == 5) emit nothing */
  assert_true(strstr(a.text.data, "dups=1") != NULL);
  assert_true(s.calls > 0);
  seen_free(&s);
  buf_free(&a.text);
  buf_free(&b.text);
}

static void two_workers(void **state)
{
  (void)state;
  same_as_sequential(2, 0);
}

static void one_worker(void **state)
{
  (void)state;
  same_as_sequential(1, 0);
}

static void many_workers_tiny_memory(void **state)
{
  /* 4 KB: most sources are alone in flight; one always fits */
  (void)state;
  same_as_sequential(4, 4096);
}

/* The event callback fails after 5 events: nothing more is written, the
 * sources after it finish as transient, submit and drain report it. */
static void write_failure(void **state)
{
  struct out o = { .fail_after = 5 };
  struct seen s;

  (void)state;
  buf_init(&o.text, SIZE_MAX);
  pooled(&o, 2, 0, &s);
  assert_int_equal(o.events, 5);
  assert_non_null(strstr(o.text.data, "status=transient"));
  seen_free(&s);
  buf_free(&o.text);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(two_workers),
    cmocka_unit_test(one_worker),
    cmocka_unit_test(many_workers_tiny_memory),
    cmocka_unit_test(write_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
