/*
 * file: writing a file so that a reader (another process, or this one after
 * a crash) sees the old contents or the new, never a part of either.
 *
 * The bytes go to a new temporary file next to the destination (same
 * directory, so the rename cannot cross file systems), which is fsynced and
 * closed and then renamed over the destination; the directory is fsynced
 * last so the rename itself survives a crash.  The temporary file is named
 * ".<name>.tmp.<pid>.<n>" (hidden, never taken for a destination) and is
 * removed on any failure.
 *
 * Every function returning -1 leaves errno set and, when err is not NULL,
 * a message naming the file and strerror(errno) in err, so a caller can
 * use the message or make its own from errno.
 */
#ifndef UTIL_FILE_H
#define UTIL_FILE_H

#include <stddef.h>
#include <sys/types.h>

#define UTIL_ATOMIC_NO_DIRSYNC                \
  0x01u /* commit without the directory fsync \
           (the caller syncs once for many) */

/* Write data[0..len) to path atomically, as above.  The file is created
 * with mode less the umask, like open(2); a mode without group or other
 * bits (0600: secrets) is also set exactly with fchmod, whatever the umask.
 * flags: UTIL_ATOMIC_*.  Returns 0 or -1. */
int util_write_file_atomic(const char *path, const void *data, size_t len,
                           mode_t mode, unsigned flags, char *err,
                           size_t errlen);

/* The same in steps, for contents written piece by piece (or to a FILE via
 * fdopen(dup(fd))), or for files switched in together. */
struct util_atomic {
  int fd;     /* write here; -1 once synced or aborted */
  char *path; /* the destination */
  char *tmp;  /* the temporary file; NULL once renamed or
                 removed */
};

/* Create the temporary file for path (mode as util_write_file_atomic's).
 * Returns 0, or -1 (nothing to abort). */
int util_atomic_open(struct util_atomic *a, const char *path, mode_t mode,
                     char *err, size_t errlen);

/* fsync and close the temporary file: its contents are durable under the
 * temporary name.  Returns 0, or -1 (abort to remove it). */
int util_atomic_sync(struct util_atomic *a, char *err, size_t errlen);

/* Sync (if not done yet), rename the temporary file to path (the one given
 * to util_atomic_open when path is NULL), then fsync the directory unless
 * flags has UTIL_ATOMIC_NO_DIRSYNC.  Returns 0 (a is released), or -1: then
 * a->tmp is still set when the rename (or the sync) failed, NULL when only
 * the directory fsync did; call util_atomic_abort either way. */
int util_atomic_commit(struct util_atomic *a, const char *path, unsigned flags,
                       char *err, size_t errlen);

/* Close and remove what is left of the temporary file and free a's names.
 * Safe after any of the above, and twice. */
void util_atomic_abort(struct util_atomic *a);

/* Remove from dir the temporary files of processes that died between
 * util_atomic_open and commit (kill -9, a crash): names of the form
 * ".<name>.tmp.<pid>.<n>" whose process no longer exists.  Temporary files
 * of live processes are left alone.  Returns how many were removed, or -1
 * when dir cannot be read. */
int util_atomic_sweep(const char *dir);

/* fsync the directory holding path ("." for a bare name).  Returns 0 or
 * -1. */
int util_fsync_dir(const char *path, char *err, size_t errlen);

#endif
