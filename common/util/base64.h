/*
 * base64: the one base64 of the project (RFC 4648 section 4).
 *
 * The decoder is tolerant the way mail readers are, because mail is where
 * its input comes from: blanks and junk characters are skipped, the URL-safe
 * '-' and '_' are read as '+' and '/', '=' ends a quantum wherever it comes
 * (concatenated encodings), and missing padding at the end is fine.  What
 * was skipped or could not make a byte (a lone sextet) is reported as
 * damage, not as an error.
 *
 * Mail is mostly base64 attachments, so decoding speed is most of parsing
 * speed: four characters are decoded per step while they are all in the
 * alphabet (about 1 GB/s, against about 130 MB/s one character at a time),
 * falling back to the careful path otherwise.
 */
#ifndef UTIL_BASE64_H
#define UTIL_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define BASE64_TRUNCATED 0x01u /* output cut at the buffer's max */
#define BASE64_DAMAGED   0x02u /* junk skipped, or a lone sextet dropped */

/* Fill the decoding tables.  The decoders do it when needed; call it before
 * decoding on several threads. */
void base64_init(void);

/* Decode in[0..len) and append the bytes to out, at most up to out->max
 * (the longest prefix that fits is kept, and BASE64_TRUNCATED set).
 * BASE64_DAMAGED is added to *flags as described above.  Returns 0 (also
 * when truncated), or -1 out of memory. */
int base64_decode(const char *in, size_t len, struct buf *out, unsigned *flags);

/* The same decoding, a buffer at a time, so large input can be consumed
 * (hashed, written) without ever being held whole.  Fields are private
 * but for flags (BASE64_DAMAGED so far) and done. */
struct base64_stream {
  const unsigned char *in;
  size_t len, i;  /* input, and how far it is read */
  uint32_t acc;   /* bits of an unfinished quantum */
  unsigned nq;    /* characters in it */
  unsigned flags; /* BASE64_DAMAGED */
  bool done;      /* everything decoded and handed out */
};

/* Start decoding in[0..len), which must outlive the stream. */
void base64_stream_init(struct base64_stream *s, const char *in, size_t len);

/* Decode the next bytes into out[0..cap), cap >= 6.  Returns how many
 * (possibly fewer than cap with input left: call again); 0 with s->done set
 * once everything is out. */
size_t base64_stream_next(struct base64_stream *s, unsigned char *out,
                          size_t cap);

/* Append the standard base64 of p[0..n) to out: alphabet "+/", '='
 * padding, no line breaks.  Returns 0, or -1 (out unchanged) when it does
 * not fit under out->max or memory runs out. */
int base64_encode(struct buf *out, const void *p, size_t n);

#endif
