#include "base64.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 0..63 alphabet, 64 '=', 65 blank, 66 junk */
static unsigned char cls[256];
/* For the fast path: an alphabet character's six bits already at their
 * place in a quantum's 24 bits (first character of four in q0, ...), any
 * other character Q_BAD, so one OR of four lookups both decodes a quantum
 * and says whether all four were in the alphabet. */
#define Q_BAD 0x80000000u
static uint32_t q0[256], q1[256], q2[256], q3[256];

static void init_cls(void)
{
  static const char a[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  memset(cls, 66, sizeof(cls));
  for(int i = 0; i < 64; i++)
    cls[(unsigned char)a[i]] = (unsigned char)i;
  cls['-'] = 62;
  cls['_'] = 63;
  cls['='] = 64;
  cls[' '] = cls['\t'] = cls['\r'] = cls['\n'] = 65;
  for(int c = 0; c < 256; c++) {
    uint32_t v = cls[c];
    bool ok = v < 64;
    q0[c] = ok ? v << 18 : Q_BAD;
    q1[c] = ok ? v << 12 : Q_BAD;
    q2[c] = ok ? v << 6 : Q_BAD;
    q3[c] = ok ? v : Q_BAD;
  }
}

void base64_init(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_cls);
}

static inline uint32_t quantum(const unsigned char *p)
{
  return q0[p[0]] | q1[p[1]] | q2[p[2]] | q3[p[3]];
}

static inline void put3(unsigned char *d, uint32_t v)
{
  d[0] = (unsigned char)(v >> 16);
  d[1] = (unsigned char)(v >> 8);
  d[2] = (unsigned char)v;
}

/* The bytes of a quantum cut short (by padding or the end of the input):
 * two or three characters give one or two bytes; a single one gives none
 * and is damage.  Returns how many bytes were written to d. */
static size_t put_partial(unsigned char *d, uint32_t acc, unsigned nq,
                          unsigned *flags)
{
  if(nq == 2) {
    d[0] = (unsigned char)(acc >> 4);
    return 1;
  }
  if(nq == 3) {
    d[0] = (unsigned char)(acc >> 10);
    d[1] = (unsigned char)(acc >> 2);
    return 2;
  }
  if(nq == 1)
    *flags |= BASE64_DAMAGED;
  return 0;
}

void base64_stream_init(struct base64_stream *s, const char *in, size_t len)
{
  base64_init();
  memset(s, 0, sizeof(*s));
  s->in = (const unsigned char *)in;
  s->len = len;
}

size_t base64_stream_next(struct base64_stream *s, unsigned char *d, size_t cap)
{
  const unsigned char *p = s->in;
  size_t len = s->len, i = s->i, o = 0;
  uint32_t acc = s->acc;
  unsigned nq = s->nq;

  if(s->done)
    return 0;
  while(i < len) {
    /* fast path: whole quanta of alphabet characters, two at a time
     * (a 76-character line is 19 of them) */
    if(nq == 0) {
      while(i + 8 <= len && o + 6 <= cap) {
        uint32_t v = quantum(p + i), w = quantum(p + i + 4);
        if((v | w) & Q_BAD)
          break;
        put3(d + o, v);
        put3(d + o + 3, w);
        o += 6;
        i += 8;
      }
      if(i >= len)
        break;
      if(i + 4 <= len && o + 3 <= cap) {
        uint32_t v = quantum(p + i);
        if(!(v & Q_BAD)) {
          put3(d + o, v);
          o += 3;
          i += 4;
          continue;
        }
      }
    }
    unsigned v = cls[p[i]];
    if(v == 65) {
      i++;
      continue;
    }
    if(v == 66) {
      s->flags |= BASE64_DAMAGED;
      i++;
      continue;
    }
    if(o + 3 > cap)
      break; /* full: this character is the next call's */
    i++;
    if(v == 64) { /* padding ends a quantum */
      o += put_partial(d + o, acc, nq, &s->flags);
      acc = nq = 0;
      continue;
    }
    acc = (acc << 6) | v;
    if(++nq == 4) {
      d[o++] = (unsigned char)(acc >> 16);
      d[o++] = (unsigned char)(acc >> 8);
      d[o++] = (unsigned char)acc;
      acc = nq = 0;
    }
  }
  /* the input is used up: what is left of a last quantum, when it fits */
  if(i >= len && o + 3 <= cap) {
    o += put_partial(d + o, acc, nq, &s->flags);
    acc = nq = 0;
    s->done = true;
  }
  s->i = i;
  s->acc = acc;
  s->nq = nq;
  return o;
}

int base64_decode(const char *in, size_t len, struct buf *out, unsigned *flags)
{
  struct base64_stream st;
  size_t want = len / 4 * 3 + 3; /* room for all of it */
  size_t room = out->max - out->len, n;

  base64_stream_init(&st, in, len);
  /* Nearly always: everything decoded straight into the buffer at once. */
  if(want > room)
    want = room;
  if(want >= 6) {
    if(buf_reserve(out, want) < 0)
      return -1;
    n = base64_stream_next(&st, (unsigned char *)out->data + out->len, want);
    out->len += n;
    out->data[out->len] = '\0';
  }
  /* Near max, a few bytes at a time, so the buffer still ends with the
   * longest prefix that fits. */
  while(!st.done) {
    unsigned char tail[6];
    n = base64_stream_next(&st, tail, sizeof(tail));
    room = out->max - out->len;
    if(n > room) {
      if(room && buf_append(out, tail, room) < 0)
        return -1;
      *flags |= st.flags | BASE64_TRUNCATED;
      return 0;
    }
    if(n && buf_append(out, tail, n) < 0)
      return -1;
  }
  *flags |= st.flags;
  return 0;
}

int base64_encode(struct buf *out, const void *p, size_t n)
{
  static const char a[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *s = p;
  size_t olen;
  char *d;

  if(n > ((size_t)-1 - 2) / 4 * 3)
    return -1;
  olen = (n + 2) / 3 * 4;
  if(buf_reserve(out, olen) < 0)
    return -1;
  d = out->data + out->len;
  for(; n >= 3; n -= 3, s += 3) {
    uint32_t v = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
    *d++ = a[v >> 18];
    *d++ = a[(v >> 12) & 63];
    *d++ = a[(v >> 6) & 63];
    *d++ = a[v & 63];
  }
  if(n) {
    uint32_t v = (uint32_t)s[0] << 16 | (n > 1 ? (uint32_t)s[1] << 8 : 0);
    *d++ = a[v >> 18];
    *d++ = a[(v >> 12) & 63];
    *d++ = n > 1 ? a[(v >> 6) & 63] : '=';
    *d++ = '=';
  }
  out->len += olen;
  out->data[out->len] = '\0';
  return 0;
}
