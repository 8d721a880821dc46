#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
  b->data = NULL;
  b->len = b->cap = 0;
  b->max = max;
}

void buf_free(struct buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
  b->len = 0;
  if(b->data)
    b->data[0] = '\0';
}

int buf_reserve(struct buf *b, size_t n)
{
  size_t need, cap;
  char *p;

  if(n > b->max || b->len > b->max - n)
    return -1;
  need = b->len + n + 1;
  if(need <= b->cap)
    return 0;
  cap = b->cap ? b->cap : 64;
  while(cap < need)
    cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
  p = realloc(b->data, cap);
  if(!p)
    return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int buf_append_slow(struct buf *b, const void *p, size_t n)
{
  if(buf_reserve(b, n))
    return -1;
  if(n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int buf_puts(struct buf *b, const char *s)
{
  return buf_append(b, s, strlen(s));
}
int buf_putc(struct buf *b, char c)
{
  return buf_append(b, &c, 1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if(n < 0 || buf_reserve(b, (size_t)n))
    return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

char *buf_steal(struct buf *b)
{
  char *p = b->data;

  if(!p)
    p = calloc(1, 1);
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
