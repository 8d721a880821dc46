#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

/* On-spool entry: u32 frag length, u32 insert offset, u16 ip length, the ip,
 * the fragment.  Native byte order: the spool never outlives the process. */
#define HDR_LEN    10
#define READ_CHUNK (1u << 20)

struct dmarc_spool {
  struct buf mem;    /* bytes [file_len, file_len + mem.len) */
  int fd;            /* -1 until memory overflows */
  uint64_t file_len; /* bytes [0, file_len) are in the file */
  char *rd;          /* read-ahead for _each, READ_CHUNK bytes */
  size_t rd_len;
  char *ent; /* one entry that straddles read chunks */
  size_t ent_cap;
};

struct dmarc_spool *dmarc_spool_new(void)
{
  struct dmarc_spool *s = calloc(1, sizeof(*s));

  if(!s)
    return NULL;
  buf_init(&s->mem, DMARC_SPOOL_MEM + (64u << 20));
  s->fd = -1;
  return s;
}

void dmarc_spool_free(struct dmarc_spool *s)
{
  if(!s)
    return;
  if(s->fd >= 0)
    close(s->fd);
  buf_free(&s->mem);
  free(s->rd);
  free(s->ent);
  free(s);
}

void dmarc_spool_clear(struct dmarc_spool *s)
{
  dmarc_spool_rewind(s, 0);
}

uint64_t dmarc_spool_mark(const struct dmarc_spool *s)
{
  return s->file_len + s->mem.len;
}

int dmarc_spool_rewind(struct dmarc_spool *s, uint64_t mark)
{
  if(mark >= s->file_len) {
    s->mem.len = (size_t)(mark - s->file_len);
    return 0;
  }
  buf_reset(&s->mem);
  if(ftruncate(s->fd, (off_t)mark) < 0)
    return -1;
  s->file_len = mark;
  return 0;
}

static int spill(struct dmarc_spool *s)
{
  if(s->fd < 0) {
    const char *dir = getenv("TMPDIR");
    char path[4096];

    if(!dir || !*dir)
      dir = "/tmp";
    s->fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if(s->fd < 0) {
      /* Fall back for file systems without O_TMPFILE. */
      snprintf(path, sizeof(path), "%s/dmarc-spool.XXXXXX", dir);
      s->fd = mkstemp(path);
      if(s->fd < 0)
        return -1;
      unlink(path);
    }
  }
  if(pwrite(s->fd, s->mem.data, s->mem.len, (off_t)s->file_len) !=
     (ssize_t)s->mem.len) {
    if(errno == 0)
      errno = ENOSPC;
    return -1;
  }
  s->file_len += s->mem.len;
  buf_reset(&s->mem);
  return 0;
}

int dmarc_spool_add(struct dmarc_spool *s, const char *frag, size_t len,
                    size_t insert_at, const char *ip)
{
  unsigned char hdr[HDR_LEN];
  uint32_t l32 = (uint32_t)len, i32 = (uint32_t)insert_at;
  size_t iplen = ip ? strlen(ip) : 0;
  uint16_t ip16;

  if(len > UINT32_MAX || iplen > 255) {
    errno = EINVAL;
    return -1;
  }
  ip16 = (uint16_t)iplen;
  memcpy(hdr, &l32, 4);
  memcpy(hdr + 4, &i32, 4);
  memcpy(hdr + 8, &ip16, 2);
  if(buf_append(&s->mem, hdr, HDR_LEN) || buf_append(&s->mem, ip, iplen) ||
     buf_append(&s->mem, frag, len)) {
    errno = ENOMEM;
    return -1;
  }
  if(s->mem.len >= DMARC_SPOOL_MEM)
    return spill(s);
  return 0;
}

/* Copy n bytes at pos into dst, from the file or memory part. */
static int spool_read(struct dmarc_spool *s, uint64_t pos, char *dst, size_t n)
{
  while(n) {
    size_t take;
    if(pos >= s->file_len) {
      memcpy(dst, s->mem.data + (pos - s->file_len), n);
      return 0;
    }
    take = (size_t)(s->file_len - pos) < n ? (size_t)(s->file_len - pos) : n;
    ssize_t r = pread(s->fd, dst, take, (off_t)pos);
    if(r <= 0)
      return -1;
    dst += r;
    pos += (uint64_t)r;
    n -= (size_t)r;
  }
  return 0;
}

int dmarc_spool_each(struct dmarc_spool *s, uint64_t from, uint64_t to,
                     int (*cb)(void *ud, const struct dmarc_spool_entry *e),
                     void *ud)
{
  uint64_t pos = from, rd_pos = from;
  char ipbuf[256];

  if(!s->rd && !(s->rd = malloc(READ_CHUNK)))
    return -1;
  s->rd_len = 0;
  while(pos < to) {
    uint32_t len, ins;
    uint16_t iplen;
    struct dmarc_spool_entry e;
    size_t off, total;
    const char *p;

    /* Refill the read-ahead when the header is not wholly inside it. */
    if(pos + HDR_LEN > rd_pos + s->rd_len) {
      size_t n = (to - pos) < READ_CHUNK ? (size_t)(to - pos) : READ_CHUNK;
      if(n < HDR_LEN || spool_read(s, pos, s->rd, n))
        return -1;
      s->rd_len = n;
      rd_pos = pos;
    }
    off = (size_t)(pos - rd_pos);
    memcpy(&len, s->rd + off, 4);
    memcpy(&ins, s->rd + off + 4, 4);
    memcpy(&iplen, s->rd + off + 8, 2);
    total = HDR_LEN + (size_t)iplen + len;
    if(total > to - pos)
      return -1;
    if(off + total <= s->rd_len)
      p = s->rd + off + HDR_LEN;
    else {
      /* The entry straddles the read-ahead: read it whole on its own. */
      if(s->ent_cap < total) {
        char *tmp = realloc(s->ent, total);
        if(!tmp)
          return -1;
        s->ent = tmp;
        s->ent_cap = total;
      }
      if(spool_read(s, pos + HDR_LEN, s->ent, total - HDR_LEN))
        return -1;
      p = s->ent;
      s->rd_len = 0; /* refill from the next entry on */
      rd_pos = pos + total;
    }
    memcpy(ipbuf, p, iplen);
    ipbuf[iplen] = '\0';
    e.ip = ipbuf;
    e.frag = p + iplen;
    e.len = len;
    e.insert_at = ins;
    if(cb(ud, &e))
      return -1;
    pos += total;
  }
  return 0;
}
