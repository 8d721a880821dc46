#include "b64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 0..63 alphabet, 64 '=', 65 blank, 66 junk */
static unsigned char cls[256];

static void init_cls(void)
{
  static const char a[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if(cls[0])
    return;
  memset(cls, 66, sizeof(cls));
  for(int i = 0; i < 64; i++)
    cls[(unsigned char)a[i]] = (unsigned char)i;
  cls['-'] = 62;
  cls['_'] = 63;
  cls['='] = 64;
  cls[' '] = cls['\t'] = cls['\r'] = cls['\n'] = 65;
}

int soar_b64_decode(const char *in, size_t len, size_t max,
                    struct mime_data *out)
{
  const unsigned char *p = (const unsigned char *)in;
  size_t cap = len / 4 * 3 + 3, o = 0, i = 0;
  uint32_t acc = 0;
  unsigned nq = 0;

  init_cls();
  memset(out, 0, sizeof(*out));
  if(max && cap > max + 3)
    cap = max + 3;
  unsigned char *d = malloc(cap + 1);
  if(!d)
    return -1;
  while(i < len) {
    /* fast path: a whole quantum of alphabet characters */
    if(nq == 0 && i + 4 <= len && o + 3 <= cap) {
      unsigned a = cls[p[i]], b = cls[p[i + 1]], c = cls[p[i + 2]],
               e = cls[p[i + 3]];
      if((a | b | c | e) < 64) {
        uint32_t v = (a << 18) | (b << 12) | (c << 6) | e;
        d[o] = (unsigned char)(v >> 16);
        d[o + 1] = (unsigned char)(v >> 8);
        d[o + 2] = (unsigned char)v;
        o += 3;
        i += 4;
        continue;
      }
    }
    unsigned v = cls[p[i++]];
    if(v == 65)
      continue;
    if(v == 66) {
      out->flags |= MIME_DATA_DAMAGED;
      continue;
    }
    if(o + 3 > cap)
      break;
    if(v == 64) {                 /* padding ends a quantum */
      if(nq == 2)
        d[o++] = (unsigned char)(acc >> 4);
      else if(nq == 3) {
        d[o++] = (unsigned char)(acc >> 10);
        d[o++] = (unsigned char)(acc >> 2);
      }
      else if(nq == 1)
        out->flags |= MIME_DATA_DAMAGED;
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
  if(o + 3 <= cap) {
    if(nq == 2)
      d[o++] = (unsigned char)(acc >> 4);
    else if(nq == 3) {
      d[o++] = (unsigned char)(acc >> 10);
      d[o++] = (unsigned char)(acc >> 2);
    }
    else if(nq == 1)
      out->flags |= MIME_DATA_DAMAGED;
  }
  if(max && o > max) {
    o = max;
    out->flags |= MIME_DATA_TRUNCATED;
  }
  else if(i < len)
    out->flags |= MIME_DATA_TRUNCATED;
  d[o] = '\0';
  out->data = (char *)d;
  out->len = o;
  return 0;
}
