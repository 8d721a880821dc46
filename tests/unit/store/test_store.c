#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

static char dir[256];

static int setup(void **state)
{
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/store-test.XXXXXX");
  assert_non_null(mkdtemp(dir));
  return 0;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd);
}

static void test_put_get_replace(void **state)
{
  char err[256], *v = NULL;
  struct store *s = store_open(dir, err, sizeof(err));
  (void)state;
  assert_non_null(s);
  assert_int_equal(store_get(s, "file:/a/b.xml", &v, err, sizeof(err)), 0);
  assert_int_equal(
      store_put(s, "file:/a/b.xml", "ok 3 events", err, sizeof(err)), 0);
  assert_int_equal(store_get(s, "file:/a/b.xml", &v, err, sizeof(err)), 1);
  assert_string_equal(v, "ok 3 events");
  free(v);
  assert_int_equal(
      store_put(s, "file:/a/b.xml", "rejected: bomb", err, sizeof(err)), 0);
  store_close(s);
  /* A new handle sees what the old one wrote: it is on disk. */
  s = store_open(dir, err, sizeof(err));
  assert_int_equal(store_get(s, "file:/a/b.xml", &v, err, sizeof(err)), 1);
  assert_string_equal(v, "rejected: bomb");
  free(v);
  assert_int_equal(store_get(s, "file:/a/c.xml", &v, err, sizeof(err)), 0);
  store_close(s);
}

