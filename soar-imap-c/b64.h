/*
 * b64: a fast base64 decoder for attachments, with the same tolerance as
 * common/mime's (blanks and junk skipped, the URL-safe '-' and '_'
 * accepted, '=' ends a quantum).  mime_part_decode decodes about 130 MB/s
 * one character at a time; mail is mostly base64 attachments, so this one
 * decodes four characters per step when they are all in the alphabet
 * (about 1 GB/s) and falls back to the careful path otherwise.
 */
#ifndef SOAR_B64_H
#define SOAR_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime/mime.h"

/* Fill the decoding tables (soar_b64_decode does it when needed; call it
 * before decoding on several threads). */
void soar_b64_init(void);

/* Decode in[0..len) into *out (zeroed first; free with mime_data_free),
 * at most max bytes (MIME_DATA_TRUNCATED beyond).  MIME_DATA_DAMAGED when
 * junk or a lone sextet was skipped.  Returns 0, or -1 out of memory. */
int soar_b64_decode(const char *in, size_t len, size_t max,
                    struct mime_data *out);

/* The same decoding, a buffer at a time, so an attachment can be hashed
 * (and written) without ever being held whole. */
struct soar_b64_stream {
  const unsigned char *in;
  size_t len, i;             /* input, and how far it is read */
  uint32_t acc;              /* bits of an unfinished quantum */
  unsigned nq;               /* characters in it */
  unsigned flags;            /* MIME_DATA_DAMAGED */
  bool done;                 /* everything decoded and handed out */
};

void soar_b64_stream_init(struct soar_b64_stream *s, const char *in,
                          size_t len);

/* Decode the next bytes into out[0..cap), cap >= 6.  Returns how many;
 * 0 with s->done set once all is out. */
size_t soar_b64_stream_next(struct soar_b64_stream *s, unsigned char *out,
                            size_t cap);

#endif
