/*
 * A folder of small files, one per key.  Why not one state file: a folder
 * input can see tens of thousands of files, and rewriting one growing file
 * on every checkpoint would make a run quadratic; a crash would also risk
 * every key at once instead of the one being written.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "file.h"
#include "util.h"

/* A value is a short status line; anything larger is not ours. */
#define STORE_MAX_FILE (64 * 1024)

struct store {
  char *dir; /* NULL: the store keeps nothing */
  int dirfd;
};

struct store *store_open(const char *dir, char *err, size_t errlen)
{
  struct store *s = calloc(1, sizeof(*s));

  if(!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  s->dirfd = -1;
  if(!dir)
    return s;
  if(mkdir(dir, 0700) < 0 && errno != EEXIST) {
    snprintf(err, errlen, "checkpoint folder %s: %s", dir, strerror(errno));
    free(s);
    return NULL;
  }
  s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(s->dirfd < 0) {
    snprintf(err, errlen, "checkpoint folder %s: %s", dir, strerror(errno));
    free(s);
    return NULL;
  }
  s->dir = strdup(dir);
  /* a run killed in the middle of a put left its temporary file behind */
  util_atomic_sweep(dir);
  return s;
}

void store_close(struct store *s)
{
  if(!s)
    return;
  if(s->dirfd >= 0)
    close(s->dirfd);
  free(s->dir);
  free(s);
}

/* File name for a key: hex SHA-256, so any key (paths, mailbox names with
 * slashes, server names) maps to one safe name. */
static void key_name(const char *key, char name[65])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;

  EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
  for(unsigned i = 0; i < 32; i++) {
    name[2 * i] = hex[md[i] >> 4];
    name[2 * i + 1] = hex[md[i] & 15];
  }
  name[64] = '\0';
}

int store_get(struct store *s, const char *key, char **value_r, char *err,
              size_t errlen)
{
  char name[65], data[STORE_MAX_FILE + 1];
  size_t klen = strlen(key), len = 0;
  ssize_t n;
  int fd;

  *value_r = NULL;
  if(s->dirfd < 0)
    return 0;
  key_name(key, name);
  fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
  if(fd < 0) {
    if(errno == ENOENT)
      return 0;
    snprintf(err, errlen, "checkpoint %s/%s: %s", s->dir, name,
             strerror(errno));
    return -1;
  }
  while(len < sizeof(data) - 1 &&
        (n = read(fd, data + len, sizeof(data) - 1 - len)) != 0) {
    if(n < 0) {
      if(errno == EINTR)
        continue;
      snprintf(err, errlen, "checkpoint %s/%s: %s", s->dir, name,
               strerror(errno));
      close(fd);
      return -1;
    }
    len += (size_t)n;
  }
  close(fd);
  data[len] = '\0';
  /* Layout: key NUL value.  A file for another key (a hash collision, or a
   * file someone else put here) is a miss, not an error. */
  if(len < klen + 1 || memcmp(data, key, klen) || data[klen] != '\0')
    return 0;
  *value_r = strdup(data + klen + 1);
  if(!*value_r) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 1;
}

/* Write key and value to a new temporary file for path, fsynced.  Returns
 * 0, or -1 with errno set (abort a to remove what is left). */
static int write_temp(struct util_atomic *a, const char *path, const char *key,
                      const char *value)
{
  if(util_atomic_open(a, path, 0600, NULL, 0) < 0)
    return -1;
  if(util_write_all(a->fd, key, strlen(key) + 1) < 0 ||
     util_write_all(a->fd, value, strlen(value)) < 0 ||
     util_atomic_sync(a, NULL, 0) < 0)
    return -1;
  return 0;
}

int store_put_many(struct store *s, const char *const *keys,
                   const char *const *values, size_t n, char *err,
                   size_t errlen)
{
  struct util_atomic *tmps = NULL;
  char name[65], path[PATH_MAX];
  size_t written = 0, renamed = 0;

  if(s->dirfd < 0 || n == 0)
    return 0;
  if(n > STORE_MAX_MANY) {
    snprintf(err, errlen, "checkpoint: %zu records at once (at most %d)", n,
             STORE_MAX_MANY);
    return -1;
  }
  for(size_t i = 0; i < n; i++)
    if(strlen(keys[i]) + strlen(values[i]) + 1 > STORE_MAX_FILE) {
      snprintf(err, errlen, "checkpoint for %s: value too large", keys[i]);
      return -1;
    }
  tmps = malloc(n * sizeof(*tmps));
  if(!tmps) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for(size_t i = 0; i < n; i++)
    tmps[i] = (struct util_atomic){ .fd = -1 };
  /* Every new value durable under a temporary name first ... */
  for(; written < n; written++) {
    key_name(keys[written], name);
    if((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, name) >=
       sizeof(path)) {
      errno = ENAMETOOLONG;
      goto fail;
    }
    if(write_temp(&tmps[written], path, keys[written], values[written]) < 0)
      goto fail;
  }
  /* ... then each switched in, and one folder sync for all the renames. */
  for(; renamed < n; renamed++)
    if(util_atomic_commit(&tmps[renamed], NULL, UTIL_ATOMIC_NO_DIRSYNC, NULL,
                          0) < 0)
      goto fail;
  if(fsync(s->dirfd) < 0)
    goto fail;
  free(tmps);
  return 0;
fail : {
  int e = errno;
  for(size_t i = 0; i < n; i++)
    util_atomic_abort(&tmps[i]);
  snprintf(err, errlen, "cannot write checkpoint in %s: %s", s->dir,
           strerror(e));
}
  free(tmps);
  return -1;
}

