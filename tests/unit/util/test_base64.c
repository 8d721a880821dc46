/*
 * util/base64: the stream decoder hands out, buffer by buffer and whatever
 * the buffer size, exactly the bytes and flags of a decode in one go, on
 * clean and on damaged input (blanks, junk, padding in the middle, a lone
 * sextet, URL-safe letters, no padding at the end); a limited decode keeps
 * the longest prefix; the encoder writes what Python's b64encode does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"

static const char *const inputs[] = {
  "",
  "TWFu",
  "TWE=",
  "TQ==",
  "TW",
  "T",
  "SGVsbG8sIHdvcmxkIQ==",
  "SGVs\r\nbG8s\r\n IHdv\tcmxk IQ==\r\n",
  "SGVsbG8=SGVsbG8=",       /* padding in the middle */
  "SGV*sbG8@@sIHdv!cmxkIQ", /* junk between characters */
  "-_-_-_-_",               /* URL-safe alphabet */
  "QUJD=X",                 /* a lone sextet after padding */
  "QUJDRA==QQ",
};

/* Decode s with a stream and an output buffer of cap bytes. */
static void streamed(const char *s, size_t len, size_t cap, unsigned char *out,
                     size_t *n, unsigned *flags)
{
  struct base64_stream st;
  unsigned char *buf = malloc(cap);
  size_t k;

  assert_non_null(buf);
  *n = 0;
  base64_stream_init(&st, s, len);
  while((k = base64_stream_next(&st, buf, cap)) > 0) {
    memcpy(out + *n, buf, k);
    *n += k;
  }
  assert_true(st.done);
  *flags = st.flags;
  free(buf);
}

static void check(const char *s, size_t len)
{
  struct buf whole;
  unsigned wflags = 0;
  unsigned char *out = malloc(len + 8);

  assert_non_null(out);
  buf_init(&whole, (size_t)-1);
  assert_int_equal(base64_decode(s, len, &whole, &wflags), 0);
  for(size_t cap = 6; cap <= 64; cap++) {
    size_t n;
    unsigned flags;
    streamed(s, len, cap, out, &n, &flags);
    assert_int_equal(n, whole.len);
    assert_memory_equal(out, whole.data, n);
    assert_int_equal(flags, wflags);
  }
  /* and with every limit, the longest prefix, marked cut when it is one */
  for(size_t max = 0; max <= whole.len && max < 64; max++) {
    struct buf cut;
    unsigned cflags = 0;
    buf_init(&cut, max);
    assert_int_equal(base64_decode(s, len, &cut, &cflags), 0);
    assert_int_equal(cut.len, max);
    if(max)
      assert_memory_equal(cut.data, whole.data, max);
    assert_int_equal(!!(cflags & BASE64_TRUNCATED), max < whole.len);
    buf_free(&cut);
  }
  buf_free(&whole);
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
  struct buf d;
  unsigned flags = 0;
  (void)state;
  buf_init(&d, 4);
  assert_int_equal(base64_decode("SGVsbG8sIHdvcmxkIQ==", 20, &d, &flags), 0);
  assert_int_equal(d.len, 4);
  assert_memory_equal(d.data, "Hell", 4);
  assert_true(flags & BASE64_TRUNCATED);
  buf_free(&d);
}

/* The encoder: RFC 4648's test vectors, and a round trip of every byte. */
static void encode(void **state)
{
  static const char *const v[][2] = {
    { "", "" },
    { "f", "Zg==" },
    { "fo", "Zm8=" },
    { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" },
    { "fooba", "Zm9vYmE=" },
    { "foobar", "Zm9vYmFy" },
  };
  unsigned char all[256];
  struct buf b, d;
  unsigned flags = 0;

  (void)state;
  for(size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    buf_init(&b, 64);
    assert_int_equal(base64_encode(&b, v[i][0], strlen(v[i][0])), 0);
    assert_string_equal(b.data, v[i][1]);
    buf_free(&b);
  }
  for(int i = 0; i < 256; i++)
    all[i] = (unsigned char)(255 - i);
  buf_init(&b, 1024);
  assert_int_equal(base64_encode(&b, all, sizeof(all)), 0);
  assert_int_equal(b.len, 344);
  buf_init(&d, 1024);
  assert_int_equal(base64_decode(b.data, b.len, &d, &flags), 0);
  assert_int_equal(flags, 0);
  assert_int_equal(d.len, 256);
  assert_memory_equal(d.data, all, 256);
  buf_free(&d);
  buf_free(&b);
  /* too long for the buffer: refused, buffer unchanged */
  buf_init(&b, 7);
  assert_int_equal(base64_encode(&b, "foobar", 6), -1);
  assert_int_equal(b.len, 0);
  buf_free(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(same_as_whole),
    cmocka_unit_test(long_damaged_input),
    cmocka_unit_test(limit_truncates),
    cmocka_unit_test(encode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