static void test_mode_and_no_temp_left(void **state)
{
  char err[256];
  struct store *s = store_open(dir, err, sizeof(err));
  struct dirent *de;
  DIR *d;
  int files = 0;
  (void)state;
  assert_int_equal(store_put(s, "k1", "v1", err, sizeof(err)), 0);
  assert_int_equal(store_put(s, "k2", "v2", err, sizeof(err)), 0);
  store_close(s);
  d = opendir(dir);
  assert_non_null(d);
  while((de = readdir(d))) {
    char p[600];
    struct stat st;
    if(de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
      continue;
    assert_int_not_equal(de->d_name[0], '.'); /* no temp file left */
    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    files++;
  }
  closedir(d);
  assert_int_equal(files, 2);
}

/* store_put_many: all values land, replace old ones, leave no temporary
 * file; one value too large refuses the whole call before any write. */
static void test_put_many(void **state)
{
  char err[256], *v = NULL, big[70000];
  const char *keys[3] = { "m|a", "m|b", "m|c" };
  const char *vals[3] = { "1", "2", "3" };
  const char *vals2[3] = { "one", "two", big };
  struct store *s = store_open(dir, err, sizeof(err));
  struct dirent *de;
  DIR *d;
  int files = 0;
  (void)state;
  assert_int_equal(store_put(s, "m|b", "old", err, sizeof(err)), 0);
  assert_int_equal(store_put_many(s, keys, vals, 3, err, sizeof(err)), 0);
  for(int i = 0; i < 3; i++) {
    assert_int_equal(store_get(s, keys[i], &v, err, sizeof(err)), 1);
    assert_string_equal(v, vals[i]);
    free(v);
  }
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(store_put_many(s, keys, vals2, 3, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "m|c: value too large"));
  assert_int_equal(store_get(s, "m|a", &v, err, sizeof(err)), 1);
  assert_string_equal(v, "1"); /* untouched */
  free(v);
  assert_int_equal(store_put_many(s, keys, vals, 0, err, sizeof(err)), 0);
  store_close(s);
  d = opendir(dir);
  assert_non_null(d);
  while((de = readdir(d))) {
    if(de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
      continue;
    assert_int_not_equal(de->d_name[0], '.'); /* no temp file left */
    files++;
  }
  closedir(d);
  assert_int_equal(files, 3);
}

static char *long_value(size_t lines, unsigned seed)
{
  char *v = malloc(lines * 17 + 1);
  for(size_t i = 0; i < lines; i++)
    snprintf(v + i * 17, 18, "%016zx\n", i * 2654435761u + seed);
  return v;
}

/* store_put_long / store_get_long: short and multi-record values round
 * trip, a new value replaces an old one whole, and parts written for the
 * next value (a crash before the switch) leave the current one intact. */
static void test_long_values(void **state)
{
  char err[256], *v = NULL, *a = long_value(12000, 1), *b = long_value(9000, 2),
                 *c = long_value(15000, 3), noseps[150001];
  struct store *s = store_open(dir, err, sizeof(err));
  (void)state;
  assert_int_equal(store_get_long(s, "L", &v, err, sizeof(err)), 0);
  assert_int_equal(store_put_long(s, "L", "1:5,7", err, sizeof(err)), 0);
  assert_int_equal(store_get(s, "L", &v, err, sizeof(err)), 1);
  assert_string_equal(v, "1\n1:5,7"); /* one record: as it always was */
  free(v);
  assert_int_equal(store_get_long(s, "L", &v, err, sizeof(err)), 1);
  assert_string_equal(v, "1:5,7");
  free(v);
  /* 204 KB: four records; then 153 KB and 255 KB over it */
  assert_int_equal(store_put_long(s, "L", a, err, sizeof(err)), 0);
  assert_int_equal(store_get_long(s, "L", &v, err, sizeof(err)), 1);
  assert_string_equal(v, a);
  free(v);
  assert_int_equal(store_put_long(s, "L", b, err, sizeof(err)), 0);
  assert_int_equal(store_get_long(s, "L", &v, err, sizeof(err)), 1);
  assert_string_equal(v, b);
  free(v);
  assert_int_equal(store_put_long(s, "L", c, err, sizeof(err)), 0);
  /* a crash while the next value was being written: its parts are there,
   * the switch is not */
  assert_int_equal(store_get(s, "L", &v, err, sizeof(err)), 1);
  assert_non_null(strstr(v, "/1\n")); /* generation 1 now: 2 is next */
  free(v);
  assert_int_equal(store_put(s, "L#2.1", "garbage\n", err, sizeof(err)), 0);
  assert_int_equal(store_put(s, "L#2.2", "more garbage\n", err, sizeof(err)),
                   0);
  assert_int_equal(store_get_long(s, "L", &v, err, sizeof(err)), 1);
  assert_string_equal(v, c);
  free(v);
  /* no separator at all: cut anywhere */
  memset(noseps, 'u', sizeof(noseps) - 1);
  noseps[sizeof(noseps) - 1] = '\0';
  assert_int_equal(store_put_long(s, "N", noseps, err, sizeof(err)), 0);
  assert_int_equal(store_get_long(s, "N", &v, err, sizeof(err)), 1);
  assert_string_equal(v, noseps);
  free(v);
  /* the format before generations is still read */
  assert_int_equal(store_put(s, "O", "2\n1:5,", err, sizeof(err)), 0);
  assert_int_equal(store_put(s, "O#1", "9:12", err, sizeof(err)), 0);
  assert_int_equal(store_get_long(s, "O", &v, err, sizeof(err)), 1);
  assert_string_equal(v, "1:5,9:12");
  free(v);
  /* a missing part is an error, not a shorter value */
  assert_int_equal(store_put(s, "P", "3/1\nabc,", err, sizeof(err)), 0);
  assert_int_equal(store_put(s, "P#1.1", "def,", err, sizeof(err)), 0);
  assert_int_equal(store_get_long(s, "P", &v, err, sizeof(err)), -1);
  assert_null(v);
  assert_non_null(strstr(err, "part 3 of 3 missing"));
  free(a);
  free(b);
  free(c);
  store_close(s);
}

static void test_null_store_keeps_nothing(void **state)
{
  char err[256], *v = NULL;
  struct store *s = store_open(NULL, err, sizeof(err));
  (void)state;
  assert_non_null(s);
  assert_int_equal(store_put(s, "k", "v", err, sizeof(err)), 0);
  assert_int_equal(store_get(s, "k", &v, err, sizeof(err)), 0);
  store_close(s);
}

static void test_unwritable_folder_keeps_old_value(void **state)
{
  char err[256], *v = NULL;
  struct store *s = store_open(dir, err, sizeof(err));
  (void)state;
  assert_int_equal(store_put(s, "k", "old", err, sizeof(err)), 0);
  if(geteuid() != 0) { /* root ignores the mode bits */
    chmod(dir, 0500);
    assert_int_equal(store_put(s, "k", "new", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot write checkpoint"));
    chmod(dir, 0700);
  }
  assert_int_equal(store_get(s, "k", &v, err, sizeof(err)), 1);
  assert_string_equal(v, "old");
  free(v);
  store_close(s);
}

static void test_missing_parent_is_error(void **state)
{
  char err[256];
  (void)state;
  assert_null(store_open("/nonexistent-dir/x/y", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent-dir/x/y"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_put_get_replace, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mode_and_no_temp_left, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_put_many, setup, teardown),
    cmocka_unit_test_setup_teardown(test_long_values, setup, teardown),
    cmocka_unit_test_setup_teardown(test_null_store_keeps_nothing, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_unwritable_folder_keeps_old_value,
                                    setup, teardown),
    cmocka_unit_test_setup_teardown(test_missing_parent_is_error, setup,
                                    teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
