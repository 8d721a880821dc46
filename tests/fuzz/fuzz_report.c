/*
 * fuzz_report: the DMARC report parser (common/dmarc/report/report.h) end to
 * end, from bytes fed in chunks to the events dmarc_report_emit renders.
 *
 * Input layout (so one corpus drives every mode):
 *   byte 0  bit 0: format (0 JSON, 1 KV)
 *           bit 1: pass an XSD annotation to emit (else "validation off")
 *           bit 2: give emit a resolver (exercises the ip_resolution insert)
 *           bits 3-7: largest chunk, 1 << (n % 14) bytes
 *   byte 1  seed of the chunk sizes
 *   rest    the document
 * Inputs shorter than two bytes are ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "spool.h"
#include "fuzz_common.h"

struct sink {
  uint32_t hash;
  uint64_t events;
  const char *source;
};

static int discard_event(void *ud, const char *text, size_t len, int64_t time,
                         const char *source)
{
  struct sink *s = ud;

  FUZZ_CHECK(text != NULL && len > 0);
  FUZZ_CHECK(time >= -1);
  /* The event names the document it came from. */
  FUZZ_CHECK(source != NULL && strcmp(source, s->source) == 0);
  s->hash ^= fuzz_touch(text, len);
  s->events++;
  return 0;
}

static void count_ip(void *ud, const char *ip)
{
  uint32_t *h = ud;

  *h ^= fuzz_touch(ip, strlen(ip));
}

/* A name for some addresses and none for others, decided by the address
 * itself so the run is repeatable. */
static const char *fake_resolve(void *ud, const char *ip)
{
  (void)ud;
  FUZZ_CHECK(ip != NULL && *ip);
  return (fuzz_touch(ip, strlen(ip)) & 1) ? "Mail-\"1\".Example.NET" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const names[] = { "rua_a.xsd", "rua_b.xsd" };
  static const int pass[] = { 1, 0 };
  static const char *const info[] = { "", "Element 'x': \"bad\"\n, line 1" };
  const struct dmarc_xsd_annotation ann = { 2, names, pass, info };
  const char *source = "fuzz!example.com!1!2.xml";
  struct dmarc_limits lim;
  struct fuzz_chunker ch;
  struct dmarc_spool *spool;
  struct dmarc_parser *p;
  struct dmarc_report *r;
  enum dmarc_verdict v = DMARC_OK;
  struct sink sink = { 0, 0, source };
  uint32_t ips = 0;
  uint8_t mode;

  if(size < 2)
    return 0;
  mode = data[0];
  fuzz_chunker_init(&ch, data[1], (uint8_t)(mode >> 3));
  data += 2;
  size -= 2;

  dmarc_limits_default(&lim);
  spool = dmarc_spool_new();
  if(!spool)
    return 0;
  p = dmarc_parser_new(&lim, (mode & 1) ? DMARC_FORMAT_KV : DMARC_FORMAT_JSON,
                       spool, source);
  if(!p) {
    dmarc_spool_free(spool);
    return 0;
  }
  for(size_t off = 0; off < size && v == DMARC_OK;) {
    size_t n = fuzz_chunker_next(&ch, size - off);

    v = dmarc_parser_feed(p, data + off, n);
    dmarc_parser_drain_ips(p, count_ip, &ips);
    off += n;
  }
  if(v == DMARC_OK)
    v = dmarc_parser_finish(p);
  FUZZ_CHECK(v >= DMARC_OK && v <= DMARC_NOMEM);
  /* A stopped parse says why; a good one has nothing to say. */
  FUZZ_CHECK((v == DMARC_OK) == (dmarc_parser_reason(p)[0] == '\0'));
  dmarc_parser_drain_ips(p, count_ip, &ips);

  r = dmarc_parser_done(p);
  FUZZ_CHECK(v == DMARC_OK || r == NULL);
  if(r) {
    int64_t n;

    FUZZ_CHECK(strcmp(dmarc_report_source(r), source) == 0);
    (void)fuzz_touch(dmarc_report_org(r), strlen(dmarc_report_org(r)));
    (void)fuzz_touch(dmarc_report_id(r), strlen(dmarc_report_id(r)));
    (void)fuzz_touch(dmarc_report_key(r), strlen(dmarc_report_key(r)));
    n = dmarc_report_emit(r, spool, (mode & 2) ? &ann : NULL,
                          (mode & 8) ? "\"vendor_rua_mail\": {}" : NULL,
                          (mode & 4) ? fake_resolve : NULL, NULL, discard_event,
                          &sink);
    /* One event per record, every time. */
    FUZZ_CHECK(n >= 0 && (uint64_t)n == dmarc_report_records(r));
    FUZZ_CHECK((uint64_t)n == sink.events);
    dmarc_report_free(r);
  }
  dmarc_spool_free(spool);
  return 0;
}
