/*
 * mime_decode: Content-Transfer-Encoding decoders (RFC 2045 section 6) and
 * the RFC 2047 "Q" variant.
 *
 * Both decoders are tolerant the way mail readers are: base64 ignores line
 * lengths, blanks and junk characters and accepts missing or mid-stream
 * padding (concatenated encodings); quoted-printable keeps a malformed '='
 * escape as a literal '=' and drops the trailing blanks RFC 2045 says
 * transports may add.  Output stops, marked truncated, at the buffer's
 * ceiling.
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
