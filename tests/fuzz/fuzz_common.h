/*
 * fuzz_common: what the libFuzzer harnesses share.
 *
 * Harnesses must be deterministic (libFuzzer replays inputs and minimises
 * crashes), so nothing here depends on time, addresses or global state that
 * survives from one input to the next: the chunk sizes come from a tiny
 * generator seeded from the input's own header bytes.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The libFuzzer entry point; declared here so -Wmissing-prototypes holds. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Splits a buffer into chunks of pseudo-random sizes in [1, max], so that
 * every boundary a streaming parser can meet (inside a tag, a multi-byte
 * character, a BOM, a gzip header) is eventually tried. */
struct fuzz_chunker {
  uint32_t state;
  size_t max;
};

/* max_log2 picks the largest chunk: 1 << (max_log2 % 14), 1 .. 8192 bytes. */
static inline void fuzz_chunker_init(struct fuzz_chunker *c, uint8_t seed,
                                     uint8_t max_log2)
{
  c->state = 0x9e3779b9u ^ seed;
  c->max = (size_t)1 << (max_log2 % 14);
}

static inline size_t fuzz_chunker_next(struct fuzz_chunker *c, size_t left)
{
  size_t n;

  /* xorshift32: cheap, and the same sequence for the same seed. */
  c->state ^= c->state << 13;
  c->state ^= c->state >> 17;
  c->state ^= c->state << 5;
  n = 1 + c->state % c->max;
  return n < left ? n : left;
}

/* Reads every byte of a buffer the code under test handed out, so ASan
 * checks the whole range, and returns a value the caller can keep alive. */
static inline uint32_t fuzz_touch(const void *buf, size_t len)
{
  const unsigned char *p = buf;
  uint32_t h = 2166136261u;

  for(size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

/* True when s[0..len) is valid UTF-8 (no overlong forms, surrogates or
 * truncated sequences): what the headers call "UTF-8" must pass this. */
static inline bool fuzz_utf8_ok(const char *s, size_t len)
{
  for(size_t i = 0, used; i < len; i += used)
    if(util_utf8_decode((const unsigned char *)s + i, len - i, &used) < 0)
      return false;
  return true;
}

/* Stop at once, with a message, when the code under test broke a promise
 * its header makes: libFuzzer records the input like any other crash. */
#define FUZZ_CHECK(cond)                                                  \
  do {                                                                    \
    if(!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, \
              #cond);                                                     \
      abort();                                                            \
    }                                                                     \
  } while(0)

#endif
