/*
 * mime_decode: Content-Transfer-Encoding decoders (RFC 2045 section 6) and
 * the RFC 2047 "Q" variant.
 *
 * Both decoders are tolerant the way mail readers are: base64 ignores line
 * lengths, blanks and junk characters and accepts missing or mid-stream
 * padding (concatenated encodings); quoted-printable keeps a malformed '='
 * escape as a literal '=' and drops the trailing blanks RFC 2045 says
 * transports may add.  Output stops, marked truncated, at the buffer's
 * ceiling.  uuencode (x-uuencode, also found as bare "begin 644 name"
 * blocks in text) is decoded the same tolerant way: a damaged line is
 * skipped, a missing "end" ends the block at the last encoded line.
 */
#include <string.h>

#include "mime_private.h"
#include "base64.h"

int mime_buf_add(struct buf *out, const char *p, size_t n, unsigned *flags)
{
  if(n > out->max - out->len) {
    /* take what still fits so the caller sees the longest prefix */
    size_t room = out->max - out->len;
    if(room > 0 && buf_append(out, p, room) < 0)
      return -1;
    *flags |= MIME_DATA_TRUNCATED;
    return -1;
  }
  return buf_append(out, p, n);
}

/* The decoder itself is util's, shared with the SOAR connector's attachment
 * hashing; only the flags are mime's. */
int mime_base64_decode(const char *in, size_t len, struct buf *out,
                       unsigned *flags)
{
  unsigned bf = 0;
  int r = base64_decode(in, len, out, &bf);

  if(bf & BASE64_TRUNCATED)
    *flags |= MIME_DATA_TRUNCATED;
  if(bf & BASE64_DAMAGED)
    *flags |= MIME_DATA_DAMAGED;
  /* callers read out->data even when nothing was decoded */
  if(r == 0 && !out->data && buf_append(out, "", 0) < 0)
    return -1;
  return r;
}

