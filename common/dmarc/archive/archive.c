/*
 * archive: walk gzip (RFC 1952) and zip (PKWARE APPNOTE 6.3) layers down to
 * the payloads, streaming, with every limit applied to bytes really
 * produced.
 *
 * Shape: every layer is a reader ("struct rd": read up to len bytes, 0 at
 * the end, -1 on error with the reason already recorded).  The source is a
 * reader over an fd or memory; a gzip layer is a reader that inflates the
 * reader below it; a zip member is a reader that inflates the member's raw
 * bytes.  walk_stream() sniffs the first bytes of a reader and either stacks
 * a gzip reader on it, opens it as a zip, or hands it to the caller as a
 * leaf.  So memory is a few fixed buffers per layer, whatever the sizes.
 *
 * A zip needs random access.  The source itself is read in place when it
 * can be (memory, or a regular file through pread); a zip produced by an
 * inner layer, or read from a pipe, is first copied to an unlinked
 * temporary file, which max_bytes bounds like everything else.
 *
 * Zip members are read raw through minizip and inflated here rather than by
 * minizip: minizip stops at the uncompressed size the header declares and
 * so would silently truncate a member whose header lies, and it can only
 * check the CRC over what it chose to inflate.  Inflating ourselves lets us
 * count every produced byte, reject a member that inflates past its
 * declared size, and check both the size and the CRC at the real end of the
 * deflate stream.
 *
 * Counting: max_bytes caps the bytes produced by decompression, summed over
 * every gzip and zip layer of one source (so a gzip inside a gzip counts
 * its inner compressed bytes once as output of the outer layer and its
 * payload again as output of the inner one).  Bytes of a plain source that
 * is not compressed at all are the caller's to bound; they are not counted,
 * except that a non-seekable zip source spooled to disk is capped at
 * max_bytes too.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "archive.h"
#include "archive_private.h"
#include "log.h"
#include "util.h"

#define ARCHIVE_DEFAULT_MAX_BYTES   100000000u
#define ARCHIVE_DEFAULT_MAX_MEMBERS 100u
#define ARCHIVE_DEFAULT_MAX_DEPTH   3u

/* Leaf chunks, gzip and zip input buffers and spool copies all use this
 * size: large enough that per-call overhead vanishes, small enough that a
 * walk at the maximum depth stays within a few hundred KB. */
#define ARCHIVE_CHUNK (64u * 1024u)
/* Longest zip member name we keep (the format's own maximum). */
#define ARCHIVE_NAME_MAX 0xffffu
/* Room for "gzip layer N ('name')" / "zip layer N ('name') member 'x'". */
#define ARCHIVE_DESC_MAX 320

void archive_limits_default(struct archive_limits *lim)
{
  lim->max_bytes = ARCHIVE_DEFAULT_MAX_BYTES;
  lim->max_members = ARCHIVE_DEFAULT_MAX_MEMBERS;
  lim->max_depth = ARCHIVE_DEFAULT_MAX_DEPTH;
}

/* ---- walk state and errors ------------------------------------------ */

struct rd;

struct walk {
  struct archive_limits lim;
  const struct archive_handler *h;
  void *ud;
  struct archive_error *err;
  int failed;           /* err holds the first failure */
  uint64_t produced;    /* decompressed bytes, all layers */
  unsigned char *chunk; /* the leaf / spool buffer (one at a time) */

  /* The source, for opening a depth-0 zip in place. */
  struct rd *root;
  int root_fd;       /* -1 for memory */
  int root_seekable; /* regular file with a known offset */
  uint64_t root_base, root_size;
  const void *root_mem;
  size_t root_len;
};

/* Record the first failure.  Control characters (from member names) are
 * replaced so the message stays one line. */
