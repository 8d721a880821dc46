/*
 * mime_charset: bytes in a declared MIME charset to UTF-8.
 *
 * Mail lies about charsets, so the rules follow what mail readers do (and
 * the WHATWG Encoding Standard): ISO-8859-1 labels are read as windows-1252
 * (its superset for the bytes mail really contains), Shift_JIS as CP932,
 * and US-ASCII (the default label, stuck on anything) like no label.  Unknown
 * labels fall back to "UTF-8 if the bytes are valid UTF-8, else windows-1252",
 * which never fails.  windows-1252 is built in because glibc's CP1252 rejects
 * the five unassigned bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <iconv.h>
#include <string.h>

#include "mime_private.h"
#include "util.h"

/* ---- ASCII helpers (locale-independent) ---- */

char mime_ascii_lower(char c)
{
  return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

int mime_ascii_ncasecmp(const char *a, const char *b, size_t n)
{
  size_t i;

  for(i = 0; i < n; i++) {
    char x = mime_ascii_lower(a[i]), y = mime_ascii_lower(b[i]);
    if(x != y)
      return (unsigned char)x - (unsigned char)y;
    if(x == '\0')
      return 0;
  }
  return 0;
}

int mime_ascii_casecmp(const char *a, const char *b)
{
  return mime_ascii_ncasecmp(a, b, SIZE_MAX);
}

/* ---- charsets ---- */

/* Labels that mean "we do not know": decide by the fallback. */
static const char *const unknown_labels[] = {
  "unknown-8bit", "x-unknown", "unknown", "default", "charset",
  "x-user-defined",
  /* US-ASCII is the RFC 2045 default label, put on anything: decide by
   * the bytes */
  "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", NULL
};

/* Label aliases: mail label (lower-case) -> iconv name, or "" for windows-1252
 * built in, or "UTF-8". */
static const struct {
  const char *label, *name;
} aliases[] = { { "utf-8", "UTF-8" },
                { "utf8", "UTF-8" },
                { "x-utf8", "UTF-8" },
                { "iso-8859-1", "" },
                { "iso8859-1", "" },
                { "iso_8859-1", "" },
                { "latin1", "" },
                { "latin-1", "" },
                { "l1", "" },
                { "cp819", "" },
                { "windows-1252", "" },
                { "cp1252", "" },
                { "x-cp1252", "" },
                { "shift_jis", "CP932" },
                { "shift-jis", "CP932" },
                { "sjis", "CP932" },
                { "x-sjis", "CP932" },
                { "ms_kanji", "CP932" },
                { "csshiftjis", "CP932" },
                { "windows-31j", "CP932" },
                { "cp932", "CP932" },
                { "ks_c_5601-1987", "CP949" },
                { "euc-kr", "CP949" },
                { "gb2312", "GBK" },
                { "x-gbk", "GBK" },
                { "iso-8859-8-i", "ISO-8859-8" },
                { "unicode-1-1-utf-7", "UTF-7" },
                { NULL, NULL } };

/* windows-1252 bytes 0x80..0x9F; the five unassigned ones map to the C1
 * code point of the same value, as WHATWG does. */
static const unsigned short cp1252_high[32] = {
  0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
  0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* How many bytes from i on are ASCII, eight at a time: mail text is
 * mostly ASCII, and checking it a byte at a time was a visible part of
 * decoding bodies. */
static size_t ascii_run(const unsigned char *p, size_t i, size_t len)
{
  size_t start = i;
  uint64_t w;

  while(i + 8 <= len) {
    memcpy(&w, p + i, 8);
    if(w & 0x8080808080808080ull)
      break;
    i += 8;
  }
  while(i < len && p[i] < 0x80)
    i++;
  return i - start;
}

int mime_utf8_valid(const char *in, size_t len)
{
  const unsigned char *p = (const unsigned char *)in;
  size_t i = 0, used;

  while(i < len) {
    if(p[i] < 0x80) {
      i += ascii_run(p, i, len);
      continue;
    }
    if(util_utf8_decode(p + i, len - i, &used) < 0)
      return 0;
    i += used;
  }
  return 1;
}

static int put_utf8(struct buf *out, unsigned cp)
{
  char u[3];

  if(cp < 0x80)
    return buf_putc(out, (char)cp);
  if(cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    return buf_append(out, u, 2);
  }
  u[0] = (char)(0xE0 | (cp >> 12));
  u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
  u[2] = (char)(0x80 | (cp & 0x3F));
  return buf_append(out, u, 3);
}

static int cp1252_convert(const char *in, size_t len, struct buf *out)
{
  const unsigned char *p = (const unsigned char *)in;
  size_t i, run = 0;

  for(i = 0; i < len; i++) {
    if(p[i] < 0x80)
      continue;
    /* flush the ASCII run before this byte in one append */
    if(buf_append(out, in + run, i - run) < 0)
      return -1;
    if(put_utf8(out, p[i] < 0xA0 ? cp1252_high[p[i] - 0x80] : p[i]) < 0)
      return -1;
    run = i + 1;
  }
  return buf_append(out, in + run, len - run);
}

/* Append valid UTF-8 with every invalid sequence replaced by U+FFFD. */
static int utf8_repair(const char *in, size_t len, struct buf *out,
                       unsigned *flags)
{
  const unsigned char *p = (const unsigned char *)in;
  size_t i = 0, run = 0, used;

  while(i < len) {
    if(p[i] < 0x80) {
      i += ascii_run(p, i, len);
      continue;
    }
    if(util_utf8_decode(p + i, len - i, &used) >= 0) {
      i += used;
      continue;
    }
    if(buf_append(out, in + run, i - run) < 0 ||
       buf_append(out, "\xEF\xBF\xBD", 3) < 0)
      return -1;
    *flags |= MIME_DATA_DAMAGED;
    i += used;
    run = i;
  }
  return buf_append(out, in + run, len - run);
}

int mime_charset_fallback(const char *in, size_t len, struct buf *out)
{
  if(mime_utf8_valid(in, len))
    return buf_append(out, in, len);
  return cp1252_convert(in, len, out);
}

/* Map a label to: "UTF-8", "" (windows-1252), an iconv name, or NULL when
 * it is a placeholder or not a plausible charset name.  Only names made of
 * [A-Za-z0-9._:+-] reach iconv_open: the label is attacker-chosen. */
static const char *charset_resolve(const char *label, char *tmp, size_t tmpsz)
{
  size_t n = 0, i;

  if(label == NULL)
    return NULL;
  while(*label == ' ' || *label == '\t' || *label == '"')
    label++;
  for(; label[n] != '\0' && label[n] != '"' && label[n] != ' '; n++) {
    char c = label[n];
    if(n + 1 >= tmpsz)
      return NULL;
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
         c == '+' || c == '-'))
      return NULL;
    tmp[n] = mime_ascii_lower(c);
  }
  tmp[n] = '\0';
  if(n == 0)
    return NULL;
  for(i = 0; unknown_labels[i] != NULL; i++)
    if(strcmp(tmp, unknown_labels[i]) == 0)
      return NULL;
  for(i = 0; aliases[i].label != NULL; i++)
    if(strcmp(tmp, aliases[i].label) == 0)
      return aliases[i].name;
  return tmp;
}

