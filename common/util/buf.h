/*
 * buf: a growable byte buffer with a ceiling fixed when it is created.
 *
 * Every buffer that holds bytes from outside has a maximum, so a hostile
 * peer can make an append fail but never make us allocate without bound.
 * The data is always NUL-terminated (the NUL is not counted in len).
 */
#ifndef UTIL_BUF_H
#define UTIL_BUF_H

#include <stddef.h>

struct buf {
  char *data; /* NULL until the first append */
  size_t len;
  size_t cap;
  size_t max; /* appends that would make len exceed max fail */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Keep the allocation, forget the contents. */
void buf_reset(struct buf *b);

/* Append n bytes.  Returns 0, or -1 (buffer unchanged) when len + n would
 * exceed max or memory runs out.  Inline for the common case of room
 * already being there: event rendering appends many small pieces. */
int buf_append_slow(struct buf *b, const void *p, size_t n);

static inline int buf_append(struct buf *b, const void *p, size_t n)
{
  if(b->data && n < b->cap - b->len && b->len + n <= b->max) {
    if(n) {
      __builtin_memcpy(b->data + b->len, p, n);
      b->len += n;
    }
    b->data[b->len] = '\0';
    return 0;
  }
  return buf_append_slow(b, p, n);
}
/* Make room for n more bytes (plus the NUL) without changing len, so a
 * caller can write into data + len directly.  Returns 0 or -1. */
int buf_reserve(struct buf *b, size_t n);

int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Give up ownership of the data (NUL-terminated, never NULL on success);
 * the buffer is left empty.  Returns NULL only when out of memory. */
char *buf_steal(struct buf *b);

#endif