static void __attribute__((format(printf, 3, 4)))
walk_fail(struct walk *w, int permanent, const char *fmt, ...)
{
  va_list ap;
  char *p;

  if(w->failed)
    return;
  w->failed = 1;
  w->err->permanent = permanent;
  va_start(ap, fmt);
  vsnprintf(w->err->msg, sizeof(w->err->msg), fmt, ap);
  va_end(ap);
  for(p = w->err->msg; *p != '\0'; p++) {
    if((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  }
}

/* How many bytes a decompressor may produce in one step: len, or one more
 * than what is left under max_bytes, so that crossing the limit is seen on
 * the first byte too many and never delivered. */
static size_t limit_room(const struct walk *w, size_t len)
{
  uint64_t left = w->lim.max_bytes - w->produced;

  if(left < len)
    len = (size_t)left + 1;
  return len;
}

static int account(struct walk *w, size_t got, const char *desc)
{
  w->produced += got;
  if(w->produced > w->lim.max_bytes) {
    walk_fail(w, 1,
              "%s: decompressed size exceeds the limit of %llu bytes "
              "(max_bytes)",
              desc, (unsigned long long)w->lim.max_bytes);
    return -1;
  }
  return 0;
}

/* ---- readers -------------------------------------------------------- */

struct rd {
  /* Read up to len (> 0) bytes: >0 count, 0 at the end, -1 on error (the
   * reason is in the walk). */
  ssize_t (*read)(struct rd *r, unsigned char *buf, size_t len);
  struct walk *w;
  unsigned char peek[4]; /* the sniffed bytes, served before read() */
  size_t npeek, peekoff;
};

/* Copy up to len bytes of src[*off, have) to buf and advance *off past
 * them.  Returns the count, 0 once src is used up.  Serves both the
 * sniffed bytes of any reader and the whole of a memory reader. */
static ssize_t copy_out(unsigned char *buf, size_t len,
                        const unsigned char *src, size_t have, size_t *off)
{
  size_t n = have - *off;

  if(n > len)
    n = len;
  memcpy(buf, src + *off, n);
  *off += n;
  return (ssize_t)n;
}

static ssize_t rd_read(struct rd *r, unsigned char *buf, size_t len)
{
  if(r->peekoff < r->npeek)
    return copy_out(buf, len, r->peek, r->npeek, &r->peekoff);
  return r->read(r, buf, len);
}

/* Fill r->peek with up to 4 bytes.  Returns the count, or -1. */
static ssize_t rd_sniff(struct rd *r)
{
  r->npeek = r->peekoff = 0;
  while(r->npeek < sizeof(r->peek)) {
    ssize_t n = r->read(r, r->peek + r->npeek, sizeof(r->peek) - r->npeek);

    if(n < 0)
      return -1;
    if(n == 0)
      break;
    r->npeek += (size_t)n;
  }
  return (ssize_t)r->npeek;
}

struct rd_fd {
  struct rd rd;
  int fd;
  const char *name;
};

static ssize_t rd_fd_read(struct rd *r, unsigned char *buf, size_t len)
{
  struct rd_fd *f = (struct rd_fd *)r;

  for(;;) {
    ssize_t n = read(f->fd, buf, len);

    if(n >= 0)
      return n;
    if(errno == EINTR)
      continue;
    walk_fail(r->w, 0, "'%s': read error: %s", f->name, strerror(errno));
    return -1;
  }
}

struct rd_mem {
  struct rd rd;
  const unsigned char *data;
  size_t len, off;
};

static ssize_t rd_mem_read(struct rd *r, unsigned char *buf, size_t len)
{
  struct rd_mem *m = (struct rd_mem *)r;

  return copy_out(buf, len, m->data, m->len, &m->off);
}

/* ---- gzip layer ----------------------------------------------------- */

enum gz_state { GZ_MEMBER, GZ_BETWEEN, GZ_DONE };

struct rd_gz {
  struct rd rd;
  struct rd *in;
  z_stream zs;
  unsigned char *inbuf;
  int in_eof;
  enum gz_state state;
  unsigned member; /* 1-based, for messages */
  uint64_t out;    /* bytes this layer produced */
  char desc[ARCHIVE_DESC_MAX];
};

/* Move unread input to the front and read more after it. */
static int gz_fill(struct rd_gz *g)
{
  ssize_t n;

  if(g->in_eof)
    return 0;
  if(g->zs.avail_in > 0 && g->zs.next_in != g->inbuf)
    memmove(g->inbuf, g->zs.next_in, g->zs.avail_in);
  g->zs.next_in = g->inbuf;
  n = rd_read(g->in, g->inbuf + g->zs.avail_in, ARCHIVE_CHUNK - g->zs.avail_in);
  if(n < 0)
    return -1;
  if(n == 0)
    g->in_eof = 1;
  g->zs.avail_in += (uInt)n;
  return 0;
}

static ssize_t rd_gz_read(struct rd *r, unsigned char *buf, size_t len)
{
  struct rd_gz *g = (struct rd_gz *)r;
  struct walk *w = r->w;

  for(;;) {
    size_t room, got;
    int ret;

    if(g->state == GZ_DONE)
      return 0;
    if(g->state == GZ_BETWEEN) {
      /* RFC 1952 2.2: members may follow each other; anything else after a
       * member is trailing garbage that gzip(1) also ignores */
      while(g->zs.avail_in < 2 && !g->in_eof) {
        if(gz_fill(g) < 0)
          return -1;
      }
      if(g->zs.avail_in >= 2 && g->zs.next_in[0] == 0x1f &&
         g->zs.next_in[1] == 0x8b) {
        inflateReset(&g->zs);
        g->member++;
        g->state = GZ_MEMBER;
      }
      else {
        if(g->zs.avail_in > 0)
          log_debug("%s: ignoring bytes after gzip member %u", g->desc,
                    g->member);
        g->state = GZ_DONE;
        return 0;
      }
    }
    if(g->zs.avail_in == 0 && !g->in_eof) {
      if(gz_fill(g) < 0)
        return -1;
      continue;
    }

    room = limit_room(w, len);
    g->zs.next_out = buf;
    g->zs.avail_out = (uInt)room;
    ret = inflate(&g->zs, Z_NO_FLUSH);
    got = room - g->zs.avail_out;
    g->out += got;
    if(got > 0 && account(w, got, g->desc) < 0)
      return -1;

    switch(ret) {
    case Z_STREAM_END: g->state = GZ_BETWEEN; break;
    case Z_OK: break;
    case Z_BUF_ERROR:
      /* no progress possible: only a problem once the input is over */
      if(g->in_eof && g->zs.avail_in == 0) {
        walk_fail(w, 1,
                  "%s: truncated stream after %llu bytes (member %u "
                  "has no end)",
                  g->desc, (unsigned long long)g->out, g->member);
        return -1;
      }
      break;
    case Z_MEM_ERROR: walk_fail(w, 0, "%s: out of memory", g->desc); return -1;
    default:
      walk_fail(w, 1, "%s: corrupt data in member %u after %llu bytes: %s",
                g->desc, g->member, (unsigned long long)g->out,
                g->zs.msg != NULL ? g->zs.msg : "inflate failed");
      return -1;
    }
    if(got > 0)
      return (ssize_t)got;
  }
}

/* ---- zip member ----------------------------------------------------- */

struct rd_zm {
  struct rd rd;
  unzFile uf;
  struct zio *z;
  const struct zip_entry *e;
  z_stream zs;
  int zs_init;
  unsigned char *inbuf;
  int raw_eof, done;
  uint64_t out;
  uLong crc;
  char desc[ARCHIVE_DESC_MAX];
};

/* Raw (still compressed) member bytes from minizip: >= 0 count, -1. */
static int zm_raw(struct rd_zm *m, unsigned char *buf, size_t len)
{
  int n = unzReadCurrentFile(m->uf, buf, (unsigned)len);

  if(n >= 0)
    return n;
  if(m->z->io_errno != 0)
    walk_fail(m->rd.w, 0, "%s: read error: %s", m->desc,
              strerror(m->z->io_errno));
  else
    walk_fail(m->rd.w, 1,
              "%s: cannot read the compressed data (minizip "
              "error %d)",
              m->desc, n);
  return -1;
}

/* At the real end of the member: the directory's size and CRC must match
 * what was produced. */
static int zm_finish(struct rd_zm *m)
{
  m->done = 1;
  if(m->out != m->e->usize) {
    walk_fail(m->rd.w, 1,
              "%s: inflated to %llu bytes but the header "
              "declares %llu",
              m->desc, (unsigned long long)m->out,
              (unsigned long long)m->e->usize);
    return -1;
  }
  if(m->crc != m->e->crc) {
    walk_fail(m->rd.w, 1, "%s: CRC mismatch (header %08lx, data %08lx)",
              m->desc, (unsigned long)m->e->crc, (unsigned long)m->crc);
    return -1;
  }
  return 0;
}

static ssize_t rd_zm_read(struct rd *r, unsigned char *buf, size_t len)
{
  struct rd_zm *m = (struct rd_zm *)r;
  struct walk *w = r->w;
  int at_end = 0;
  size_t room, got = 0;

  if(m->done)
    return 0;
  /* produce at most one byte past either the declared size or max_bytes,
   * so a lie or a bomb is caught on its first extra byte */
  room = limit_room(w, len);
  if(m->e->usize - m->out < room)
    room = (size_t)(m->e->usize - m->out) + 1;

  if(m->e->method == 0) {
    int n = zm_raw(m, buf, room);

    if(n < 0)
      return -1;
    got = (size_t)n;
    at_end = n == 0;
  }
  else {
    for(;;) {
      int ret;

      if(m->zs.avail_in == 0 && !m->raw_eof) {
        int n = zm_raw(m, m->inbuf, ARCHIVE_CHUNK);

        if(n < 0)
          return -1;
        if(n == 0)
          m->raw_eof = 1;
        m->zs.next_in = m->inbuf;
        m->zs.avail_in = (uInt)n;
      }
      m->zs.next_out = buf;
      m->zs.avail_out = (uInt)room;
      ret = inflate(&m->zs, Z_NO_FLUSH);
      got = room - m->zs.avail_out;
      if(ret == Z_STREAM_END) {
        at_end = 1;
        break;
      }
      if(ret == Z_BUF_ERROR && m->raw_eof && m->zs.avail_in == 0) {
        walk_fail(w, 1, "%s: truncated deflate data after %llu bytes", m->desc,
                  (unsigned long long)(m->out + got));
        return -1;
      }
      if(ret == Z_MEM_ERROR) {
        walk_fail(w, 0, "%s: out of memory", m->desc);
        return -1;
      }
      if(ret != Z_OK && ret != Z_BUF_ERROR) {
        walk_fail(w, 1, "%s: corrupt deflate data after %llu bytes: %s",
                  m->desc, (unsigned long long)(m->out + got),
                  m->zs.msg != NULL ? m->zs.msg : "inflate failed");
        return -1;
      }
      if(got > 0)
        break;
    }
  }

  m->out += got;
  if(m->out > m->e->usize) {
    walk_fail(w, 1,
              "%s: inflates past its declared size of %llu bytes "
              "(lying header)",
              m->desc, (unsigned long long)m->e->usize);
    return -1;
  }
  if(got > 0 && account(w, got, m->desc) < 0)
    return -1;
  m->crc = crc32(m->crc, buf, (uInt)got);
  if(at_end && zm_finish(m) < 0)
    return -1;
  return (ssize_t)got;
}

/* ---- the walk ------------------------------------------------------- */

static int walk_stream(struct walk *w, struct rd *r, const char *name,
                       unsigned depth);

/* Hand r to the caller as one leaf. */
static int walk_leaf(struct walk *w, struct rd *r, const char *name,
                     unsigned depth)
{
  int rc = w->h->leaf_begin(w->ud, name, depth);

  if(rc < 0)
    return -2;
  if(rc > 0) {
    w->h->leaf_end(w->ud, 1);
    return 0;
  }
  for(;;) {
    ssize_t n = rd_read(r, w->chunk, ARCHIVE_CHUNK);

    if(n < 0) {
      w->h->leaf_end(w->ud, -1);
      return -1;
    }
    if(n == 0) {
      w->h->leaf_end(w->ud, 0);
      return 0;
    }
    rc = w->h->leaf_data(w->ud, w->chunk, (size_t)n);
    if(rc != 0) {
      w->h->leaf_end(w->ud, 1);
      return rc < 0 ? -2 : 0;
    }
  }
}

/* "report.xml.gz" -> "report.xml"; a name without the suffix is kept. */
static void strip_gz_suffix(char *out, size_t outlen, const char *name)
{
  size_t n = strlen(name);

  if(n >= 5 && strcasecmp(name + n - 5, ".gzip") == 0)
    n -= 5;
  else if(n >= 3 && strcasecmp(name + n - 3, ".gz") == 0)
    n -= 3;
  if(n >= outlen)
    n = outlen - 1;
  memcpy(out, name, n);
  out[n] = '\0';
}

static int walk_gzip(struct walk *w, struct rd *in, const char *name,
                     unsigned depth)
{
  struct rd_gz g;
  char *inner;
  size_t namelen = strlen(name) + 1;
  int rc;

  memset(&g, 0, sizeof(g));
  archive_printf(g.desc, sizeof(g.desc), "gzip layer %u ('%s')", depth + 1,
                 name);
  if(depth + 1 > w->lim.max_depth) {
    walk_fail(w, 1, "%s: nesting deeper than %u layers (max_depth)", g.desc,
              w->lim.max_depth);
    return -1;
  }
  g.rd.read = rd_gz_read;
  g.rd.w = w;
  g.in = in;
  g.member = 1;
  g.state = GZ_MEMBER;
  g.inbuf = malloc(ARCHIVE_CHUNK);
  inner = malloc(namelen);
  /* 15 + 16: a gzip wrapper; zlib checks the header, CRC-32 and ISIZE */
  if(g.inbuf == NULL || inner == NULL || inflateInit2(&g.zs, 15 + 16) != Z_OK) {
    free(g.inbuf);
    free(inner);
    walk_fail(w, 0, "%s: out of memory", g.desc);
    return -1;
  }
  strip_gz_suffix(inner, namelen, name);
  rc = walk_stream(w, &g.rd, inner, depth + 1);
  inflateEnd(&g.zs);
  free(g.inbuf);
  free(inner);
  return rc;
}

static int is_dir_name(const char *s)
{
  size_t n = strlen(s);

  return n > 0 && (s[n - 1] == '/' || s[n - 1] == '\\');
}

static const char *base_name(const char *s)
{
  const char *slash = strrchr(s, '/'), *bslash = strrchr(s, '\\');

  if(bslash != NULL && (slash == NULL || bslash > slash))
    slash = bslash;
  return slash != NULL ? slash + 1 : s;
}

/* Inflate one member (the current minizip entry e, already cross-checked)
 * and walk what comes out. */
static int walk_zip_member(struct walk *w, unzFile uf, struct zio *z,
                           const struct zip_entry *e, const char *zdesc,
                           const char *mname, unsigned depth)
{
  struct rd_zm m;
  int rc;

  memset(&m, 0, sizeof(m));
  archive_printf(m.desc, sizeof(m.desc), "%s member '%s'", zdesc, mname);
  if(e->flags & 1) {
    walk_fail(w, 1, "%s: encrypted members are not supported", m.desc);
    return -1;
  }
  if(e->method != 0 && e->method != Z_DEFLATED) {
    walk_fail(w, 1, "%s: compression method %u is not supported", m.desc,
              e->method);
    return -1;
  }
  if(unzOpenCurrentFile2(uf, NULL, NULL, 1) != UNZ_OK) {
    if(z->io_errno != 0)
      walk_fail(w, 0, "%s: read error: %s", m.desc, strerror(z->io_errno));
    else
      walk_fail(w, 1,
                "%s: local header does not match the central "
                "directory",
                m.desc);
    return -1;
  }
  if(unzGetCurrentFileZStreamPos64(uf) != e->data_off) {
    unzCloseCurrentFile(uf);
    walk_fail(w, 1,
              "%s: data offset differs between the directory check "
              "and minizip",
              m.desc);
    return -1;
  }
  m.rd.read = rd_zm_read;
  m.rd.w = w;
  m.uf = uf;
  m.z = z;
  m.e = e;
  m.crc = crc32(0L, Z_NULL, 0);
  if(e->method == Z_DEFLATED) {
    m.inbuf = malloc(ARCHIVE_CHUNK);
    /* -15: raw deflate, as zip stores it */
    if(m.inbuf == NULL || inflateInit2(&m.zs, -15) != Z_OK) {
      free(m.inbuf);
      unzCloseCurrentFile(uf);
      walk_fail(w, 0, "%s: out of memory", m.desc);
      return -1;
    }
    m.zs_init = 1;
  }
  rc = walk_stream(w, &m.rd, base_name(mname), depth);
  if(m.zs_init)
    inflateEnd(&m.zs);
  free(m.inbuf);
  unzCloseCurrentFile(uf);
  return rc;
}

/* Walk the zip seen through z.  depth is the layer count around the
 * members (this zip's own layer number). */
static int walk_zip(struct walk *w, struct zio *z, const char *name,
                    unsigned depth)
{
  char zdesc[ARCHIVE_DESC_MAX], why[256];
  struct zip_dir dir;
  zlib_filefunc64_def ff;
  unz_global_info64 gi;
  unzFile uf;
  char *mname;
  size_t i;
  int rc = 0;

  archive_printf(zdesc, sizeof(zdesc), "zip layer %u ('%s')", depth, name);
  if(zipdir_read(z, w->lim.max_members, &dir, why, sizeof(why)) < 0) {
    if(z->io_errno != 0)
      walk_fail(w, 0, "%s: read error: %s", zdesc, strerror(z->io_errno));
    else
      walk_fail(w, 1, "%s: %s", zdesc, why);
    return -1;
  }
  if(dir.n == 0)
    return 0; /* an empty zip: no leaves */

  mname = malloc(ARCHIVE_NAME_MAX + 1);
  if(mname == NULL) {
    zipdir_free(&dir);
    walk_fail(w, 0, "%s: out of memory", zdesc);
    return -1;
  }
  zio_filefunc(&ff, z);
  uf = unzOpen2_64("archive", &ff);
  if(uf == NULL) {
    free(mname);
    zipdir_free(&dir);
    if(z->io_errno != 0)
      walk_fail(w, 0, "%s: read error: %s", zdesc, strerror(z->io_errno));
    else
      walk_fail(w, 1, "%s: not a readable zip", zdesc);
    return -1;
  }
  if(unzGetGlobalInfo64(uf, &gi) != UNZ_OK || gi.number_entry != dir.n) {
    walk_fail(w, 1,
              "%s: entry count differs between the directory check "
              "and minizip",
              zdesc);
    rc = -1;
  }

  for(i = 0; rc == 0 && i < dir.n; i++) {
    const struct zip_entry *e = &dir.e[i];
    unz_file_info64 fi;

    if((i == 0 ? unzGoToFirstFile(uf) : unzGoToNextFile(uf)) != UNZ_OK ||
       unzGetCurrentFileInfo64(uf, &fi, mname, ARCHIVE_NAME_MAX + 1, NULL, 0,
                               NULL, 0) != UNZ_OK) {
      if(z->io_errno != 0)
        walk_fail(w, 0, "%s: read error: %s", zdesc, strerror(z->io_errno));
      else
        walk_fail(w, 1, "%s: cannot read directory entry %zu", zdesc, i + 1);
      rc = -1;
      break;
    }
    mname[fi.size_filename <= ARCHIVE_NAME_MAX ? fi.size_filename
                                               : ARCHIVE_NAME_MAX] = '\0';
    /* minizip must see exactly what the validator saw */
    if(fi.compressed_size != e->csize || fi.uncompressed_size != e->usize ||
       fi.crc != e->crc || fi.compression_method != e->method ||
       fi.flag != e->flags) {
      /* Debian's minizip 1.1 never applies zip64 extra fields on LP64
       * (it compares with (unsigned long)-1), so such entries land here */
      if(e->zip64)
        walk_fail(w, 1,
                  "%s: entry %zu uses zip64 sizes, which the "
                  "installed minizip cannot read",
                  zdesc, i + 1);
      else
        walk_fail(w, 1,
                  "%s: entry %zu differs between the directory check "
                  "and minizip",
                  zdesc, i + 1);
      rc = -1;
      break;
    }
    if(is_dir_name(mname))
      continue;
    rc = walk_zip_member(w, uf, z, e, zdesc, mname, depth);
  }

  unzClose(uf);
  free(mname);
  zipdir_free(&dir);
  return rc;
}

/* An unlinked file for spooling a nested zip: $TMPDIR or /tmp. */
static int spool_open(const char **dir_r)
{
  const char *dir = getenv("TMPDIR");
  char path[4096];
  int fd;

  if(dir == NULL || dir[0] == '\0')
    dir = "/tmp";
  *dir_r = dir;
#ifdef O_TMPFILE
  fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if(fd >= 0)
    return fd;
#endif
  if(snprintf(path, sizeof(path), "%s/archive-spool-XXXXXX", dir) >=
     (int)sizeof(path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = mkostemp(path, O_CLOEXEC);
  if(fd >= 0)
    unlink(path);
  return fd;
}

/* Copy all of r to a temporary file and walk it as a zip. */
static int walk_zip_spooled(struct walk *w, struct rd *r, const char *name,
                            unsigned depth)
{
  const char *dir;
  uint64_t total = 0;
  struct zio z;
  int fd, rc;

  fd = spool_open(&dir);
  if(fd < 0) {
    walk_fail(w, 0,
              "zip layer %u ('%s'): cannot create a temporary file in "
              "%s: %s",
              depth, name, dir, strerror(errno));
    return -1;
  }
  for(;;) {
    ssize_t n = rd_read(r, w->chunk, ARCHIVE_CHUNK);

    if(n < 0) {
      close(fd);
      return -1;
    }
    if(n == 0)
      break;
    total += (uint64_t)n;
    if(total > w->lim.max_bytes) {
      close(fd);
      walk_fail(w, 1,
                "zip layer %u ('%s'): size exceeds the limit of %llu "
                "bytes (max_bytes)",
                depth, name, (unsigned long long)w->lim.max_bytes);
      return -1;
    }
    if(util_write_all(fd, w->chunk, (size_t)n) < 0) {
      walk_fail(w, 0,
                "zip layer %u ('%s'): cannot write a temporary file "
                "in %s: %s",
                depth, name, dir, strerror(errno));
      close(fd);
      return -1;
    }
  }
  zio_init_fd(&z, fd, 0, total);
  rc = walk_zip(w, &z, name, depth);
  close(fd);
  return rc;
}

static int walk_stream(struct walk *w, struct rd *r, const char *name,
                       unsigned depth)
{
  ssize_t n = rd_sniff(r);
  const unsigned char *p = r->peek;

  if(n < 0)
    return -1;
  if(n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
    return walk_gzip(w, r, name, depth);
  if(n == 4 && p[0] == 'P' && p[1] == 'K' &&
     ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6))) {
    struct zio z;

    if(depth + 1 > w->lim.max_depth) {
      walk_fail(w, 1,
                "zip layer %u ('%s'): nesting deeper than %u layers "
                "(max_depth)",
                depth + 1, name, w->lim.max_depth);
      return -1;
    }
    if(r != w->root || (w->root_fd >= 0 && !w->root_seekable))
      return walk_zip_spooled(w, r, name, depth + 1);
    if(w->root_fd >= 0)
      zio_init_fd(&z, w->root_fd, w->root_base, w->root_size);
    else
      zio_init_mem(&z, w->root_mem, w->root_len);
    return walk_zip(w, &z, name, depth + 1);
  }
  return walk_leaf(w, r, name, depth);
}

static int walk_init(struct walk *w, const struct archive_limits *lim,
                     const struct archive_handler *h, void *ud,
                     struct archive_error *err)
{
  memset(w, 0, sizeof(*w));
  if(lim != NULL)
    w->lim = *lim;
  else
    archive_limits_default(&w->lim);
  w->h = h;
  w->ud = ud;
  w->err = err;
  err->permanent = 0;
  err->msg[0] = '\0';
  w->root_fd = -1;
  w->chunk = malloc(ARCHIVE_CHUNK);
  if(w->chunk == NULL) {
    walk_fail(w, 0, "out of memory");
    return -1;
  }
  return 0;
}

/* Walk the outermost layer, root, read by read_fn, and free what
 * walk_init() allocated.  A NULL name is "". */
static int walk_root(struct walk *w, struct rd *root,
                     ssize_t (*read_fn)(struct rd *, unsigned char *, size_t),
                     const char *name)
{
  int rc;

  root->read = read_fn;
  root->w = w;
  w->root = root;
  rc = walk_stream(w, root, name == NULL ? "" : name, 0);
  free(w->chunk);
  return rc;
}

int archive_walk_fd(int fd, const char *name, const struct archive_limits *lim,
                    const struct archive_handler *h, void *ud,
                    struct archive_error *err)
{
  struct walk w;
  struct rd_fd src;
  struct stat st;
  off_t off;

  if(name == NULL)
    name = "";
  if(walk_init(&w, lim, h, ud, err) < 0)
    return -1;
  memset(&src, 0, sizeof(src));
  src.fd = fd;
  src.name = name;
  w.root_fd = fd;
  /* a regular file is read in place when it is a zip; anything else (a
   * pipe) is spooled first */
  if(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
     (off = lseek(fd, 0, SEEK_CUR)) >= 0) {
    w.root_seekable = 1;
    w.root_base = (uint64_t)off;
    w.root_size = (uint64_t)st.st_size > (uint64_t)off
                      ? (uint64_t)st.st_size - (uint64_t)off
                      : 0;
  }
  return walk_root(&w, &src.rd, rd_fd_read, name);
}

int archive_walk_mem(const void *data, size_t len, const char *name,
                     const struct archive_limits *lim,
                     const struct archive_handler *h, void *ud,
                     struct archive_error *err)
{
  struct walk w;
  struct rd_mem src;

  if(walk_init(&w, lim, h, ud, err) < 0)
    return -1;
  memset(&src, 0, sizeof(src));
  src.data = data;
  src.len = len;
  w.root_mem = data;
  w.root_len = len;
  return walk_root(&w, &src.rd, rd_mem_read, name);
}
