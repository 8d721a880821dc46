/*
 * zipdir: a seekable view of a zip for minizip, and a validator for the
 * central directory that runs before any member is inflated.
 *
 * Format: PKWARE APPNOTE.TXT 6.3 (sections 4.3.7 local header, 4.3.12
 * central directory header, 4.3.14-4.3.16 zip64 and end records, 4.5.3 the
 * zip64 extra field).
 *
 * Why our own pass over the directory when minizip reads it too: minizip
 * does not expose where a member's local header is, so it cannot tell us
 * whether two entries share bytes (the "overlapping members" bomb, where a
 * few kilobytes of directory make one deflate stream count many times).
 * So we walk the directory here, locating it exactly the way minizip does,
 * and archive.c then checks entry by entry that minizip sees the same sizes
 * and data offsets; any disagreement rejects the zip, so a file crafted to
 * parse one way here and another way in minizip gains nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive_private.h"

/* Sizes of the fixed parts of the records (APPNOTE 4.3). */
#define ZIP_LOCAL_HDR   30u
#define ZIP_CENTRAL_HDR 46u
#define ZIP_EOCD        22u
#define ZIP64_LOCATOR   20u
#define ZIP64_EOCD      56u
/* minizip looks for the end records in this many bytes before the end (the
 * largest possible archive comment); we search the same window. */
#define ZIP_EOCD_SEARCH 0xffffu

/* ---- the seekable view ---------------------------------------------- */

void zio_init_fd(struct zio *z, int fd, uint64_t base, uint64_t size)
{
  memset(z, 0, sizeof(*z));
  z->fd = fd;
  z->base = base;
  z->size = size;
}

void zio_init_mem(struct zio *z, const void *data, size_t len)
{
  memset(z, 0, sizeof(*z));
  z->fd = -1;
  z->mem = data;
  z->size = len;
}

/* Read up to len bytes at off; returns the count (short only at the end or
 * on error, which sets io_errno). */
static size_t zio_read_at(struct zio *z, void *buf, size_t len, uint64_t off)
{
  size_t done = 0;

  if(off >= z->size)
    return 0;
  if(len > z->size - off)
    len = (size_t)(z->size - off);
  if(z->fd < 0) {
    memcpy(buf, z->mem + off, len);
    return len;
  }
  while(done < len) {
    ssize_t n = pread(z->fd, (char *)buf + done, len - done,
                      (off_t)(z->base + off + done));
    if(n < 0) {
      if(errno == EINTR)
        continue;
      if(z->io_errno == 0)
        z->io_errno = errno;
      break;
    }
    if(n == 0)
      break; /* the file shrank under us: a short read, not an errno */
    done += (size_t)n;
  }
  return done;
}

int zio_pread(struct zio *z, void *buf, size_t len, uint64_t off)
{
  if(off > z->size || len > z->size - off)
    return -1;
  return zio_read_at(z, buf, len, off) == len ? 0 : -1;
}

static voidpf ZCALLBACK zio_ff_open(voidpf opaque, const void *filename,
                                    int mode)
{
  struct zio *z = opaque;

  (void)filename;
  (void)mode;
  z->pos = 0;
  return z;
}

static uLong ZCALLBACK zio_ff_read(voidpf opaque, voidpf stream, void *buf,
                                   uLong size)
{
  struct zio *z = stream;
  size_t got;

  (void)opaque;
  got = zio_read_at(z, buf, (size_t)size, z->pos);
  z->pos += got;
  return (uLong)got;
}

static uLong ZCALLBACK zio_ff_write(voidpf opaque, voidpf stream,
                                    const void *buf, uLong size)
{
  (void)opaque;
  (void)stream;
  (void)buf;
  (void)size;
  return 0; /* read-only */
}

static ZPOS64_T ZCALLBACK zio_ff_tell(voidpf opaque, voidpf stream)
{
  (void)opaque;
  return ((struct zio *)stream)->pos;
}

static long ZCALLBACK zio_ff_seek(voidpf opaque, voidpf stream, ZPOS64_T offset,
                                  int origin)
{
  struct zio *z = stream;

  (void)opaque;
  /* minizip passes negative relative seeks as wrapped unsigned values, so
   * the additions below are meant to wrap. */
  switch(origin) {
  case ZLIB_FILEFUNC_SEEK_SET: z->pos = offset; break;
  case ZLIB_FILEFUNC_SEEK_CUR: z->pos += offset; break;
  case ZLIB_FILEFUNC_SEEK_END: z->pos = z->size + offset; break;
  default: return -1;
  }
  return 0;
}