static int hexval(unsigned char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Decode one line's text (no line break) into chunk-sized appends. */
static int qp_text(const char *s, size_t n, int q_header, struct buf *out,
                   unsigned *flags)
{
  char chunk[512];
  size_t i, clen = 0;

  for(i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int hi, lo;

    if(c == '=' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
       (lo = hexval((unsigned char)s[i + 2])) >= 0) {
      chunk[clen++] = (char)(hi << 4 | lo);
      i += 2;
    }
    else if(c == '_' && q_header)
      chunk[clen++] = ' ';
    else
      chunk[clen++] = (char)c;
    if(clen == sizeof(chunk)) {
      if(mime_buf_add(out, chunk, clen, flags) < 0)
        return -1;
      clen = 0;
    }
  }
  return mime_buf_add(out, chunk, clen, flags);
}

int mime_qp_decode(const char *in, size_t len, int q_header, struct buf *out,
                   unsigned *flags)
{
  const char *p = in, *end = in + len;

  if(q_header)
    return qp_text(in, len, 1, out, flags) < 0 &&
                   !(*flags & MIME_DATA_TRUNCATED)
               ? -1
               : 0;
  while(p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl != NULL ? nl : end;      /* end of the text */
    const char *next = nl != NULL ? nl + 1 : end; /* start of next line */
    const char *brk;                              /* the line break */
    int soft = 0;

    if(eol > p && eol[-1] == '\r' && nl != NULL)
      eol--;
    brk = eol;
    while(eol > p && (eol[-1] == ' ' || eol[-1] == '\t'))
      eol--;
    if(eol > p && eol[-1] == '=') {
      soft = 1; /* "=" at the end of a line: the break is not content */
      eol--;
    }
    if(qp_text(p, (size_t)(eol - p), 0, out, flags) < 0)
      return (*flags & MIME_DATA_TRUNCATED) ? 0 : -1;
    if(!soft && brk < next &&
       mime_buf_add(out, brk, (size_t)(next - brk), flags) < 0)
      return (*flags & MIME_DATA_TRUNCATED) ? 0 : -1;
    p = next;
  }
  return 0;
}

/* ---- uuencode ---------------------------------------------------------- */

/* One uuencoded character's 6 bits ('`' is 0, like ' '). */
static unsigned uu_val(char c)
{
  return ((unsigned)(unsigned char)c - 32u) & 63u;
}

static int uu_char(char c)
{
  return (unsigned char)c >= 32 && (unsigned char)c <= 96;
}

/* The line at p: its end without CR/blanks and the next line's start. */
static const char *uu_line(const char *p, const char *end, const char **next)
{
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  const char *e = nl != NULL ? nl : end;

  *next = nl != NULL ? nl + 1 : end;
  while(e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
    e--;
  return e;
}

/* 1 if [p, e) is "end". */
static int uu_is_end(const char *p, const char *e)
{
  return e - p == 3 && memcmp(p, "end", 3) == 0;
}

/* 1 if [p, e) is an encoded line: a length character, then at least the
 * characters that length needs (a trailing blank may have been stripped,
 * so one group may be short) and at most one group and a checksum more. */
static int uu_line_ok(const char *p, const char *e)
{
  size_t n, need, have;

  if(p == e)
    return 0;
  n = uu_val(*p);
  if(!uu_char(*p) || n == 0)
    return 0;
  need = (n * 4 + 2) / 3;
  have = (size_t)(e - p) - 1;
  if(have < need || have > (n + 2) / 3 * 4 + 5)
    return 0;
  for(p++; p < e; p++)
    if(!uu_char(*p))
      return 0;
  return 1;
}

int mime_uu_find(const char *text, size_t len, size_t pos,
                 struct mime_uu_block *blk)
{
  const char *end = text + len, *p = text + pos, *next;

  while(p < end) {
    const char *e = uu_line(p, end, &next), *q = p + 6, *d, *de, *dn;
    size_t nd = 0;

    if(e - p > 8 && memcmp(p, "begin ", 6) == 0) {
      while(q < e && *q >= '0' && *q <= '7' && nd < 5) {
        q++;
        nd++;
      }
      if(nd >= 3 && nd <= 4 && q < e && *q == ' ' && e - q > 1 &&
         (size_t)(e - q - 1) <= MIME_MAX_UU_NAME) {
        d = next;
        de = d < end ? uu_line(d, end, &dn) : end;
        if(d < end && uu_line_ok(d, de)) {
          blk->start = (size_t)(p - text);
          blk->data = (size_t)(d - text);
          memcpy(blk->name, q + 1, (size_t)(e - q - 1));
          blk->name[e - q - 1] = '\0';
          /* the block: encoded lines, zero-length lines, up to "end" */
          for(p = d; p < end; p = dn) {
            de = uu_line(p, end, &dn);
            if(uu_is_end(p, de)) {
              blk->data_end = (size_t)(p - text);
              blk->end = (size_t)(dn - text);
              return 1;
            }
            if(!uu_line_ok(p, de) &&
               !(de == p || (de - p == 1 && uu_val(*p) == 0)))
              break;
          }
          blk->data_end = blk->end = (size_t)(p - text);
          return 1;
        }
      }
    }
    p = next;
  }
  return 0;
}

int mime_uu_decode(const char *in, size_t len, struct buf *out, unsigned *flags)
{
  const char *end = in + len, *p = in, *next;

  while(p < end) {
    const char *e = uu_line(p, end, &next);
    unsigned char tmp[64];
    size_t n, i = 0;

    if(uu_is_end(p, e))
      break;
    if(p < e && uu_char(*p)) {
      n = uu_val(*p++);
      while(i < n) {
        unsigned v[4], k;
        for(k = 0; k < 4; k++)
          v[k] = p < e ? uu_val(*p++) : 0;
        tmp[i++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if(i < n)
          tmp[i++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
        if(i < n)
          tmp[i++] = (unsigned char)(v[2] << 6 | v[3]);
      }
      if(n > 0 && mime_buf_add(out, (const char *)tmp, n, flags) < 0)
        return *flags & MIME_DATA_TRUNCATED ? 0 : -1;
    }
    else if(p < e)
      *flags |= MIME_DATA_DAMAGED;
    p = next;
  }
  return 0;
}

int mime_data_take(struct buf *b, struct mime_data *out)
{
  size_t len;

  if(b->data == NULL && buf_append(b, "", 0) < 0) {
    buf_free(b);
    return -1;
  }
  len = b->len;
  out->data = buf_steal(b);
  if(out->data == NULL)
    return -1;
  out->len = len;
  return 0;
}

int mime_uu_block_decode(const char *text, const struct mime_uu_block *blk,
                         size_t max, struct mime_data *out)
{
  struct buf b;

  memset(out, 0, sizeof(*out));
  buf_init(&b, max);
  if(mime_uu_decode(text + blk->data, blk->data_end - blk->data, &b,
                    &out->flags) < 0) {
    buf_free(&b);
    return -1;
  }
  return mime_data_take(&b, out);
}
