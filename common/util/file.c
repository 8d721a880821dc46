#include "file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format a message without disturbing errno, which callers read after. */
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
  int e = errno;
  va_list ap;

  if(err && errlen) {
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  errno = e;
}

int util_atomic_open(struct util_atomic *a, const char *path, mode_t mode,
                     char *err, size_t errlen)
{
  static unsigned seq;
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  int dirlen = (int)(name - path);

  a->fd = -1;
  a->tmp = NULL;
  a->path = strdup(path);
  if(!a->path)
    goto oom;
  /* pid and a counter make the name unique among live writers; a name left
   * by a crashed process with the same pid is skipped, not reused, since
   * O_EXCL is also what keeps a planted symlink from being followed */
  for(int tries = 0; tries < 100; tries++) {
    free(a->tmp);
    if(asprintf(&a->tmp, "%.*s.%s.tmp.%ld.%u", dirlen, path, name,
                (long)getpid(),
                __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED)) < 0) {
      a->tmp = NULL;
      goto oom;
    }
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if(a->fd >= 0 || errno != EEXIST)
      break;
  }
  if(a->fd < 0) {
    seterr(err, errlen, "cannot create %s: %s", a->tmp, strerror(errno));
    util_atomic_abort(a);
    return -1;
  }
  if(!(mode & 077) && fchmod(a->fd, mode) < 0) {
    seterr(err, errlen, "cannot write %s: %s", a->tmp, strerror(errno));
    util_atomic_abort(a);
    return -1;
  }
  return 0;
oom:
  errno = ENOMEM;
  seterr(err, errlen, "out of memory");
  util_atomic_abort(a);
  return -1;
}

int util_atomic_sync(struct util_atomic *a, char *err, size_t errlen)
{
  int fd = a->fd;

  if(fd < 0)
    return 0;
  a->fd = -1;
  if(fsync(fd) < 0) {
    int e = errno;
    seterr(err, errlen, "cannot write %s: %s", a->tmp, strerror(errno));
    close(fd);
    errno = e;
    return -1;
  }
  /* close can report a write error the file system kept until now */
  if(close(fd) < 0) {
    seterr(err, errlen, "cannot write %s: %s", a->tmp, strerror(errno));
    return -1;
  }
  return 0;
}

int util_atomic_commit(struct util_atomic *a, const char *path, unsigned flags,
                       char *err, size_t errlen)
{
  if(!path)
    path = a->path;
  if(util_atomic_sync(a, err, errlen) < 0)
    return -1;
  if(rename(a->tmp, path) < 0) {
    seterr(err, errlen, "cannot rename %s to %s: %s", a->tmp, path,
           strerror(errno));
    return -1;
  }
  free(a->tmp);
  a->tmp = NULL;
  if(!(flags & UTIL_ATOMIC_NO_DIRSYNC) && util_fsync_dir(path, err, errlen))
    return -1;
  util_atomic_abort(a);
  return 0;
}

void util_atomic_abort(struct util_atomic *a)
{
  int e = errno;

  if(a->fd >= 0)
    close(a->fd);
  a->fd = -1;
  if(a->tmp)
    unlink(a->tmp);
  free(a->tmp);
  free(a->path);
  a->tmp = a->path = NULL;
  errno = e;
}

int util_fsync_dir(const char *path, char *err, size_t errlen)
{
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  int fd, rc;

  if(!slash)
    snprintf(dir, sizeof(dir), ".");
  else if(slash == path)
    snprintf(dir, sizeof(dir), "/");
  else
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(fd < 0) {
    seterr(err, errlen, "cannot sync the directory %s: %s", dir,
           strerror(errno));
    return -1;
  }
  rc = fsync(fd);
  if(rc < 0)
    seterr(err, errlen, "cannot sync the directory %s: %s", dir,
           strerror(errno));
  close(fd);
  return rc;
}

int util_write_file_atomic(const char *path, const void *data, size_t len,
                           mode_t mode, unsigned flags, char *err,
                           size_t errlen)
{
  struct util_atomic a;

  if(util_atomic_open(&a, path, mode, err, errlen) < 0)
    return -1;
  if(util_write_all(a.fd, data, len) < 0) {
    seterr(err, errlen, "cannot write %s: %s", a.tmp, strerror(errno));
    util_atomic_abort(&a);
    return -1;
  }
  if(util_atomic_commit(&a, NULL, flags, err, errlen) < 0) {
    util_atomic_abort(&a);
    return -1;
  }
  return 0;
}

/* The pid in a temporary file's name ".<name>.tmp.<pid>.<n>", or 0 when
 * name is not one of ours. */
static long temp_owner(const char *name)
{
  const char *t, *p;
  char *end;
  long pid;

  if(name[0] != '.' || !(t = strstr(name + 1, ".tmp.")))
    return 0;
  /* the last ".tmp." (a destination name may contain one) */
  while((p = strstr(t + 1, ".tmp.")) != NULL)
    t = p;
  p = t + 5;
  if(!isdigit((unsigned char)*p))
    return 0;
  pid = strtol(p, &end, 10);
  if(*end != '.' || !isdigit((unsigned char)end[1]) || pid <= 0)
    return 0;
  strtoul(end + 1, &end, 10);
  return *end ? 0 : pid;
}

int util_atomic_sweep(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int removed = 0;

  if(!d)
    return -1;
  while((e = readdir(d)) != NULL) {
    long pid = temp_owner(e->d_name);
    if(pid <= 0 || pid == (long)getpid())
      continue;
    if(kill((pid_t)pid, 0) == 0 || errno != ESRCH)
      continue; /* alive, or not ours to ask about: keep it */
    if(unlinkat(dirfd(d), e->d_name, 0) == 0)
      removed++;
  }
  closedir(d);
  return removed;
}