static int ZCALLBACK zio_ff_close(voidpf opaque, voidpf stream)
{
  (void)opaque;
  (void)stream;
  return 0; /* the owner of fd or memory releases it */
}

static int ZCALLBACK zio_ff_error(voidpf opaque, voidpf stream)
{
  (void)opaque;
  return ((struct zio *)stream)->io_errno != 0;
}

void zio_filefunc(zlib_filefunc64_def *ff, struct zio *z)
{
  memset(ff, 0, sizeof(*ff));
  ff->zopen64_file = zio_ff_open;
  ff->zread_file = zio_ff_read;
  ff->zwrite_file = zio_ff_write;
  ff->ztell64_file = zio_ff_tell;
  ff->zseek64_file = zio_ff_seek;
  ff->zclose_file = zio_ff_close;
  ff->zerror_file = zio_ff_error;
  ff->opaque = z;
}

/* ---- the central directory ------------------------------------------ */

static uint16_t le16(const unsigned char *p)
{
  return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const unsigned char *p)
{
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}

static uint64_t le64(const unsigned char *p)
{
  return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

void archive_printf(char *out, size_t outlen, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(out, outlen, fmt, ap);
  va_end(ap);
}

/* Offset of the last occurrence of the 4-byte signature sig whose record
 * (reclen bytes) fits in the file, searching the window minizip searches.
 * Returns 0 and sets *off_r, or 1 when absent. */
static int find_last_sig(const unsigned char *tail, size_t taillen,
                         uint64_t tailoff, const char *sig, size_t reclen,
                         uint64_t *off_r)
{
  size_t i;

  if(taillen < reclen)
    return 1;
  for(i = taillen - reclen + 1; i-- > 0;) {
    if(memcmp(tail + i, sig, 4) == 0) {
      *off_r = tailoff + i;
      return 0;
    }
  }
  return 1;
}

struct range {
  uint64_t start, end;
  size_t idx;
};

static int range_cmp(const void *a, const void *b)
{
  const struct range *x = a, *y = b;

  if(x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return 0;
}

/* Where the directory is and how many entries it has, as minizip sees it. */
struct cd_loc {
  uint64_t central_pos; /* the end record minizip settled on */
  uint64_t cd_off, cd_size, count;
};

/* Take what an end record (kind "zip" or "zip64") says into *loc, unless
 * it says the archive spans disks, which minizip cannot read either. */
static int end_record(struct cd_loc *loc, const char *kind, int multi_disk,
                      uint64_t central_pos, uint64_t count, uint64_t cd_size,
                      uint64_t cd_off, char *msg, size_t msglen)
{
  if(multi_disk) {
    archive_printf(msg, msglen, "multi-disk %s archives are not supported",
                   kind);
    return -1;
  }
  loc->central_pos = central_pos;
  loc->count = count;
  loc->cd_size = cd_size;
  loc->cd_off = cd_off;
  return 0;
}

static int locate_cd(struct zio *z, struct cd_loc *loc, char *msg,
                     size_t msglen)
{
  unsigned char rec[ZIP64_EOCD];
  unsigned char *tail;
  uint64_t tailoff, pos, z64off;
  size_t taillen;
  int r;

  if(z->size < ZIP_EOCD) {
    archive_printf(msg, msglen, "too short to be a zip (%llu bytes)",
                   (unsigned long long)z->size);
    return -1;
  }
  taillen = z->size < ZIP_EOCD_SEARCH ? (size_t)z->size : ZIP_EOCD_SEARCH;
  tailoff = z->size - taillen;
  tail = malloc(taillen);
  if(tail == NULL) {
    archive_printf(msg, msglen, "out of memory");
    return -1;
  }
  if(zio_pread(z, tail, taillen, tailoff) < 0) {
    free(tail);
    archive_printf(msg, msglen, "cannot read the end of the zip");
    return -1;
  }

  /* minizip prefers a zip64 locator anywhere in the window. */
  r = find_last_sig(tail, taillen, tailoff, "PK\x06\x07", ZIP64_LOCATOR, &pos);
  if(r == 0) {
    const unsigned char *l = tail + (pos - tailoff);

    z64off = le64(l + 8);
    if(le32(l + 4) == 0 && le32(l + 16) == 1 &&
       zio_pread(z, rec, ZIP64_EOCD, z64off) == 0 &&
       memcmp(rec, "PK\x06\x06", 4) == 0) {
      free(tail);
      return end_record(loc, "zip64",
                        le32(rec + 16) != 0 || le32(rec + 20) != 0 ||
                            le64(rec + 24) != le64(rec + 32),
                        z64off, le64(rec + 32), le64(rec + 40), le64(rec + 48),
                        msg, msglen);
    }
    /* not a usable locator: minizip falls back to the plain end record */
  }

  r = find_last_sig(tail, taillen, tailoff, "PK\x05\x06", ZIP_EOCD, &pos);
  if(r != 0) {
    free(tail);
    archive_printf(msg, msglen, "no end of central directory record");
    return -1;
  }
  memcpy(rec, tail + (pos - tailoff), ZIP_EOCD);
  free(tail);
  return end_record(loc, "zip",
                    le16(rec + 4) != 0 || le16(rec + 6) != 0 ||
                        le16(rec + 8) != le16(rec + 10),
                    pos, le16(rec + 10), le32(rec + 12), le32(rec + 16), msg,
                    msglen);
}

/* Apply a zip64 extra field (APPNOTE 4.5.3): only the fields whose 32-bit
 * value is saturated are present, in this order. */
static int apply_zip64_extra(const unsigned char *ex, size_t exlen,
                             uint64_t *usize, uint64_t *csize, uint64_t *lh_off)
{
  size_t p = 0;

  while(p + 4 <= exlen) {
    uint16_t id = le16(ex + p), dlen = le16(ex + p + 2);
    const unsigned char *d = ex + p + 4;
    size_t q = 0;

    if(p + 4 + dlen > exlen)
      return -1;
    if(id == 0x0001) {
      if(*usize == 0xffffffffu) {
        if(q + 8 > dlen)
          return -1;
        *usize = le64(d + q);
        q += 8;
      }
      if(*csize == 0xffffffffu) {
        if(q + 8 > dlen)
          return -1;
        *csize = le64(d + q);
        q += 8;
      }
      if(*lh_off == 0xffffffffu) {
        if(q + 8 > dlen)
          return -1;
        *lh_off = le64(d + q);
      }
      return 0;
    }
    p += 4 + (size_t)dlen;
  }
  return 0;
}

int zipdir_read(struct zio *z, unsigned max_members, struct zip_dir *dir,
                char *msg, size_t msglen)
{
  unsigned char hdr[ZIP_CENTRAL_HDR], lh[ZIP_LOCAL_HDR];
  unsigned char *extra = NULL;
  struct range *ranges = NULL;
  struct cd_loc loc;
  uint64_t bias, cd_start, cd_end, p;
  size_t i;

  dir->e = NULL;
  dir->n = 0;
  if(locate_cd(z, &loc, msg, msglen) < 0)
    return -1;
  if(loc.cd_off > UINT64_MAX - loc.cd_size ||
     loc.central_pos < loc.cd_off + loc.cd_size) {
    archive_printf(msg, msglen,
                   "central directory (offset %llu, %llu bytes) does not "
                   "end before its end record at %llu",
                   (unsigned long long)loc.cd_off,
                   (unsigned long long)loc.cd_size,
                   (unsigned long long)loc.central_pos);
    return -1;
  }
  /* bytes before the zip proper (e.g. a self-extractor stub): minizip shifts
   * every offset by this much, and so do we */
  bias = loc.central_pos - (loc.cd_off + loc.cd_size);
  cd_start = loc.cd_off + bias;
  cd_end = cd_start + loc.cd_size;

  if(loc.count > max_members) {
    archive_printf(msg, msglen,
                   "%llu entries, more than the limit of %u (max_members)",
                   (unsigned long long)loc.count, max_members);
    return -1;
  }
  if(loc.count == 0)
    return 0;

  dir->e = calloc((size_t)loc.count, sizeof(*dir->e));
  ranges = calloc((size_t)loc.count, sizeof(*ranges));
  extra = malloc(0xffff);
  if(dir->e == NULL || ranges == NULL || extra == NULL) {
    archive_printf(msg, msglen, "out of memory");
    goto bad;
  }

  p = cd_start;
  for(i = 0; i < loc.count; i++) {
    struct zip_entry *e = &dir->e[i];
    uint16_t namelen, extralen, commentlen;
    uint64_t lh_off;

    if(p + ZIP_CENTRAL_HDR > cd_end || zio_pread(z, hdr, sizeof(hdr), p) < 0 ||
       memcmp(hdr, "PK\x01\x02", 4) != 0) {
      archive_printf(msg, msglen,
                     "central directory entry %zu is missing or damaged",
                     i + 1);
      goto bad;
    }
    e->flags = le16(hdr + 8);
    e->method = le16(hdr + 10);
    e->crc = le32(hdr + 16);
    e->csize = le32(hdr + 20);
    e->usize = le32(hdr + 24);
    namelen = le16(hdr + 28);
    extralen = le16(hdr + 30);
    commentlen = le16(hdr + 32);
    lh_off = le32(hdr + 42);
    if(p + ZIP_CENTRAL_HDR + namelen + extralen + commentlen > cd_end) {
      archive_printf(msg, msglen,
                     "central directory entry %zu runs past the directory",
                     i + 1);
      goto bad;
    }
    e->zip64 = e->csize == 0xffffffffu || e->usize == 0xffffffffu ||
               lh_off == 0xffffffffu;
    if(extralen > 0) {
      if(zio_pread(z, extra, extralen, p + ZIP_CENTRAL_HDR + namelen) < 0 ||
         apply_zip64_extra(extra, extralen, &e->usize, &e->csize, &lh_off) <
             0) {
        archive_printf(msg, msglen,
                       "central directory entry %zu has a damaged extra "
                       "field",
                       i + 1);
        goto bad;
      }
    }
    p += ZIP_CENTRAL_HDR + (uint64_t)namelen + extralen + commentlen;

    /* the local header: it must be there, and the data after it must end
     * before the central directory starts */
    if(lh_off > UINT64_MAX - bias - ZIP_LOCAL_HDR ||
       lh_off + bias + ZIP_LOCAL_HDR > cd_start ||
       zio_pread(z, lh, sizeof(lh), lh_off + bias) < 0 ||
       memcmp(lh, "PK\x03\x04", 4) != 0) {
      archive_printf(msg, msglen, "entry %zu: no local header at offset %llu",
                     i + 1, (unsigned long long)lh_off);
      goto bad;
    }
    e->lh_off = lh_off + bias;
    e->data_off = e->lh_off + ZIP_LOCAL_HDR + le16(lh + 26) + le16(lh + 28);
    if(e->data_off > cd_start || e->csize > cd_start - e->data_off) {
      archive_printf(msg, msglen,
                     "entry %zu: data (%llu bytes at offset %llu) runs "
                     "past the start of the central directory",
                     i + 1, (unsigned long long)e->csize,
                     (unsigned long long)e->data_off);
      goto bad;
    }
    ranges[i].start = e->lh_off;
    ranges[i].end = e->data_off + e->csize;
    ranges[i].idx = i;
  }
  dir->n = (size_t)loc.count;

  /* overlapping members: sort by start; each must begin at or after the
   * end of the one before */
  qsort(ranges, dir->n, sizeof(*ranges), range_cmp);
  for(i = 1; i < dir->n; i++) {
    if(ranges[i].start < ranges[i - 1].end) {
      archive_printf(msg, msglen,
                     "entries %zu and %zu overlap (bytes %llu-%llu and "
                     "%llu-%llu): rejected as an overlapping-members zip bomb",
                     ranges[i - 1].idx + 1, ranges[i].idx + 1,
                     (unsigned long long)ranges[i - 1].start,
                     (unsigned long long)ranges[i - 1].end,
                     (unsigned long long)ranges[i].start,
                     (unsigned long long)ranges[i].end);
      goto bad;
    }
  }
  free(ranges);
  free(extra);
  return 0;

bad:
  free(ranges);
  free(extra);
  zipdir_free(dir);
  return -1;
}

void zipdir_free(struct zip_dir *dir)
{
  free(dir->e);
  dir->e = NULL;
  dir->n = 0;
}