int store_put(struct store *s, const char *key, const char *value, char *err,
              size_t errlen)
{
  return store_put_many(s, &key, &value, 1, err, errlen);
}

/* ------------------------------------------------------ long values */

/* One store record holds at most 64 KiB, and a folder's UID set, a
 * month's seen reports or a POP3 box's UIDLs can be longer.  Such a value
 * is split at separators into parts.  One part: KEY holds "1\n" and the
 * value.  N parts: KEY#G.1 .. KEY#G.N-1 are written first (generation G
 * is 1 or 2, the one KEY does not point to now), then KEY switches to
 * them with "N/G\n" and the first part, so a crash in between leaves the
 * old value whole: never old and new parts mixed.  (Values written before
 * generations existed, "N\n" with parts KEY#1 .., are still read.) */
#define PART_MAX 60000

int store_put_long(struct store *st, const char *key, const char *val,
                   char *err, size_t errlen)
{
  size_t len = strlen(val), off = 0, nparts = 0;
  size_t cuts[STORE_MAX_PARTS];
  char k[STORE_MAX_KEY + 32], *cur = NULL;
  unsigned gen = 1;
  int rc = 0;

  if(strlen(key) > STORE_MAX_KEY) {
    snprintf(err, errlen, "checkpoint key %.60s...: too long", key);
    return -1;
  }
  do { /* cut after a separator, at most PART_MAX bytes per part */
    size_t end = off + PART_MAX;
    if(end >= len)
      end = len;
    else {
      while(end > off && val[end - 1] != '\n' && val[end - 1] != ',')
        end--;
      if(end == off)
        end = off + PART_MAX;
    }
    if(nparts == STORE_MAX_PARTS) {
      snprintf(err, errlen, "checkpoint %s: value too large", key);
      return -1;
    }
    cuts[nparts++] = end;
    off = end;
  } while(off < len);
  if(nparts > 1) {
    char **keys = calloc(nparts - 1, sizeof(*keys));
    char **vals = calloc(nparts - 1, sizeof(*vals));
    if(store_get(st, key, &cur, err, errlen) == 1) {
      char *e;
      (void)strtoul(cur, &e, 10);
      if(*e == '/' && strtoul(e + 1, NULL, 10) == 1)
        gen = 2; /* KEY points to generation 1 now */
    }
    free(cur);
    for(size_t i = 1; rc == 0 && i < nparts; i++) {
      snprintf(k, sizeof(k), "%s#%u.%zu", key, gen, i);
      if(!keys || !vals || !(keys[i - 1] = strdup(k)) ||
         !(vals[i - 1] = strndup(val + cuts[i - 1], cuts[i] - cuts[i - 1]))) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
      }
    }
    if(rc == 0)
      rc = store_put_many(st, (const char *const *)keys,
                          (const char *const *)vals, nparts - 1, err, errlen);
    for(size_t i = 0; i + 1 < nparts && keys && vals; i++) {
      free(keys[i]);
      free(vals[i]);
    }
    free(keys);
    free(vals);
    if(rc)
      return -1;
  }
  {
    struct buf b;
    buf_init(&b, SIZE_MAX);
    if(nparts > 1)
      buf_printf(&b, "%zu/%u\n", nparts, gen);
    else
      buf_puts(&b, "1\n");
    buf_append(&b, val, cuts[0]);
    rc = store_put(st, key, b.data ? b.data : "", err, errlen);
    buf_free(&b);
  }
  return rc;
}

int store_get_long(struct store *st, const char *key, char **val_r, char *err,
                   size_t errlen)
{
  char *first = NULL, *end, k[STORE_MAX_KEY + 32];
  unsigned long n, gen = 0;
  struct buf b;
  int rc;

  *err = '\0';
  *val_r = NULL;
  if(strlen(key) > STORE_MAX_KEY) {
    snprintf(err, errlen, "checkpoint key %.60s...: too long", key);
    return -1;
  }
  rc = store_get(st, key, &first, err, errlen);
  if(rc != 1)
    return rc;
  n = strtoul(first, &end, 10);
  if(*end == '/' && n > 1)
    gen = strtoul(end + 1, &end, 10);
  if(*end != '\n' || n == 0 || n > STORE_MAX_PARTS || gen > 2) {
    free(first); /* not ours: ignore it */
    return 0;
  }
  buf_init(&b, SIZE_MAX);
  buf_puts(&b, end + 1);
  free(first);
  for(unsigned long i = 1; i < n; i++) {
    char *part = NULL;
    if(gen)
      snprintf(k, sizeof(k), "%s#%lu.%lu", key, gen, i);
    else
      snprintf(k, sizeof(k), "%s#%lu", key, i);
    if(store_get(st, k, &part, err, errlen) != 1) {
      if(!*err)
        snprintf(err, errlen, "checkpoint %s: part %lu of %lu missing", key,
                 i + 1, n);
      buf_free(&b);
      return -1;
    }
    buf_puts(&b, part);
    free(part);
  }
  *val_r = b.data ? buf_steal(&b) : strdup("");
  buf_free(&b);
  return *val_r ? 1 : -1;
}
