/*
 * Internals shared by the mime-*.c files.  Not an interface for consumers.
 *
 * The files call each other one way only, from the top down:
 *   mime_parser.c    the part tree; uses all the files below
 *   mime_header.c    RFC 2047 words, RFC 2231 parameters, dates; uses
 *                    charset, decode and pool
 *   mime_charset.c   ASCII case helpers, UTF-8 checks, charsets to UTF-8;
 *                    uses nothing else in mime
 *   mime_decode.c    base64, quoted-printable, uuencode; uses nothing else
 *   mime_pool.c      the bump allocator; uses nothing else
 */
#ifndef MIME_MIME_PRIVATE_H
#define MIME_MIME_PRIVATE_H

#include <stddef.h>

#include "mime.h"
#include "buf.h"

/* ---- mime_pool.c ---- */

/* A bump allocator: everything a tree hands out lives here and is freed at
 * once with the tree.  Allocation failure is reported (NULL), never fatal. */
struct mime_pool_chunk;
struct mime_pool {
  struct mime_pool_chunk *head;
};

void *mime_pool_alloc(struct mime_pool *pool, size_t size);
/* Copy s[0..len) and NUL-terminate. */
char *mime_pool_strndup(struct mime_pool *pool, const char *s, size_t len);
void mime_pool_free(struct mime_pool *pool);

/* ---- mime_charset.c ---- */

/* ASCII helpers (locale-independent). */
int mime_ascii_casecmp(const char *a, const char *b);
int mime_ascii_ncasecmp(const char *a, const char *b, size_t n);
char mime_ascii_lower(char c);

/* Append in[0..len) converted from charset to UTF-8 to out.  Returns 0,
 * 1 when the charset is not known (nothing appended), -1 when out is full.
 * *flags gets MIME_DATA_DAMAGED for replaced sequences. */
int mime_charset_convert(const char *charset, const char *in, size_t len,
                         struct buf *out, unsigned *flags);
/* Append in[0..len) as UTF-8 if it is valid UTF-8, else as windows-1252.
 * Returns 0 or -1 when out is full. */
int mime_charset_fallback(const char *in, size_t len, struct buf *out);
/* 1 if in[0..len) is valid UTF-8. */
int mime_utf8_valid(const char *in, size_t len);

/* ---- mime_decode.c ---- */

/* Append the decoded form of in[0..len) to out, stopping when out is full
 * (then *flags |= MIME_DATA_TRUNCATED).  q_header: RFC 2047 "Q" rules
 * ('_' is a space, no line structure).  Return 0, -1 out of memory. */
int mime_base64_decode(const char *in, size_t len, struct buf *out,
                       unsigned *flags);
int mime_qp_decode(const char *in, size_t len, int q_header, struct buf *out,
                   unsigned *flags);
/* uuencoded lines in[0..len) (up to an "end" line), as the decoders
 * above. */
int mime_uu_decode(const char *in, size_t len, struct buf *out,
                   unsigned *flags);
/* Append with truncation instead of failure when the ceiling is hit.
 * Returns 0, or -1 when out is full (flags updated). */
int mime_buf_add(struct buf *out, const char *p, size_t n, unsigned *flags);
/* Hand b's bytes to out (data and len; an empty result is "", never
 * NULL).  Returns 0, or -1 out of memory with b freed. */
int mime_data_take(struct buf *b, struct mime_data *out);

/* ---- mime_header.c ---- */

/* Parse the parameter list that follows the first ';' of a Content-Type
 * or Content-Disposition value (p..end), with RFC 2231 reassembly.  At most
 * MIME_MAX_PARAMS raw parameters are looked at.  Returns 0 or -1 (memory). */
#define MIME_MAX_PARAMS 64
int mime_params_parse(struct mime_pool *pool, const char *p, const char *end,
                      struct mime_param **params_r, size_t *nparams_r);

/* Decode RFC 2047 words in in[0..len), appending UTF-8 to out.  0 or -1. */
int mime_words_decode(const char *in, size_t len, struct buf *out);

#endif
