#include "util.h"

#include <ctype.h>
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
  if((c & 0xe0) == 0xc0) { n = 2; c &= 0x1f; min = 0x80; }
  else if((c & 0xf0) == 0xe0) { n = 3; c &= 0x0f; min = 0x800; }
  else if((c & 0xf8) == 0xf0) { n = 4; c &= 0x07; min = 0x10000; }
  else return -1;
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

static int json_u(struct buf *b, unsigned v)
{
  static const char hex[] = "0123456789abcdef";
  char e[6] = { '\\', 'u', hex[(v >> 12) & 15], hex[(v >> 8) & 15],
                hex[(v >> 4) & 15], hex[v & 15] };
  return buf_append(b, e, 6);
}

int util_json_escape(struct buf *b, const char *str, size_t len)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, run = 0;

  while(i < len) {
    unsigned char c = s[i];
    const char *esc = NULL;

    if(c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      i++;
      run++;
      continue;
    }
    /* Flush the run of plain bytes before the one that needs escaping. */
    if(run && buf_append(b, s + i - run, run))
      return -1;
    run = 0;
    switch(c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    default: break;
    }
    if(esc) {
      if(buf_append(b, esc, 2))
        return -1;
      i++;
    }
    else if(c < 0x20) {
      if(json_u(b, c))
        return -1;
      i++;
    }
    else {
      size_t used;
      int32_t cp = util_utf8_decode(s + i, len - i, &used);
      if(cp < 0)
        cp = 0xfffd;
      if(cp >= 0x10000) {
        uint32_t v = (uint32_t)cp - 0x10000;
        if(json_u(b, 0xd800 + (v >> 10)) || json_u(b, 0xdc00 + (v & 0x3ff)))
          return -1;
      }
      else if(json_u(b, (unsigned)cp))
        return -1;
      i += used;
    }
  }
  return run ? buf_append(b, s + i - run, run) : 0;
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
    case '\t': case '\n': case '\r':
      if(buf_putc(b, (char)c))
        return -1;
      break;
    default: break;   /* other C0 controls are not allowed in XML 1.0 */
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
