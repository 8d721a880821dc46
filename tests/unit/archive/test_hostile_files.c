/*
 * Runs tests/data/gen_hostile.py into a temporary directory and walks every
 * file it writes with the default limits: checks both that the generator
 * really produces what the integration tests expect and that the archive
 * walker rejects each hostile file for the right reason.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "archive.h"

static char outdir[256];

struct seen {
  unsigned leaves, ended_ok, ended_bad;
  uint64_t bytes;
  char first_name[128];
};

static int h_begin(void *ud, const char *name, unsigned depth)
{
  struct seen *s = ud;

  (void)depth;
  if(s->leaves++ == 0)
    snprintf(s->first_name, sizeof(s->first_name), "%s", name);
  return 0;
}

static int h_data(void *ud, const void *buf, size_t len)
{
  struct seen *s = ud;

  (void)buf;
  s->bytes += len;
  return 0;
}

static void h_end(void *ud, int status)
{
  struct seen *s = ud;

  if(status == 0)
    s->ended_ok++;
  else
    s->ended_bad++;
}

static const struct archive_handler handler = { h_begin, h_data, h_end };

static int walk_file(const char *name, struct seen *s,
                     struct archive_error *err)
{
  char path[512];
  int fd, rc;

  snprintf(path, sizeof(path), "%s/%s", outdir, name);
  fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  memset(s, 0, sizeof(*s));
  rc = archive_walk_fd(fd, name, NULL, &handler, s, err);
  close(fd);
  return rc;
}

static int setup(void **state)
{
  const char *src = getenv("SRCDIR");
  char cmd[1024];

  (void)state;
  snprintf(outdir, sizeof(outdir), "/tmp/archive-hostile-XXXXXX");
  if(mkdtemp(outdir) == NULL)
    return -1;
  snprintf(cmd, sizeof(cmd), "python3 '%s/tests/data/gen_hostile.py' '%s'",
           src != NULL ? src : ".", outdir);
  return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  char cmd[512];

  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outdir);
  return system(cmd) == 0 ? 0 : -1;
}

static void test_good_and_empty(void **state)
{
  struct archive_error err;
  struct seen s;

  (void)state;
  assert_int_equal(walk_file("good.xml", &s, &err), 0);
  assert_int_equal(s.leaves, 1);
  assert_int_equal(s.ended_ok, 1);
  assert_true(s.bytes > 500);
  assert_int_equal(walk_file("empty.xml", &s, &err), 0);
  assert_int_equal(s.leaves, 1);
  assert_int_equal(s.bytes, 0);
}

static void test_gzip_bomb(void **state)
{
  struct archive_error err;
  struct seen s;

  (void)state;
  assert_int_equal(walk_file("gzip_bomb.xml.gz", &s, &err), -1);
  assert_int_equal(err.permanent, 1);
  assert_non_null(strstr(err.msg, "(max_bytes)"));
  assert_true(s.bytes <= 100000000);
  assert_int_equal(s.ended_bad, 1);
}

static void test_zip_bomb_lying(void **state)
{
  struct archive_error err;
  struct seen s;

  (void)state;
  assert_int_equal(walk_file("zip_bomb_lying.zip", &s, &err), -1);
  assert_int_equal(err.permanent, 1);
  assert_non_null(strstr(err.msg, "member 'report.xml': inflates past its "
                                  "declared size of 1000 bytes"));
  assert_true(s.bytes <= 1000);
}

static void test_zip_bomb_overlap(void **state)
{
  struct archive_error err;
  struct seen s;

  (void)state;
  assert_int_equal(walk_file("zip_bomb_overlap.zip", &s, &err), -1);
  assert_int_equal(err.permanent, 1);
  assert_non_null(strstr(err.msg, "overlap"));
  assert_int_equal(s.leaves, 0);
  assert_int_equal(s.bytes, 0);
}

static void test_nested_too_deep(void **state)
{
  struct archive_error err;
  struct seen s;

  (void)state;
  assert_int_equal(walk_file("nested_too_deep.xml.gz.gz.gz.gz.gz", &s, &err),
                   -1);
  assert_int_equal(err.permanent, 1);
  assert_non_null(strstr(err.msg, "gzip layer 4"));
  assert_non_null(strstr(err.msg, "(max_depth)"));
  assert_int_equal(s.leaves, 0);
}

static void test_truncated_and_bad_crc(void **state)
{
  struct archive_error err;
  struct seen s;

  (void)state;
  assert_int_equal(walk_file("truncated.xml.gz", &s, &err), -1);
  assert_int_equal(err.permanent, 1);
  assert_non_null(strstr(err.msg, "gzip layer 1 ('truncated.xml.gz')"));
  assert_int_equal(s.ended_ok, 0);

  assert_int_equal(walk_file("bad_crc.zip", &s, &err), -1);
  assert_int_equal(err.permanent, 1);
  assert_non_null(strstr(err.msg, "member 'report.xml': CRC mismatch"));
  assert_int_equal(s.ended_ok, 0);
  assert_int_equal(s.ended_bad, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_good_and_empty),
    cmocka_unit_test(test_gzip_bomb),
    cmocka_unit_test(test_zip_bomb_lying),
    cmocka_unit_test(test_zip_bomb_overlap),
    cmocka_unit_test(test_nested_too_deep),
    cmocka_unit_test(test_truncated_and_bad_crc),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