static int iconv_convert(iconv_t cd, const char *in, size_t len,
                         struct buf *out, unsigned *flags)
{
  char chunk[4096];
  char *ip = (char *)(uintptr_t)in; /* iconv's prototype lacks const */
  size_t ileft = len;
  int flushing = 0;

  for(;;) {
    char *op = chunk;
    size_t oleft = sizeof(chunk);
    size_t r = flushing ? iconv(cd, NULL, NULL, &op, &oleft)
                        : iconv(cd, &ip, &ileft, &op, &oleft);
    int err = errno;

    if(buf_append(out, chunk, sizeof(chunk) - oleft) < 0)
      return -1;
    if(r != (size_t)-1) {
      if(flushing)
        return 0;
      flushing = 1; /* input used up: let stateful encodings reset */
      continue;
    }
    if(err == E2BIG)
      continue;
    /* EILSEQ: a byte that cannot start a character here; EINVAL: the input
     * ends inside a character.  Replace one byte and go on. */
    if(buf_append(out, "\xEF\xBF\xBD", 3) < 0)
      return -1;
    *flags |= MIME_DATA_DAMAGED;
    if(err != EILSEQ || ileft == 0) {
      ileft = 0;
      flushing = 1;
      continue;
    }
    ip++;
    ileft--;
  }
}

int mime_charset_convert(const char *charset, const char *in, size_t len,
                         struct buf *out, unsigned *flags)
{
  char tmp[48];
  const char *name = charset_resolve(charset, tmp, sizeof(tmp));
  iconv_t cd;
  int ret;

  if(name == NULL)
    return 1;
  if(name[0] == '\0')
    return cp1252_convert(in, len, out);
  if(strcmp(name, "UTF-8") == 0 || strcmp(name, "utf-8") == 0)
    return utf8_repair(in, len, out, flags);
  cd = iconv_open("UTF-8", name);
  if(cd == (iconv_t)-1)
    return 1;
  ret = iconv_convert(cd, in, len, out, flags);
  iconv_close(cd);
  return ret;
}

/* The name reported in mime_data.charset for a label. */
static void charset_report(const char *charset, unsigned flags, const char *in,
                           size_t len, char *dst, size_t dstsz)
{
  char tmp[48];
  const char *name = charset_resolve(charset, tmp, sizeof(tmp));

  if(flags & MIME_DATA_FALLBACK)
    name = mime_utf8_valid(in, len) ? "UTF-8" : "windows-1252";
  else if(name != NULL && name[0] == '\0')
    name = "windows-1252";
  else if(name == NULL)
    name = "";
  snprintf(dst, dstsz, "%s", name);
}

int mime_charset_to_utf8(const char *charset, const char *in, size_t len,
                         size_t max, struct mime_data *out)
{
  struct buf b;
  unsigned flags = 0;
  size_t blen;
  int r;

  memset(out, 0, sizeof(*out));
  /* Convert whole, then cut: the output of every supported charset is at
   * most 4 bytes per input byte (3 for a replacement), hence the ceiling. */
  buf_init(&b, len > (SIZE_MAX - 16) / 4 ? SIZE_MAX : len * 4 + 16);
  r = mime_charset_convert(charset, in, len, &b, &flags);
  if(r == 1) {
    flags |= MIME_DATA_FALLBACK;
    r = mime_charset_fallback(in, len, &b);
  }
  if(r == 0 && b.data == NULL)
    r = buf_append(&b, "", 0);
  if(r < 0) {
    buf_free(&b);
    return -1;
  }
  if(max != 0 && b.len > max) {
    /* cut at a character boundary so the result stays valid UTF-8 */
    size_t cut = max;
    while(cut > 0 && ((unsigned char)b.data[cut] & 0xC0) == 0x80)
      cut--;
    b.len = cut;
    b.data[cut] = '\0';
    flags |= MIME_DATA_TRUNCATED;
  }
  blen = b.len;
  out->data = buf_steal(&b);
  if(out->data == NULL)
    return -1;
  out->len = blen;
  out->flags = flags;
  charset_report(charset, flags, in, len, out->charset, sizeof(out->charset));
  return 0;
}
