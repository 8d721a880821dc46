/*
 * A folder of small files, one per key.  Why not one state file: a folder
 * input can see tens of thousands of files, and rewriting one growing file
 * on every checkpoint would make a run quadratic; a crash would also risk
 * every key at once instead of the one being written.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/buf.h"
#include "util/util.h"

/* A value is a short status line; anything larger is not ours. */
#define STORE_MAX_FILE (64 * 1024)

struct store {
  char *dir;   /* NULL: the store keeps nothing */
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

int store_get(struct store *s, const char *key, char **value_r,
              char *err, size_t errlen)
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
    snprintf(err, errlen, "checkpoint %s/%s: %s", s->dir, name, strerror(errno));
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

int store_put(struct store *s, const char *key, const char *value,
              char *err, size_t errlen)
{
  char name[65], tmp[80];
  size_t klen = strlen(key), vlen = strlen(value);
  int fd;

  if(s->dirfd < 0)
    return 0;
  if(klen + vlen + 1 > STORE_MAX_FILE) {
    snprintf(err, errlen, "checkpoint for %s: value too large", key);
    return -1;
  }
  key_name(key, name);
  snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
  fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if(fd < 0)
    goto fail;
  if(fchmod(fd, 0600) < 0 ||
     util_write_all(fd, key, klen + 1) < 0 ||
     util_write_all(fd, value, vlen) < 0 ||
     fsync(fd) < 0) {
    int e = errno;
    close(fd);
    unlinkat(s->dirfd, tmp, 0);
    errno = e;
    goto fail;
  }
  if(close(fd) < 0) {
    unlinkat(s->dirfd, tmp, 0);
    goto fail;
  }
  if(renameat(s->dirfd, tmp, s->dirfd, name) < 0) {
    int e = errno;
    unlinkat(s->dirfd, tmp, 0);
    errno = e;
    goto fail;
  }
  /* The rename is durable only once the folder itself is synced. */
  if(fsync(s->dirfd) < 0)
    goto fail;
  return 0;
fail:
  snprintf(err, errlen, "cannot write checkpoint in %s: %s", s->dir,
           strerror(errno));
  return -1;
}
