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

#include "mime/mime.h"

/* Fill the decoding tables (soar_b64_decode does it when needed; call it
 * before decoding on several threads). */
void soar_b64_init(void);

/* Decode in[0..len) into *out (zeroed first; free with mime_data_free),
 * at most max bytes (MIME_DATA_TRUNCATED beyond).  MIME_DATA_DAMAGED when
 * junk or a lone sextet was skipped.  Returns 0, or -1 out of memory. */
int soar_b64_decode(const char *in, size_t len, size_t max,
                    struct mime_data *out);

#endif
