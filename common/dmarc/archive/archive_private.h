/*
 * archive_private: what archive.c and zipdir.c share.  Not for other
 * subsystems.
 *
 * A zip is read by random access, so it needs a seekable view of its bytes:
 * struct zio is that view, over either a file descriptor (from a base
 * offset, read with pread so the descriptor's own offset is left alone) or
 * a memory block.  minizip reads through it with the zlib_filefunc64_def
 * that zio_filefunc() fills in, and zipdir_read() validates the central
 * directory through it before minizip is let anywhere near the members.
 */
#ifndef ARCHIVE_ARCHIVE_PRIVATE_H
#define ARCHIVE_ARCHIVE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include <minizip/unzip.h>

struct zio {
  int fd;                   /* -1 when reading memory */
  const unsigned char *mem; /* the bytes when fd is -1 */
  uint64_t base;            /* where the zip starts in fd */
  uint64_t size;            /* bytes from base to the end */
  uint64_t pos;             /* minizip's current position (from base) */
  int io_errno;             /* first read error, 0 if none: a zip that
                               fails to parse after a read error is an
                               I/O failure, not a bad zip */
};

void zio_init_fd(struct zio *z, int fd, uint64_t base, uint64_t size);
void zio_init_mem(struct zio *z, const void *data, size_t len);

/* Read exactly len bytes at off (relative to base).  Returns 0, or -1 when
 * the range runs past the end or the read failed (z->io_errno set). */
int zio_pread(struct zio *z, void *buf, size_t len, uint64_t off);

/* The minizip I/O callbacks over z (read-only; z must outlive the unzFile). */
void zio_filefunc(zlib_filefunc64_def *ff, struct zio *z);

/* snprintf into out[outlen] where cutting short is fine: messages and
 * layer descriptions quote names from the archive, which are
 * attacker-chosen and may be long.  (Through vsnprintf, so the compiler's
 * truncation warning does not fire for what is deliberate.)  Defined in
 * zipdir.c. */
void archive_printf(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One central-directory entry, as validated. */
struct zip_entry {
  uint64_t lh_off;   /* local header, absolute (bias applied) */
  uint64_t data_off; /* first byte of the member's data, absolute */
  uint64_t csize;    /* compressed size from the directory */
  uint64_t usize;    /* uncompressed size from the directory: only ever
                        compared with what inflating really produced */
  uint32_t crc;
  uint16_t flags;
  uint16_t method;
  int zip64; /* a size or offset came from a zip64 extra field */
};

struct zip_dir {
  struct zip_entry *e; /* n entries, in central-directory order */
  size_t n;
};

/* Read and validate the central directory of the zip in z, the way minizip
 * will find it (same end-record search, zip64 locator, prefix bias):
 * at most max_members entries; each entry's local header has the right
 * signature and the member's data lies inside the file before the central
 * directory; no two [local header, end of data) ranges overlap.
 * Nothing is inflated.  Returns 0 (free with zipdir_free), or -1 with a
 * reason in msg (an I/O failure when z->io_errno is set afterwards). */
int zipdir_read(struct zio *z, unsigned max_members, struct zip_dir *dir,
                char *msg, size_t msglen);
void zipdir_free(struct zip_dir *dir);

#endif
