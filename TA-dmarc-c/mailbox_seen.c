/*
 * mailbox_seen: the UID set of a folder's done messages and the store of
 * reports already emitted (see mailbox_private.h).
 *
 * Both are what a checkpoint is made of.  The UID set is a sorted list of
 * ranges, as IMAP writes it ("1:500,502"), so a folder of a million read
 * messages is a few bytes.  The seen store keeps 64 bits of the SHA-256 of
 * each emitted report's key, a sorted array per month, so the same report
 * sent twice (or read from two folders, or again after UIDVALIDITY
 * changed) yields its events once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mailbox_private.h"

#include "log.h"
#include "util.h"

/* Reports per seen month kept in memory before months are dropped. */
#define SEEN_MAX_MONTHS 24

/* ------------------------------------------------------------ UID sets */

void mb_uidset_free(struct uidset *s)
{
  free(s->r);
  memset(s, 0, sizeof(*s));
}

bool mb_uidset_has(const struct uidset *s, uint32_t uid)
{
  size_t lo = 0, hi = s->n;

  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(uid < s->r[mid].lo)
      hi = mid;
    else if(uid > s->r[mid].hi)
      lo = mid + 1;
    else
      return true;
  }
  return false;
}

/* Room for one more range in s.  0, or -1 out of memory. */
static int uidset_room(struct uidset *s)
{
  size_t nc;
  struct range *nr;

  if(s->n < s->cap)
    return 0;
  nc = s->cap ? s->cap * 2 : 16;
  if(!(nr = realloc(s->r, nc * sizeof(*nr))))
    return -1;
  s->r = nr;
  s->cap = nc;
  return 0;
}

/* Add one UID, merging with its neighbours.  Returns 0 or -1 (memory). */
int mb_uidset_add(struct uidset *s, uint32_t uid)
{
  size_t lo = 0, hi = s->n, i;

  while(lo < hi) { /* first range with r.hi >= uid */
    size_t mid = lo + (hi - lo) / 2;
    if(s->r[mid].hi < uid)
      lo = mid + 1;
    else
      hi = mid;
  }
  i = lo;
  if(i < s->n && s->r[i].lo <= uid)
    return 0; /* already in */
  if(i > 0 && s->r[i - 1].hi + 1 == uid) {
    s->r[i - 1].hi = uid;
    if(i < s->n && s->r[i].lo == uid + 1) { /* closes a gap */
      s->r[i - 1].hi = s->r[i].hi;
      memmove(&s->r[i], &s->r[i + 1], (s->n - i - 1) * sizeof(*s->r));
      s->n--;
    }
    return 0;
  }
  if(i < s->n && s->r[i].lo == uid + 1) {
    s->r[i].lo = uid;
    return 0;
  }
  if(uidset_room(s))
    return -1;
  memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
  s->r[i].lo = s->r[i].hi = uid;
  s->n++;
  return 0;
}

/* Parse "1:5,7" (what uidset_format writes: ranges in ascending order).
 * Returns 0, or -1 for anything else (the caller then starts afresh). */
int mb_uidset_parse(struct uidset *s, const char *p)
{
  while(*p) {
    char *end;
    unsigned long a, b;

    errno = 0;
    a = strtoul(p, &end, 10);
    if(end == p || errno || a == 0 || a > UINT32_MAX)
      return -1;
    b = a;
    p = end;
    if(*p == ':') {
      p++;
      b = strtoul(p, &end, 10);
      if(end == p || errno || b < a || b > UINT32_MAX)
        return -1;
      p = end;
    }
    if(s->n && a <= (unsigned long)s->r[s->n - 1].hi + 1) {
      if(a < s->r[s->n - 1].lo)
        return -1; /* not in order */
      if(b > s->r[s->n - 1].hi)
        s->r[s->n - 1].hi = (uint32_t)b;
    }
    else {
      if(uidset_room(s))
        return -1;
      s->r[s->n].lo = (uint32_t)a;
      s->r[s->n].hi = (uint32_t)b;
      s->n++;
    }
    if(*p == ',')
      p++;
    else if(*p)
      return -1;
  }
  return 0;
}

