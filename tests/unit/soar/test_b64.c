/*
 * soar-imap-c/b64: the stream decoder hands out, buffer by buffer and
 * whatever the buffer size, exactly the bytes and flags of a decode in one
 * go, on clean and on damaged input (blanks, junk, padding in the middle,
 * a lone sextet, URL-safe letters, no padding at the end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "b64.h"

static const char *const inputs[] = {
  "",
  "TWFu",
  "TWE=",
  "TQ==",
  "TW",
  "T",
  "SGVsbG8sIHdvcmxkIQ==",
  "SGVs\r\nbG8s\r\n IHdv\tcmxk IQ==\r\n",
  "SGVsbG8=SGVsbG8=",            /* padding in the middle */
  "SGV*sbG8@@sIHdv!cmxkIQ",      /* junk between characters */
  "-_-_-_-_",                    /* URL-safe alphabet */
  "QUJD=X",                      /* a lone sextet after padding */
  "QUJDRA==QQ",
};

/* Decode s with a stream and an output buffer of cap bytes. */
static void streamed(const char *s, size_t len, size_t cap, unsigned char *out,
                     size_t *n, unsigned *flags)
{
  struct soar_b64_stream st;
  unsigned char *buf = malloc(cap);
  size_t k;

  assert_non_null(buf);
  *n = 0;
  soar_b64_stream_init(&st, s, len);
  while((k = soar_b64_stream_next(&st, buf, cap)) > 0) {
    memcpy(out + *n, buf, k);
    *n += k;
  }
  assert_true(st.done);
  *flags = st.flags;
  free(buf);
}

static void check(const char *s, size_t len)
{
  struct mime_data whole;
  unsigned char *out = malloc(len + 8);

  assert_non_null(out);
  assert_int_equal(soar_b64_decode(s, len, 0, &whole), 0);
  for(size_t cap = 6; cap <= 64; cap++) {
    size_t n;
    unsigned flags;
    streamed(s, len, cap, out, &n, &flags);
    assert_int_equal(n, whole.len);
    assert_memory_equal(out, whole.data, n);
    assert_int_equal(flags, whole.flags & ~MIME_DATA_TRUNCATED);
  }
  mime_data_free(&whole);
  free(out);
}

static void same_as_whole(void **state)
{
  (void)state;
  for(size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
    check(inputs[i], strlen(inputs[i]));
}

/* 200 KB of mail-style base64 with a stray character every few lines. */
static void long_damaged_input(void **state)
{
  static const char a[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t len = 200 * 1024, k = 0;
  char *s = malloc(len + 1);
  unsigned seed = 7;

  (void)state;
  assert_non_null(s);
  while(k < len) {
    seed = seed * 1103515245u + 12345u;
    if(k % 78 == 76)
      s[k++] = '\r';
    else if(k % 78 == 77)
      s[k++] = '\n';
    else
      s[k++] = (seed >> 16) % 997 == 0 ? '%' : a[(seed >> 16) % 64];
  }
  s[len] = '\0';
  check(s, len);
  free(s);
}

/* The whole-buffer decoder with a limit still says it cut. */
static void limit_truncates(void **state)
{
  struct mime_data d;
  (void)state;
  assert_int_equal(soar_b64_decode("SGVsbG8sIHdvcmxkIQ==", 20, 4, &d), 0);
  assert_int_equal(d.len, 4);
  assert_memory_equal(d.data, "Hell", 4);
  assert_true(d.flags & MIME_DATA_TRUNCATED);
  mime_data_free(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(same_as_whole),
    cmocka_unit_test(long_damaged_input),
    cmocka_unit_test(limit_truncates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
