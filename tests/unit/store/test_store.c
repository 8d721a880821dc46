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

#include "store/store.h"

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
  assert_int_equal(store_put(s, "file:/a/b.xml", "ok 3 events", err, sizeof(err)), 0);
  assert_int_equal(store_get(s, "file:/a/b.xml", &v, err, sizeof(err)), 1);
  assert_string_equal(v, "ok 3 events");
  free(v);
  assert_int_equal(store_put(s, "file:/a/b.xml", "rejected: bomb", err, sizeof(err)), 0);
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
    assert_int_not_equal(de->d_name[0], '.');   /* no temp file left */
    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    files++;
  }
  closedir(d);
  assert_int_equal(files, 2);
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
  if(geteuid() != 0) {   /* root ignores the mode bits */
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
    cmocka_unit_test_setup_teardown(test_mode_and_no_temp_left, setup, teardown),
    cmocka_unit_test_setup_teardown(test_null_store_keeps_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unwritable_folder_keeps_old_value, setup, teardown),
    cmocka_unit_test_setup_teardown(test_missing_parent_is_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
