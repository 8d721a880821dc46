/*
 * fuzz_archive: the gzip/zip walker (common/dmarc/archive/archive.h) over
 * memory, with small limits so bombs are cut early, and a handler that reads
 * every byte it is given and checks the promises archive.h makes about the
 * order of the calls, the depth and the byte budget.
 *
 * What the handler does with a leaf (take it, skip it, skip its rest, stop
 * the walk) is decided by a hash of the leaf's name, so the run depends on
 * the input alone and every handler answer is exercised.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "fuzz_common.h"

#define FUZZ_MAX_BYTES   (8u << 20)
#define FUZZ_MAX_MEMBERS 20
#define FUZZ_MAX_DEPTH   3

enum action {
  TAKE,
  SKIP_AT_BEGIN,
  STOP_AT_BEGIN,
  SKIP_AFTER_FIRST,
  STOP_AFTER_FIRST
};

struct walk {
  int in_leaf;
  enum action action;
  unsigned chunks;
  uint64_t bytes;  /* every byte handed out, all leaves */
  int stopped;     /* the handler asked the walk to stop */
  int failed_leaf; /* a leaf ended with status -1 */
  uint32_t hash;
};

static enum action pick(const char *name)
{
  switch(fuzz_touch(name, strlen(name)) % 16) {
  case 0: return SKIP_AT_BEGIN;
  case 1: return STOP_AT_BEGIN;
  case 2: return SKIP_AFTER_FIRST;
  case 3: return STOP_AFTER_FIRST;
  default: return TAKE;
  }
}

static int on_begin(void *ud, const char *name, unsigned depth)
{
  struct walk *w = ud;

  FUZZ_CHECK(!w->in_leaf && !w->stopped);
  FUZZ_CHECK(name != NULL);
  FUZZ_CHECK(depth <= FUZZ_MAX_DEPTH);
  w->action = pick(name);
  w->chunks = 0;
  if(w->action == STOP_AT_BEGIN) {
    w->stopped = 1;
    return -1;
  }
  w->in_leaf = 1;
  return w->action == SKIP_AT_BEGIN ? 1 : 0;
}

static int on_data(void *ud, const void *buf, size_t len)
{
  struct walk *w = ud;

  FUZZ_CHECK(w->in_leaf && w->action != SKIP_AT_BEGIN);
  FUZZ_CHECK(len > 0 && buf != NULL);
  w->hash ^= fuzz_touch(buf, len);
  w->bytes += len;
  /* The budget counts every layer's output, so the leaves alone stay
   * within it. */
  FUZZ_CHECK(w->bytes <= FUZZ_MAX_BYTES);
  if(w->chunks++ == 0) {
    if(w->action == SKIP_AFTER_FIRST)
      return 1;
    if(w->action == STOP_AFTER_FIRST) {
      w->stopped = 1;
      return -1;
    }
  }
  return 0;
}

static void on_end(void *ud, int status)
{
  struct walk *w = ud;

  FUZZ_CHECK(w->in_leaf);
  FUZZ_CHECK(status >= -1 && status <= 1);
  if(w->action == SKIP_AT_BEGIN || w->stopped)
    FUZZ_CHECK(status == 1);
  if(status == -1)
    w->failed_leaf = 1;
  w->in_leaf = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const struct archive_handler h = { on_begin, on_data, on_end };
  const struct archive_limits lim = { FUZZ_MAX_BYTES, FUZZ_MAX_MEMBERS,
                                      FUZZ_MAX_DEPTH };
  struct archive_error err;
  struct walk w;
  int rc;

  memset(&w, 0, sizeof(w));
  memset(&err, 0, sizeof(err));
  rc = archive_walk_mem(data, size, "fuzz.xml.GZ", &lim, &h, &w, &err);
  FUZZ_CHECK(!w.in_leaf); /* every leaf was ended */
  FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2);
  FUZZ_CHECK((rc == -2) == w.stopped); /* -2 exactly when we stopped */
  if(rc == -1)
    FUZZ_CHECK(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof(err.msg)));
  if(w.failed_leaf)
    FUZZ_CHECK(rc == -1);
  return 0;
}
