/* Unit tests for common/util: bounded buffers, number parsing, escapes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "log.h"
#include "util.h"

static void test_buf_ceiling(void **state)
{
  struct buf b;
  (void)state;
  buf_init(&b, 8);
  assert_int_equal(buf_puts(&b, "12345678"), 0);
  assert_int_equal(buf_putc(&b, '9'), -1); /* over the ceiling */
  assert_int_equal(b.len, 8);
  assert_string_equal(b.data, "12345678"); /* unchanged */
  buf_reset(&b);
  assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
  assert_string_equal(b.data, "42-x");
  assert_int_equal(buf_printf(&b, "%s", "toolong"), -1);
  char *s = buf_steal(&b);
  assert_string_equal(s, "42-x");
  assert_null(b.data);
  free(s);
  buf_free(&b);
}

static void test_parse_u64(void **state)
{
  uint64_t v;
  (void)state;
  assert_int_equal(util_parse_u64(" 42\n", 0, 100, &v), 0);
  assert_int_equal(v, 42);
  assert_int_equal(util_parse_u64("18446744073709551615", 0, UINT64_MAX, &v),
                   0);
  assert_int_equal(util_parse_u64("18446744073709551616", 0, UINT64_MAX, &v),
                   -1);
  assert_int_equal(util_parse_u64("101", 0, 100, &v), -1);
  assert_int_equal(util_parse_u64("-1", 0, 100, &v), -1);
  assert_int_equal(util_parse_u64("1e3", 0, 10000, &v), -1);
  assert_int_equal(util_parse_u64("", 0, 100, &v), -1);
  assert_int_equal(util_parse_u64("   ", 0, 100, &v), -1);
}

static const char *json(const char *s, size_t len, int lower)
{
  static struct buf b;
  buf_free(&b);
  buf_init(&b, 1 << 20);
  assert_int_equal(util_json_escape_case(&b, s, len, lower), 0);
  return b.data ? b.data : "";
}

/* Python's json.dumps(ensure_ascii=True) spelling, byte for byte. */
static void test_json_escape_like_python(void **state)
{
  (void)state;
  assert_string_equal(json("a\"b\\c", 5, 0), "a\\\"b\\\\c");
  assert_string_equal(json("\n\r\t\b\f\x01\x1f", 7, 0),
                      "\\n\\r\\t\\b\\f\\u0001\\u001f");
  assert_string_equal(json("caf\xc3\xa9", 5, 0), "caf\\u00e9");
  assert_string_equal(json("\xe2\x82\xac", 3, 0), "\\u20ac");
  assert_string_equal(json("\xf0\x9f\x98\x80", 4, 0), "\\ud83d\\ude00");
  /* Invalid UTF-8 (a lone continuation, an overlong, a surrogate) becomes
   * U+FFFD, one per bad byte. */
  assert_string_equal(json("\x80", 1, 0), "\\ufffd");
  assert_string_equal(json("\xc0\xaf", 2, 0), "\\ufffd\\ufffd");
  assert_string_equal(json("\xed\xa0\x80", 3, 0), "\\ufffd\\ufffd\\ufffd");
  assert_string_equal(json("A\0B", 3, 0), "A\\u0000B");
  assert_string_equal(json("Example.COM \xc3\x89", 14, 1),
                      "example.com \\u00c9");
  assert_string_equal(json("", 0, 0), "");
}

/* The eight-bytes-at-a-time path must agree with the byte path: every
 * byte value at every position of a 16-byte ASCII run, both cases. */
static void test_json_escape_fast_path_agrees(void **state)
{
  (void)state;
  for(int lower = 0; lower < 2; lower++)
    for(int pos = 0; pos < 16; pos++)
      for(int c = 1; c < 256; c++) {
        char in[17] = "abcdefghijklmnop", want[64];
        const char *got;
        in[pos] = (char)c;
        got = json(in, 16, lower);
        /* Reference: the same string escaped one byte per call. */
        struct buf r;
        buf_init(&r, 1024);
        for(int k = 0; k < 16; k++) {
          if((unsigned char)in[k] >= 0x80) { /* a lone high byte: U+FFFD */
            buf_puts(&r, "\\ufffd");
            continue;
          }
          util_json_escape_case(&r, in + k, 1, lower);
        }
        snprintf(want, sizeof(want), "%s", r.data);
        buf_free(&r);
        if(strcmp(got, want))
          fail_msg("byte %02x at %d lower %d: got %s want %s", c, pos, lower,
                   got, want);
      }
}

static void test_json_escape_respects_ceiling(void **state)
{
  struct buf b;
  (void)state;
  buf_init(&b, 10);
  assert_int_equal(util_json_escape(&b, "0123456789abcdef", 16), -1);
  buf_free(&b);
}

