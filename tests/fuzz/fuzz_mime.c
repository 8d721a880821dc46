/*
 * fuzz_mime: the MIME parser (common/mail/mime/mime.h) on a whole message with
 * small limits: the tree walked part by part, every header read back, every
 * part decoded and turned into text, the classification helpers asked.
 * Checks the promises mime.h makes about the tree (pre-order numbering,
 * depths, leaf rules, reasons for limits), the UTF-8 of every decoded
 * value and the caps on decoded output.
 *
 * Input layout:
 *   byte 0  bits 0-2: max_depth 1 + n (1..8)
 *           bits 3-5: max_parts 2 << n (2..256)
 *           bit 6: max_header_bytes 512 (else 16 KB)
 *           bit 7: max_headers 8 (else 200)
 *   byte 1  max_decoded_bytes 64 << (n % 16) (64 B .. 2 MB)
 *   rest    the message
 * Inputs shorter than two bytes are ignored.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "fuzz_common.h"

static bool no_upper(const char *s)
{
  for(; *s; s++)
    if(*s >= 'A' && *s <= 'Z')
      return false;
  return true;
}

static void check_utf8_str(const char *s)
{
  if(s)
    FUZZ_CHECK(fuzz_utf8_ok(s, strlen(s)));
}

static void check_params(const struct mime_param *p, size_t n)
{
  FUZZ_CHECK(n == 0 || p != NULL);
  for(size_t i = 0; i < n; i++) {
    FUZZ_CHECK(p[i].name != NULL && p[i].value != NULL);
    FUZZ_CHECK(no_upper(p[i].name));
    check_utf8_str(p[i].value);
  }
}

static void check_headers(const struct mime_part *p)
{
  const struct mime_header *h;

  FUZZ_CHECK(p->nheaders == 0 || p->headers != NULL);
  for(size_t i = 0; i < p->nheaders; i++) {
    h = &p->headers[i];
    FUZZ_CHECK(h->name && h->value && h->decoded);
    /* NULs are dropped from the raw value, so strlen is its length. */
    FUZZ_CHECK(strlen(h->value) == h->value_len);
    FUZZ_CHECK(strlen(h->decoded) == h->decoded_len);
    FUZZ_CHECK(fuzz_utf8_ok(h->decoded, h->decoded_len));
    /* The first field of that name is at i or before it. */
    const struct mime_header *f = mime_header_find(p, h->name, NULL);
    FUZZ_CHECK(f != NULL && f <= h && strcasecmp(f->name, h->name) == 0);
    FUZZ_CHECK(mime_header_get(p, h->name) == f->decoded);
  }
  /* Looping over duplicates ends, each hit named as asked. */
  size_t n = 0;
  for(h = mime_header_find(p, "Received", NULL); h;
      h = mime_header_find(p, "Received", h)) {
    FUZZ_CHECK(strcasecmp(h->name, "Received") == 0);
    FUZZ_CHECK(++n <= p->nheaders);
  }
  const char *date = mime_header_get(p, "Date");
  int64_t t;
  if(date)
    (void)mime_parse_date(date, &t);
}

static void check_data(const struct mime_data *d, size_t max)
{
  FUZZ_CHECK(d->data != NULL || d->len == 0);
  if(d->data) {
    FUZZ_CHECK(d->data[d->len] == '\0');
    (void)fuzz_touch(d->data, d->len);
  }
  FUZZ_CHECK(d->len <= max);
  FUZZ_CHECK(memchr(d->charset, '\0', sizeof(d->charset)) != NULL);
}