int mb_uidset_format(const struct uidset *s, struct buf *b)
{
  for(size_t i = 0; i < s->n; i++) {
    int rc =
        s->r[i].lo == s->r[i].hi
            ? buf_printf(b, "%s%u", i ? "," : "", s->r[i].lo)
            : buf_printf(b, "%s%u:%u", i ? "," : "", s->r[i].lo, s->r[i].hi);
    if(rc < 0)
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------- seen reports */

struct seen_month {
  char ym[16]; /* "2026-03", or "none" */
  uint64_t *h; /* sorted */
  size_t n, cap;
  bool dirty;
};

/* A report emitted since the month records were last written. */
struct seen_new {
  char ym[16];
  uint64_t h;
};

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The month the report's date range ends in: the key's last field. */
static void key_month(const char *key, char ym[16])
{
  const char *p = strrchr(key, 0x1f);
  uint64_t end;
  time_t t;
  struct tm tm;

  strcpy(ym, "none");
  if(!p || util_parse_u64(p + 1, 0, 253402300799ull, &end))
    return;
  t = (time_t)end;
  if(gmtime_r(&t, &tm))
    snprintf(ym, 16, "%04u-%02u", (unsigned)(tm.tm_year + 1900) % 10000,
             (unsigned)(tm.tm_mon + 1) % 100);
}

static uint64_t key_hash(const char *key)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  uint64_t h = 0;

  EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL);
  for(int i = 0; i < 8; i++)
    h = h << 8 | md[i];
  return h;
}

/* Room for one more hash in m.  0, or -1 out of memory. */
static int month_room(struct seen_month *m)
{
  size_t nc;
  uint64_t *nh;

  if(m->n < m->cap)
    return 0;
  nc = m->cap ? m->cap * 2 : 64;
  if(!(nh = realloc(m->h, nc * sizeof(*nh))))
    return -1;
  m->h = nh;
  m->cap = nc;
  return 0;
}

static struct seen_month *seen_load(struct seen_store *s, const char *ym)
{
  char key[1200], err[512], *val = NULL;
  struct seen_month *m;
  int rc;

  for(size_t i = 0; i < s->n; i++)
    if(!strcmp(s->m[i].ym, ym))
      return &s->m[i];
  if(s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 4;
    struct seen_month *nm = realloc(s->m, nc * sizeof(*nm));
    if(!nm)
      return NULL;
    s->m = nm;
    s->cap = nc;
  }
  m = &s->m[s->n++];
  memset(m, 0, sizeof(*m));
  snprintf(m->ym, sizeof(m->ym), "%s", ym);
  snprintf(key, sizeof(key), "seen|%s|%s", s->scope, ym);
  rc = store_get_long(s->st, key, &val, err, sizeof(err));
  if(rc < 0)
    log_warn("%s", err);
  if(rc == 1) {
    for(char *p = val; *p;) {
      char *end;
      unsigned long long h = strtoull(p, &end, 16);
      if(end == p)
        break;
      if(month_room(m))
        break;
      m->h[m->n++] = h;
      p = end;
      while(*p == '\n')
        p++;
    }
    qsort(m->h, m->n, sizeof(*m->h), cmp_u64);
  }
  free(val);
  return m;
}

int mb_seen_cb(void *ud, const char *key)
{
  struct seen_store *s = ud;
  char ym[16];
  struct seen_month *m;
  uint64_t h = key_hash(key);

  key_month(key, ym);
  m = seen_load(s, ym);
  return m && m->n && bsearch(&h, m->h, m->n, sizeof(h), cmp_u64) ? 1 : 0;
}

/* Add h to month ym (and to the journal when it is new there). */
static void seen_add(struct seen_store *s, const char *ym, uint64_t h)
{
  struct seen_month *m = seen_load(s, ym);
  size_t i = 0;

  if(!m)
    return;
  { /* first index with m->h[i] >= h: the list is sorted */
    size_t hi = m->n;
    while(i < hi) {
      size_t mid = i + (hi - i) / 2;
      if(m->h[mid] < h)
        i = mid + 1;
      else
        hi = mid;
    }
  }
  if(i < m->n && m->h[i] == h)
    return;
  if(month_room(m))
    return;
  memmove(&m->h[i + 1], &m->h[i], (m->n - i) * sizeof(*m->h));
  m->h[i] = h;
  m->n++;
  m->dirty = true;
  if(s->njr == s->capjr) {
    size_t nc = s->capjr ? s->capjr * 2 : 256;
    struct seen_new *nj = realloc(s->jr, nc * sizeof(*nj));
    if(!nj)
      return; /* it is in the month: written at the next seen_save */
    s->jr = nj;
    s->capjr = nc;
  }
  snprintf(s->jr[s->njr].ym, sizeof(s->jr[s->njr].ym), "%s", ym);
  s->jr[s->njr++].h = h;
}

