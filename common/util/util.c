#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t util_now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *val_r)
{
  uint64_t v = 0;
  int digits = 0;

  while(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
    s++;
  for(; *s >= '0' && *s <= '9'; s++, digits++) {
    unsigned d = (unsigned)(*s - '0');
    if(v > (UINT64_MAX - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  while(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
    s++;
  if(!digits || *s || v < min || v > max)
    return -1;
  *val_r = v;
  return 0;
}

int32_t util_utf8_decode(const unsigned char *s, size_t len, size_t *used_r)
{
  uint32_t c = s[0];
  size_t n;
  uint32_t min;

  *used_r = 1;
  if(c < 0x80)
    return (int32_t)c;
  if((c & 0xe0) == 0xc0) {
    n = 2;
    c &= 0x1f;
    min = 0x80;
  }
  else if((c & 0xf0) == 0xe0) {
    n = 3;
    c &= 0x0f;
    min = 0x800;
  }
  else if((c & 0xf8) == 0xf0) {
    n = 4;
    c &= 0x07;
    min = 0x10000;
  }
  else
    return -1;
  if(len < n)
    return -1;
  for(size_t i = 1; i < n; i++) {
    if((s[i] & 0xc0) != 0x80)
      return -1;
    c = (c << 6) | (s[i] & 0x3f);
  }
  if(c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
    return -1;
  *used_r = n;
  return (int32_t)c;
}

/* Per ASCII byte: 0 copied as is, 1 an upper-case letter, 2 escaped. */
static const unsigned char json_class[128] = {
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
  2, 2, 2, 2, 2, 2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static char *json_u(char *w, unsigned v)
{
  static const char hex[] = "0123456789abcdef";
  w[0] = '\\';
  w[1] = 'u';
  w[2] = hex[(v >> 12) & 15];
  w[3] = hex[(v >> 8) & 15];
  w[4] = hex[(v >> 4) & 15];
  w[5] = hex[v & 15];
  return w + 6;
}

int util_json_escape_case(struct buf *b, const char *str, size_t len, int lower)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  char *w, *start;

  /* Worst case: every byte becomes a 6-byte \u escape.  Reserving once
   * lets the loop write without a bounds check per byte. */
  if(len > (b->max - b->len) / 6 || buf_reserve(b, 6 * len))
    return -1;
  start = w = b->data + b->len;
  while(i < len) {
    unsigned char c;

    /* Eight bytes at a time while none of them needs anything: no control
     * byte, no '"' or '\\', nothing >= 0x80 and, when lower-casing, no
     * upper-case letter (bit tricks from "Bit Twiddling Hacks"). */
    while(len - i >= 8) {
      uint64_t v, lo = 0x0101010101010101ULL, hi = 0x8080808080808080ULL;
      memcpy(&v, s + i, 8);
      uint64_t bad = (v - lo * 0x20) & ~v & hi;                  /* < 0x20 */
      bad |= v & hi;                                             /* >= 0x80 */
      bad |= ((v ^ (lo * 0x22)) - lo) & ~(v ^ (lo * 0x22)) & hi; /* '"' */
      bad |= ((v ^ (lo * 0x5c)) - lo) & ~(v ^ (lo * 0x5c)) & hi; /* '\\' */
      if(lower) { /* bytes in 0x41..0x5a, all bytes being < 0x80 here */
        uint64_t x = v & (lo * 0x7f);
        bad |= ((lo * (127 + 0x5b)) - x) & ~v & (x + lo * (127 - 0x40)) & hi;
      }
      if(bad)
        break;
      memcpy(w, s + i, 8);
      w += 8;
      i += 8;
    }
    if(i >= len)
      break;
    c = s[i];
    if(c < 0x80) {
      unsigned char k = json_class[c];
      i++;
      if(!k) {
        *w++ = (char)c;
        continue;
      }
      if(k == 1) {
        *w++ = (char)(lower ? c + 32 : c);
        continue;
      }
      *w++ = '\\';
      switch(c) {
      case '"': *w++ = '"'; break;
      case '\\': *w++ = '\\'; break;
      case '\n': *w++ = 'n'; break;
      case '\r': *w++ = 'r'; break;
      case '\t': *w++ = 't'; break;
      case '\b': *w++ = 'b'; break;
      case '\f': *w++ = 'f'; break;
      default: w = json_u(w - 1, c); break;
      }
      continue;
    }
    else {
      size_t used;
      int32_t cp = util_utf8_decode(s + i, len - i, &used);
      if(cp < 0)
        cp = 0xfffd;
      if(cp >= 0x10000) {
        uint32_t v = (uint32_t)cp - 0x10000;
        w = json_u(w, 0xd800 + (v >> 10));
        w = json_u(w, 0xdc00 + (v & 0x3ff));
      }
      else
        w = json_u(w, (unsigned)cp);
      i += used;
    }
  }
  b->len += (size_t)(w - start);
  b->data[b->len] = '\0';
  return 0;
}

int util_json_escape(struct buf *b, const char *s, size_t len)
{
  return util_json_escape_case(b, s, len, 0);
}

int util_xml_escape(struct buf *b, const char *str, size_t len)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, run = 0;

  while(i < len) {
    unsigned char c = s[i];
    const char *esc = NULL;
    size_t used = 1;

    if(c >= 0x20 && c < 0x80 && c != '&' && c != '<' && c != '>' && c != '"') {
      i++;
      run++;
      continue;
    }
    if(c >= 0x80) {
      if(util_utf8_decode(s + i, len - i, &used) >= 0) {
        i += used;
        run += used;
        continue;
      }
      esc = "\xef\xbf\xbd";
    }
    if(run && buf_append(b, s + i - run, run))
      return -1;
    run = 0;
    switch(c) {
    case '&': esc = "&amp;"; break;
    case '<': esc = "&lt;"; break;
    case '>': esc = "&gt;"; break;
    case '"': esc = "&quot;"; break;
    case '\t':
    case '\n':
    case '\r':
      if(buf_putc(b, (char)c))
        return -1;
      break;
    default: break; /* other C0 controls are not allowed in XML 1.0 */
    }
    if(esc && buf_puts(b, esc))
      return -1;
    i++;
  }
  return run ? buf_append(b, s + i - run, run) : 0;
}

int util_write_all(int fd, const void *p, size_t n)
{
  const char *c = p;

  while(n) {
    ssize_t w = write(fd, c, n);
    if(w < 0) {
      if(errno == EINTR)
        continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int64_t util_days_from_civil(int64_t y, unsigned m, unsigned d)
{
  /* Eras of 400 years repeat exactly; count days within the era from
   * March 1 so the leap day falls at the end of the year. */
  int64_t era;
  unsigned yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

int util_print_version(const char *prog)
{
  if(printf("%s %s\n", prog, PROJECT_VERSION) < 0 || fflush(stdout))
    return 1;
  return 0;
}
