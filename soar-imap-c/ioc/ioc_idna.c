/*
 * ioc_idna: the A-label ("xn--") form of a domain written in Unicode, so
 * an IDN found in a mail is also reported as DNS and threat feeds know it.
 * RFC 3492 Punycode, per label (RFC 5890 A-labels); no mapping beyond the
 * ASCII lower-casing the caller did.
 */
#include "ioc_private.h"

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* RFC 3492 Punycode of one label's code points cp[0..n) appended to out at
 * *o (room: cap).  Returns 0, or -1 when it does not fit. */
static unsigned puny_adapt(uint64_t delta, uint64_t points, bool first)
{
  unsigned k = 0;

  delta = first ? delta / 700 : delta / 2;
  delta += delta / points;
  while(delta > ((36 - 1) * 26) / 2) {
    delta /= 36 - 1;
    k += 36;
  }
  return k + (unsigned)((36 - 1 + 1) * delta / (delta + 38));
}

static int puny_put(char *out, size_t *o, size_t cap, char c)
{
  if(*o + 1 >= cap)
    return -1;
  out[(*o)++] = c;
  return 0;
}

static int puny_label(const uint32_t *cp, size_t n, char *out, size_t *o,
                      size_t cap)
{
  static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t delta = 0, h, b = 0;
  uint32_t cur = 128;
  unsigned bias = 72;

  for(const char *x = "xn--"; *x; x++)
    if(puny_put(out, o, cap, *x))
      return -1;
  for(size_t i = 0; i < n; i++)
    if(cp[i] < 0x80 && (b++, puny_put(out, o, cap, (char)cp[i])))
      return -1;
  h = b;
  if(b && puny_put(out, o, cap, '-'))
    return -1;
  while(h < n) {
    uint32_t m = UINT32_MAX;
    for(size_t i = 0; i < n; i++)
      if(cp[i] >= cur && cp[i] < m)
        m = cp[i];
    delta += (uint64_t)(m - cur) * (h + 1);
    cur = m;
    for(size_t i = 0; i < n; i++) {
      if(cp[i] < cur)
        delta++;
      if(cp[i] != cur)
        continue;
      uint64_t q = delta;
      for(unsigned k = 36;; k += 36) {
        unsigned t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
        if(q < t)
          break;
        if(puny_put(out, o, cap, digits[t + (q - t) % (36 - t)]))
          return -1;
        q = (q - t) / (36 - t);
      }
      if(puny_put(out, o, cap, digits[q]))
        return -1;
      bias = puny_adapt(delta, h + 1, h == b);
      delta = 0;
      h++;
    }
    delta++;
    cur++;
  }
  return 0;
}

size_t ioc_domain_alabel(const char *s, size_t len, char *out, size_t cap)
{
  uint32_t cp[IOC_MAX_LABEL];
  size_t o = 0, i = 0;

  while(i <= len) {
    size_t n = 0, start = o;
    bool ascii = true;
    while(i < len && s[i] != '.') {
      size_t used = 1;
      int32_t c =
          (unsigned char)s[i] < 0x80
              ? (unsigned char)s[i]
              : util_utf8_decode((const unsigned char *)s + i, len - i, &used);
      if(c < 0 || n == IOC_MAX_LABEL)
        return 0;
      ascii &= c < 0x80;
      cp[n++] = (uint32_t)c;
      i += used;
    }
    if(ascii) {
      for(size_t k = 0; k < n; k++)
        if(puny_put(out, &o, cap, (char)cp[k]))
          return 0;
    }
    else if(puny_label(cp, n, out, &o, cap) || o - start > 63)
      return 0;
    if(i < len && puny_put(out, &o, cap, '.'))
      return 0;
    i++;
  }
  out[o] = '\0';
  return o;
}