void mb_emitted_cb(void *ud, const char *key)
{
  char ym[16];

  key_month(key, ym);
  seen_add(ud, ym, key_hash(key));
}

/* The journal as lines "YYYY-MM 0123456789abcdef" appended to b. */
int mb_seen_journal_format(const struct seen_store *s, struct buf *b)
{
  static const char hex[] = "0123456789abcdef";
  for(size_t i = 0; i < s->njr; i++) {
    char line[48];
    size_t k = (size_t)snprintf(line, sizeof(line), "%s ", s->jr[i].ym);
    for(int d = 0; d < 16; d++)
      line[k++] = hex[(s->jr[i].h >> (60 - 4 * d)) & 0xf];
    line[k++] = '\n';
    if(buf_append(b, line, k))
      return -1;
  }
  return 0;
}

/* Take the journal lines of a checkpoint record back (after a crash the
 * month records may not have them). */
void mb_seen_journal_load(struct seen_store *s, const char *p)
{
  while(*p) {
    char ym[16], *end;
    size_t k = 0;
    unsigned long long h;
    while(*p && *p != ' ' && *p != '\n' && k + 1 < sizeof(ym))
      ym[k++] = *p++;
    ym[k] = '\0';
    if(*p != ' ')
      break;
    h = strtoull(p + 1, &end, 16);
    if(end == p + 1 || (*end && *end != '\n'))
      break;
    seen_add(s, ym, h);
    p = *end ? end + 1 : end;
  }
}

/* Write the months that changed; drop clean ones when many are loaded. */
int mb_seen_save(struct seen_store *s)
{
  int rc = 0;

  for(size_t i = 0; i < s->n; i++) {
    struct seen_month *m = &s->m[i];
    char key[1200], err[512];
    struct buf b;

    if(!m->dirty)
      continue;
    buf_init(&b, SIZE_MAX);
    /* The whole month is written again each batch: format by hand, as
     * printf made this the costliest step of a checkpoint. */
    if(m->n > (SIZE_MAX - 1) / 17 || buf_reserve(&b, m->n * 17 + 1))
      rc = -1;
    for(size_t j = 0; j < m->n && !rc; j++) {
      static const char hex[] = "0123456789abcdef";
      char *o = b.data + b.len;
      for(int d = 0; d < 16; d++)
        o[d] = hex[(m->h[j] >> (60 - 4 * d)) & 0xf];
      o[16] = '\n';
      b.len += 17;
    }
    if(!rc && b.data)
      b.data[b.len] = '\0';
    snprintf(key, sizeof(key), "seen|%s|%s", s->scope, m->ym);
    if(!rc &&
       store_put_long(s->st, key, b.data ? b.data : "", err, sizeof(err))) {
      log_error("%s", err);
      rc = -1;
    }
    buf_free(&b);
    if(rc)
      break;
    m->dirty = false;
  }
  if(rc)
    s->failed = true;
  else
    s->njr = s->njr_kept = 0; /* all in the month records now */
  if(!rc && s->n > SEEN_MAX_MONTHS) {
    size_t k = 0;
    for(size_t i = 0; i < s->n; i++) {
      if(s->m[i].dirty)
        s->m[k++] = s->m[i];
      else
        free(s->m[i].h);
    }
    s->n = k;
  }
  return rc;
}

void mb_seen_free(struct seen_store *s)
{
  for(size_t i = 0; i < s->n; i++)
    free(s->m[i].h);
  free(s->m);
  free(s->jr);
  free(s->scope);
  memset(s, 0, sizeof(*s));
}
