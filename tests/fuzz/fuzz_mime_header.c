/*
 * fuzz_mime_header: the header-value decoders of common/mail/mime/mime.h one at
 * a time: RFC 2047 encoded words (mime_header_decode), RFC 2231 parameters
 * (a Content-Type and a Content-Disposition wrapped into a tiny message and
 * read back through the parsed part), RFC 5322 dates (mime_parse_date) and
 * charset conversion (mime_charset_to_utf8, the charset named by the input).
 *
 * Input layout:
 *   byte 0  mode, n % 4:
 *           0  mime_header_decode(rest)
 *           1  rest = "<Content-Type value>\n<Content-Disposition value>"
 *           2  mime_parse_date(rest up to its first NUL)
 *           3  byte 1: length of the charset name, n % 24; byte 2: the
 *              output cap, 16 << (n % 16) (none when n is 255); then the
 *              name, then the text
 *   rest    as the mode says
 * Every decoded value must be valid UTF-8 without NUL, as mime.h promises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "fuzz_common.h"

static void decode_words(const uint8_t *data, size_t size)
{
  size_t len = (size_t)-1;
  char *s = mime_header_decode((const char *)data, size, &len);

  if(!s)
    return;
  FUZZ_CHECK(len == strlen(s));
  FUZZ_CHECK(fuzz_utf8_ok(s, len));
  /* Decoding is idempotent on text without "=?": no words left to find. */
  if(!memmem(s, len, "=?", 2)) {
    size_t len2;
    char *t = mime_header_decode(s, len, &len2);
    if(t) {
      FUZZ_CHECK(len2 == len && memcmp(s, t, len) == 0);
      free(t);
    }
  }
  free(s);
}

static void check_params(const struct mime_param *p, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    FUZZ_CHECK(p[i].name && p[i].value);
    /* A name is lower case; "*" stays only where it is not RFC 2231
     * syntax ("a*b", "x*1000"), as written. */
    FUZZ_CHECK(!(p[i].name[0] && p[i].name[strlen(p[i].name) - 1] == '*' &&
                 strchr(p[i].name, '*') == p[i].name + strlen(p[i].name) - 1));
    FUZZ_CHECK(fuzz_utf8_ok(p[i].value, strlen(p[i].value)));
  }
}

static void parameters(const uint8_t *data, size_t size)
{
  static const char ct[] = "Content-Type: ", cd[] = "\r\nContent-Disposition: ",
                    tail[] = "\r\n\r\nbody\r\n";
  const uint8_t *nl = memchr(data, '\n', size);
  size_t ctlen = nl ? (size_t)(nl - data) : size;
  size_t cdlen = nl ? size - ctlen - 1 : 0;
  size_t total =
      sizeof(ct) - 1 + ctlen + sizeof(cd) - 1 + cdlen + sizeof(tail) - 1;
  char *msgtext = malloc(total), *w = msgtext;
  struct mime_message *msg;
  struct mime_limits lim;

  if(!msgtext)
    return;
  memcpy(w, ct, sizeof(ct) - 1), w += sizeof(ct) - 1;
  memcpy(w, data, ctlen), w += ctlen;
  memcpy(w, cd, sizeof(cd) - 1), w += sizeof(cd) - 1;
  if(cdlen)
    memcpy(w, nl + 1, cdlen), w += cdlen;
  memcpy(w, tail, sizeof(tail) - 1);

  /* A multipart type must not send the parser looking far: depth 1. */
  memset(&lim, 0, sizeof(lim));
  lim.max_depth = 1;
  lim.max_parts = 4;
  lim.max_decoded_bytes = 4096;
  if(mime_parse(msgtext, total, &lim, &msg, NULL) == 0) {
    const struct mime_part *root = mime_message_root(msg);

    check_params(root->ct_params, root->nct_params);
    check_params(root->disp_params, root->ndisp_params);
    for(size_t i = 0; i < root->nct_params; i++)
      FUZZ_CHECK(mime_part_ct_param(root, root->ct_params[i].name) != NULL);
    if(root->filename)
      FUZZ_CHECK(fuzz_utf8_ok(root->filename, strlen(root->filename)));
    if(root->charset) {
      struct mime_data d;
      if(mime_charset_to_utf8(root->charset, "caf\xe9", 4, 0, &d) == 0) {
        FUZZ_CHECK(fuzz_utf8_ok(d.data, d.len));
        mime_data_free(&d);
      }
    }
    mime_message_free(&msg);
  }
  free(msgtext);
}

static void date(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  int64_t t = 0;

  if(!s)
    return;
  memcpy(s, data, size);
  s[size] = '\0';
  /* Nothing to compare with; UBSan watches the date arithmetic. */
  if(mime_parse_date(s, &t) == 0)
    (void)fuzz_touch(&t, sizeof(t));
  free(s);
}

static void charset(const uint8_t *data, size_t size)
{
  char name[24];
  size_t nlen, max;
  struct mime_data d;

  if(size < 2)
    return;
  nlen = data[0] % sizeof(name);
  max = data[1] == 255 ? 0 : (size_t)16 << (data[1] % 16);
  data += 2;
  size -= 2;
  if(nlen > size)
    nlen = size;
  memcpy(name, data, nlen);
  name[nlen] = '\0';
  data += nlen;
  size -= nlen;
  if(mime_charset_to_utf8(nlen ? name : NULL, (const char *)data, size, max,
                          &d) < 0)
    return;
  FUZZ_CHECK(d.data != NULL && d.data[d.len] == '\0');
  FUZZ_CHECK(max == 0 || d.len <= max);
  FUZZ_CHECK(fuzz_utf8_ok(d.data, d.len));
  FUZZ_CHECK(memchr(d.charset, '\0', sizeof(d.charset)) != NULL);
  mime_data_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1)
    return 0;
  switch(data[0] % 4) {
  case 0: decode_words(data + 1, size - 1); break;
  case 1: parameters(data + 1, size - 1); break;
  case 2: date(data + 1, size - 1); break;
  default: charset(data + 1, size - 1); break;
  }
  return 0;
}