static void test_xml_escape(void **state)
{
  struct buf b;
  (void)state;
  buf_init(&b, 1 << 20);
  static const char in[] = "<a href=\"x\">&\x01\x0b\t\n</a>\xc3\xa9\xff";
  assert_int_equal(util_xml_escape(&b, in, sizeof(in) - 1), 0);
  assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;\t\n&lt;/a&gt;"
                              "\xc3\xa9\xef\xbf\xbd");
  buf_free(&b);
}

static void test_log_levels(void **state)
{
  enum log_level l;
  (void)state;
  assert_int_equal(log_level_parse("DEBUG", &l), 0);
  assert_int_equal(l, LOG_DEBUG);
  assert_int_equal(log_level_parse("warning", &l), 0);
  assert_int_equal(l, LOG_WARN);
  assert_int_equal(log_level_parse("loud", &l), -1);
}

/* util_write_file_atomic: contents replaced whole, 0600 exact whatever the
 * umask, no temporary file left behind, a failure names the file. */
static void test_write_file_atomic(void **state)
{
  char dir[] = "/tmp/util-test.XXXXXX", path[64], data[16], err[256];
  struct stat st;
  FILE *f;
  DIR *d;
  struct dirent *de;
  int files = 0;
  mode_t old;

  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/secret", dir);
  old = umask(0277);
  assert_int_equal(
      util_write_file_atomic(path, "one", 3, 0600, 0, err, sizeof(err)), 0);
  assert_int_equal(
      util_write_file_atomic(path, "two!", 4, 0600, 0, err, sizeof(err)), 0);
  umask(old);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_non_null(f = fopen(path, "rb"));
  assert_int_equal(fread(data, 1, sizeof(data), f), 4);
  assert_memory_equal(data, "two!", 4);
  fclose(f);
  assert_non_null(d = opendir(dir));
  while((de = readdir(d)))
    if(de->d_name[0] != '.' || strncmp(de->d_name, ".secret", 7) == 0)
      files++;
  closedir(d);
  assert_int_equal(files, 1);
  /* a directory that is not there */
  snprintf(path, sizeof(path), "%s/none/x", dir);
  assert_int_equal(
      util_write_file_atomic(path, "x", 1, 0600, 0, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "/none/"));
  snprintf(path, sizeof(path), "%s/secret", dir);
  unlink(path);
  rmdir(dir);
}

/* Temporary files of a process that died mid-write are removed; those of
 * live processes and everything else stay. */
static void touch(const char *dir, const char *name)
{
  char p[512];
  FILE *f;

  snprintf(p, sizeof(p), "%s/%s", dir, name);
  f = fopen(p, "w");
  assert_non_null(f);
  fclose(f);
}

static bool exists(const char *dir, const char *name)
{
  char p[512];

  snprintf(p, sizeof(p), "%s/%s", dir, name);
  return access(p, F_OK) == 0;
}

static void test_atomic_sweep(void **state)
{
  char dir[] = "/tmp/sweep.XXXXXX", dead[64], live[64], odd[64];
  pid_t child;

  (void)state;
  assert_non_null(mkdtemp(dir));
  child = fork();
  assert_true(child >= 0);
  if(child == 0)
    _exit(0);
  assert_int_equal(waitpid(child, NULL, 0), child);
  snprintf(dead, sizeof(dead), ".key.tmp.%ld.3", (long)child);
  snprintf(live, sizeof(live), ".key.tmp.%ld.1", (long)getppid());
  snprintf(odd, sizeof(odd), ".key.tmp.%ld.x", (long)child);
  touch(dir, dead);
  touch(dir, live);
  touch(dir, odd); /* not a name util_atomic_open makes */
  touch(dir, "key");
  touch(dir, ".key.tmp");
  assert_int_equal(util_atomic_sweep(dir), 1);
  assert_false(exists(dir, dead));
  assert_true(exists(dir, live));
  assert_true(exists(dir, odd));
  assert_true(exists(dir, "key"));
  assert_true(exists(dir, ".key.tmp"));
  assert_int_equal(util_atomic_sweep("/nonexistent/dir"), -1);
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_buf_ceiling),
    cmocka_unit_test(test_parse_u64),
    cmocka_unit_test(test_json_escape_like_python),
    cmocka_unit_test(test_json_escape_fast_path_agrees),
    cmocka_unit_test(test_json_escape_respects_ceiling),
    cmocka_unit_test(test_xml_escape),
    cmocka_unit_test(test_log_levels),
    cmocka_unit_test(test_write_file_atomic),
    cmocka_unit_test(test_atomic_sweep),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  json("", 0, 0);
  return rc;
}
