/*
 * fuzz_ingest: one source end to end (common/dmarc/ingest/ingest.h): archive
 * layers, the report parser and XSD validation in the same pass, and the
 * events, with DNS off as when no resolver is configured.
 *
 * The input is the source as it would arrive (a .xml, .gz or .zip file), so
 * the corpus is plain files.  The output format follows the input's length
 * (even JSON, odd KV): the mutator changes lengths all the time, so both
 * renderers are reached without a header byte that would hide the archive
 * magic from the start of the input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "fuzz_common.h"

static struct dmarc_ingest *ingest[2]; /* JSON, KV */

struct sink {
  uint64_t events;
  uint32_t hash;
};

static int discard_event(void *ud, const char *text, size_t len, int64_t time,
                         const char *source)
{
  struct sink *s = ud;

  FUZZ_CHECK(text != NULL && len > 0 && source != NULL);
  FUZZ_CHECK(time >= -1);
  s->hash ^= fuzz_touch(text, len) ^ fuzz_touch(source, strlen(source));
  s->events++;
  return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  struct dmarc_ingest_opts o;
  char err[256];

  (void)argc;
  (void)argv;
  /* One ingest per format for the whole run, as the add-on keeps one per
   * process: state left over from a source would be a bug too. */
  for(int i = 0; i < 2; i++) {
    dmarc_ingest_opts_default(&o);
    o.fmt = i ? DMARC_FORMAT_KV : DMARC_FORMAT_JSON;
    o.validate_xml = 1;
    o.resolve_ip = 0;
    o.alim.max_bytes = 8u << 20;
    o.alim.max_members = 20;
    o.alim.max_depth = 3;
    ingest[i] = dmarc_ingest_new(&o, err, sizeof(err));
    if(!ingest[i]) {
      fprintf(stderr, "fuzz_ingest: dmarc_ingest_new: %s\n", err);
      abort();
    }
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct dmarc_ingest_result res;
  struct sink sink = { 0, 0 };
  enum dmarc_ingest_status st;

  st = dmarc_ingest_mem(ingest[size & 1], data, size,
                        "fuzz!example.com!1!2.xml.gz", NULL, discard_event,
                        &sink, &res);
  FUZZ_CHECK(st == res.status);
  /* Memory in, a sink that never fails: nothing is worth a retry. */
  FUZZ_CHECK(st == INGEST_OK || st == INGEST_NOT_REPORT ||
             st == INGEST_REJECTED);
  FUZZ_CHECK(memchr(res.reason, '\0', sizeof(res.reason)) != NULL);
  if(st == INGEST_OK) {
    FUZZ_CHECK(res.reports > 0);
    FUZZ_CHECK(res.events == sink.events);
    FUZZ_CHECK((res.skipped_leaves == 0) == (res.reason[0] == '\0'));
  }
  else {
    /* A source rejected or not a report emits nothing, and says why. */
    FUZZ_CHECK(res.reports == 0 && sink.events == 0);
    FUZZ_CHECK(res.reason[0] != '\0');
  }
  return 0;
}
