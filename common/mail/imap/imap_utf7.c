/*
 * imap_utf7: modified UTF-7 mailbox names (RFC 3501 section 5.1.3).
 *
 * Printable ASCII (0x20-0x7e) stands for itself except "&", written "&-".
 * Everything else is UTF-16, base64-encoded with "," instead of "/", no
 * padding, between "&" and "-".  The decoder accepts only the one
 * canonical spelling, so two different wire names never decode to the
 * same UTF-8 name.
 */
#include <stdint.h>
#include <string.h>

#include "imap.h"
#include "util.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(unsigned char c)
{
  if(c >= 'A' && c <= 'Z')
    return c - 'A';
  if(c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if(c >= '0' && c <= '9')
    return c - '0' + 52;
  if(c == '+')
    return 62;
  if(c == ',')
    return 63;
  return -1;
}

/* Encoder state for one "&...-" run. */
struct enc {
  uint32_t bits;
  unsigned nbits;
};

static int enc_u16(struct buf *out, struct enc *e, unsigned u)
{
  e->bits = (e->bits << 16) | u;
  e->nbits += 16;
  while(e->nbits >= 6) {
    e->nbits -= 6;
    if(buf_putc(out, b64chars[(e->bits >> e->nbits) & 0x3f]) < 0)
      return -1;
  }
  e->bits &= (1u << e->nbits) - 1;
  return 0;
}

int imap_utf7_encode(const char *s, size_t len, struct buf *out)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while(i < len) {
    if(p[i] >= 0x20 && p[i] <= 0x7e) {
      if(p[i] == '&') {
        if(buf_puts(out, "&-") < 0)
          return -1;
      }
      else if(buf_putc(out, (char)p[i]) < 0) {
        return -1;
      }
      i++;
      continue;
    }
    /* A run of non-printable characters: one "&...-" block. */
    {
      struct enc e = { 0, 0 };
      if(buf_putc(out, '&') < 0)
        return -1;
      while(i < len && !(p[i] >= 0x20 && p[i] <= 0x7e)) {
        size_t used;
        int32_t cp = util_utf8_decode(p + i, len - i, &used);
        if(cp <= 0) /* invalid UTF-8, or NUL */
          return -1;
        i += used;
        if(cp >= 0x10000) {
          uint32_t v = (uint32_t)cp - 0x10000;
          if(enc_u16(out, &e, 0xd800 | (v >> 10)) < 0 ||
             enc_u16(out, &e, 0xdc00 | (v & 0x3ff)) < 0)
            return -1;
        }
        else if(enc_u16(out, &e, (unsigned)cp) < 0) {
          return -1;
        }
      }
      if(e.nbits > 0 &&
         buf_putc(out, b64chars[(e.bits << (6 - e.nbits)) & 0x3f]) < 0)
        return -1;
      if(buf_putc(out, '-') < 0)
        return -1;
    }
  }
  return 0;
}

static int put_utf8(struct buf *out, uint32_t cp)
{
  char b[4];
  size_t n;
  if(cp < 0x80) {
    b[0] = (char)cp;
    n = 1;
  }
  else if(cp < 0x800) {
    b[0] = (char)(0xc0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  }
  else if(cp < 0x10000) {
    b[0] = (char)(0xe0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  }
  else {
    b[0] = (char)(0xf0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  return buf_append(out, b, n);
}

int imap_utf7_decode(const char *s, size_t len, struct buf *out)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while(i < len) {
    if(p[i] < 0x20 || p[i] > 0x7e)
      return -1;
    if(p[i] != '&') {
      if(buf_putc(out, (char)p[i]) < 0)
        return -1;
      i++;
      continue;
    }
    i++;
    if(i < len && p[i] == '-') {
      if(buf_putc(out, '&') < 0)
        return -1;
      i++;
      continue;
    }
    {
      uint32_t bits = 0, hi = 0;
      unsigned nbits = 0;
      size_t nchars = 0;
      while(i < len && p[i] != '-') {
        int v = b64val(p[i]);
        if(v < 0)
          return -1;
        bits = (bits << 6) | (uint32_t)v;
        nbits += 6;
        nchars++;
        i++;
        if(nbits >= 16) {
          unsigned u = (bits >> (nbits - 16)) & 0xffff;
          nbits -= 16;
          bits &= (1u << nbits) - 1;
          if(hi) {
            if(u < 0xdc00 || u > 0xdfff)
              return -1;
            if(put_utf8(out, 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00)) <
               0)
              return -1;
            hi = 0;
          }
          else if(u >= 0xd800 && u <= 0xdbff) {
            hi = u;
          }
          else if(u >= 0xdc00 && u <= 0xdfff) {
            return -1;
          }
          else if(u >= 0x20 && u <= 0x7e) {
            return -1; /* printable ASCII must not be encoded */
          }
          else if(put_utf8(out, u) < 0) {
            return -1;
          }
        }
      }
      if(i >= len || nchars == 0 || hi)
        return -1; /* unterminated, "&-" handled above, lone high */
      if(nbits >= 6 || bits != 0)
        return -1; /* leftover must be < 6 zero bits */
      i++;         /* '-' */
    }
  }
  return 0;
}