static void check_part(const struct mime_message *msg,
                       const struct mime_part *p, unsigned index,
                       unsigned all_flags)
{
  const struct mime_limits *lim = mime_message_limits(msg);
  const struct mime_part *c;
  unsigned n = 0;
  struct mime_data d;

  FUZZ_CHECK(p->index == index);
  FUZZ_CHECK((p->flags & ~all_flags) == 0);
  FUZZ_CHECK(p->parent ? p->depth == p->parent->depth + 1 : p->depth == 0);
  FUZZ_CHECK(p->depth <= lim->max_depth);
  /* A reason exactly when a limit tripped here. */
  FUZZ_CHECK(
      (p->reason != NULL) ==
      ((p->flags & (MIME_PART_OVERFLOW | MIME_PART_HEADERS_TRUNCATED)) != 0));
  for(c = p->children; c; c = c->next) {
    FUZZ_CHECK(c->parent == p);
    n++;
  }
  FUZZ_CHECK(n == p->nchildren);
  FUZZ_CHECK(!(p->flags & MIME_PART_MESSAGE) || p->nchildren <= 1);

  FUZZ_CHECK(p->content_type != NULL && no_upper(p->content_type));
  FUZZ_CHECK(!p->charset || no_upper(p->charset));
  FUZZ_CHECK(!p->disposition || no_upper(p->disposition));
  check_utf8_str(p->filename);
  check_params(p->ct_params, p->nct_params);
  check_params(p->disp_params, p->ndisp_params);
  (void)mime_part_ct_param(p, "charset");
  (void)mime_part_ct_param(p, "name");
  check_headers(p);
  (void)fuzz_touch(p->header_raw, p->header_raw_len);
  (void)fuzz_touch(p->body, p->body_len);

  int leaf = mime_part_is_leaf(p);
  FUZZ_CHECK(!leaf || p->children == NULL);
  FUZZ_CHECK(mime_part_is_message_root(p) ==
             (!p->parent || (p->parent->flags & MIME_PART_MESSAGE)));
  if(leaf) {
    int att = mime_part_is_attachment(p), body = mime_part_is_body(p);
    FUZZ_CHECK(!(att && body));
  }

  if(mime_part_decode(msg, p, &d) == 0) {
    check_data(&d, lim->max_decoded_bytes);
    mime_data_free(&d);
    FUZZ_CHECK(d.data == NULL && d.len == 0);
  }
  if(leaf && mime_part_text(msg, p, &d) == 0) {
    check_data(&d, lim->max_decoded_bytes);
    FUZZ_CHECK(fuzz_utf8_ok(d.data, d.len));
    mime_data_free(&d);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct mime_limits lim;
  struct mime_message *msg = NULL;
  const struct mime_part *p;
  const char *err = NULL;
  unsigned n = 0, flags = 0;

  if(size < 2)
    return 0;
  memset(&lim, 0, sizeof(lim));
  lim.max_depth = 1 + (data[0] & 7);
  lim.max_parts = 2u << ((data[0] >> 3) & 7);
  lim.max_header_bytes = (data[0] & 0x40) ? 512 : 16384;
  lim.max_headers = (data[0] & 0x80) ? 8 : 200;
  lim.max_decoded_bytes = (size_t)64 << (data[1] % 16);
  data += 2;
  size -= 2;

  if(mime_parse(data, size, &lim, &msg, &err) < 0) {
    FUZZ_CHECK(msg == NULL && err != NULL);
    return 0;
  }
  FUZZ_CHECK(msg != NULL);
  const struct mime_limits *in_force = mime_message_limits(msg);
  FUZZ_CHECK(in_force->max_depth == lim.max_depth &&
             in_force->max_parts == lim.max_parts &&
             in_force->max_decoded_bytes == lim.max_decoded_bytes);
  for(p = mime_message_root(msg); p; p = mime_part_next(p))
    flags |= p->flags;
  FUZZ_CHECK(flags == mime_message_flags(msg));
  for(p = mime_message_root(msg); p; p = mime_part_next(p)) {
    check_part(msg, p, n, flags);
    n++;
    FUZZ_CHECK(n <= lim.max_parts);
  }
  FUZZ_CHECK(n == mime_message_part_count(msg));
  mime_message_free(&msg);
  FUZZ_CHECK(msg == NULL);
  return 0;
}
