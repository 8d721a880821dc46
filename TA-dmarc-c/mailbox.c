/*
 * mailbox: the IMAP and POP3 runs of the mail inputs (see mailbox.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mailbox.h"
#include "mailbox_auth.h"

#include "dmarc/pool.h"
#include "mime/mime.h"
#include "pop3/pop3.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

/* Room kept in front of a fetched part for the MIME header that tells
 * mime how the part is encoded (the part is fetched without it). */
#define PREFIX_ROOM 256
/* Reports per seen month kept in memory before months are dropped. */
#define SEEN_MAX_MONTHS 24
/* New seen reports carried in a folder's checkpoint record before the
 * month records are rewritten (~25 bytes each: one record part). */
#define SEEN_JOURNAL_MAX 2000
/* Header values copied into vendor_rua_mail. */
#define META_MAX 998

/* Values longer than one record (a folder's UID set, a month's seen
 * reports, a POP3 box's UIDLs) go through store_put_long. */
#define long_put store_put_long
#define long_get store_get_long

/* ------------------------------------------------------------ UID sets */

struct range { uint32_t lo, hi; };

/* Sorted, disjoint, non-adjacent ranges of UIDs. */
struct uidset {
  struct range *r;
  size_t n, cap;
};

static void uidset_free(struct uidset *s)
{
  free(s->r);
  memset(s, 0, sizeof(*s));
}

static bool uidset_has(const struct uidset *s, uint32_t uid)
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

/* Add one UID, merging with its neighbours.  Returns 0 or -1 (memory). */
static int uidset_add(struct uidset *s, uint32_t uid)
{
  size_t lo = 0, hi = s->n, i;

  while(lo < hi) {   /* first range with r.hi >= uid */
    size_t mid = lo + (hi - lo) / 2;
    if(s->r[mid].hi < uid)
      lo = mid + 1;
    else
      hi = mid;
  }
  i = lo;
  if(i < s->n && s->r[i].lo <= uid)
    return 0;   /* already in */
  if(i > 0 && s->r[i - 1].hi + 1 == uid) {
    s->r[i - 1].hi = uid;
    if(i < s->n && s->r[i].lo == uid + 1) {   /* closes a gap */
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
  if(s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 16;
    struct range *nr = realloc(s->r, nc * sizeof(*nr));
    if(!nr)
      return -1;
    s->r = nr;
    s->cap = nc;
  }
  memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
  s->r[i].lo = s->r[i].hi = uid;
  s->n++;
  return 0;
}

/* Parse "1:5,7" (what uidset_format writes: ranges in ascending order).
 * Returns 0, or -1 for anything else (the caller then starts afresh). */
static int uidset_parse(struct uidset *s, const char *p)
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
        return -1;   /* not in order */
      if(b > s->r[s->n - 1].hi)
        s->r[s->n - 1].hi = (uint32_t)b;
    }
    else {
      if(s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        struct range *nr = realloc(s->r, nc * sizeof(*nr));
        if(!nr)
          return -1;
        s->r = nr;
        s->cap = nc;
      }
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

static int uidset_format(const struct uidset *s, struct buf *b)
{
  for(size_t i = 0; i < s->n; i++) {
    int rc = s->r[i].lo == s->r[i].hi
               ? buf_printf(b, "%s%u", i ? "," : "", s->r[i].lo)
               : buf_printf(b, "%s%u:%u", i ? "," : "", s->r[i].lo,
                            s->r[i].hi);
    if(rc < 0)
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------- seen reports */

struct seen_month {
  char ym[16];          /* "2026-03", or "none" */
  uint64_t *h;         /* sorted */
  size_t n, cap;
  bool dirty;
};

/* A report emitted since the month records were last written. */
struct seen_new {
  char ym[16];
  uint64_t h;
};

struct seen_store {
  struct store *st;
  char *scope;         /* "SERVER|USER" */
  struct seen_month *m;
  size_t n, cap;
  struct seen_new *jr; /* the journal: in no month record yet */
  size_t njr, capjr;
  size_t njr_kept;     /* of them, in the folder's checkpoint already */
  bool failed;         /* a write failed: say so at the end */
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
  rc = long_get(s->st, key, &val, err, sizeof(err));
  if(rc < 0)
    log_warn("%s", err);
  if(rc == 1) {
    for(char *p = val; *p;) {
      char *end;
      unsigned long long h = strtoull(p, &end, 16);
      if(end == p)
        break;
      if(m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        uint64_t *nh = realloc(m->h, nc * sizeof(*nh));
        if(!nh)
          break;
        m->h = nh;
        m->cap = nc;
      }
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

static int seen_cb(void *ud, const char *key)
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
  {   /* first index with m->h[i] >= h: the list is sorted */
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
  if(m->n == m->cap) {
    size_t nc = m->cap ? m->cap * 2 : 64;
    uint64_t *nh = realloc(m->h, nc * sizeof(*nh));
    if(!nh)
      return;
    m->h = nh;
    m->cap = nc;
  }
  memmove(&m->h[i + 1], &m->h[i], (m->n - i) * sizeof(*m->h));
  m->h[i] = h;
  m->n++;
  m->dirty = true;
  if(s->njr == s->capjr) {
    size_t nc = s->capjr ? s->capjr * 2 : 256;
    struct seen_new *nj = realloc(s->jr, nc * sizeof(*nj));
    if(!nj)
      return;   /* it is in the month: written at the next seen_save */
    s->jr = nj;
    s->capjr = nc;
  }
  snprintf(s->jr[s->njr].ym, sizeof(s->jr[s->njr].ym), "%s", ym);
  s->jr[s->njr++].h = h;
}

static void emitted_cb(void *ud, const char *key)
{
  char ym[16];

  key_month(key, ym);
  seen_add(ud, ym, key_hash(key));
}

/* The journal as lines "YYYY-MM 0123456789abcdef" appended to b. */
static int seen_journal_format(const struct seen_store *s, struct buf *b)
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
static void seen_journal_load(struct seen_store *s, const char *p)
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
static int seen_save(struct seen_store *s)
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
    if(!rc && long_put(s->st, key, b.data ? b.data : "", err, sizeof(err))) {
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
    s->njr = s->njr_kept = 0;   /* all in the month records now */
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

static void seen_free(struct seen_store *s)
{
  for(size_t i = 0; i < s->n; i++)
    free(s->m[i].h);
  free(s->m);
  free(s->jr);
  free(s->scope);
  memset(s, 0, sizeof(*s));
}

/* ---------------------------------------------------------- run state */

struct totals {
  unsigned listed, fresh, done, with_reports, reports, duplicates,
           not_report, rejected, too_large;
  uint64_t events, fetched_bytes;
};

/* What one message gave. */
struct outcome {
  unsigned reports, duplicates, rejected, parts;
  uint64_t events;
  bool transient;       /* an output error: stop the run */
  char note[1200];      /* first rejection reason */
};

struct mb {
  const struct mailbox_opts *o;
  struct input_opts *io;
  struct splunk_writer *w;
  struct dmarc_ingest *in;       /* ingest on this thread, or ... */
  struct dmarc_pool *pool;       /* ... on the pool's threads */
  struct input_sink sink;        /* where the pool's events go */
  struct store *st;
  struct seen_store seen;
  struct totals t;
  char *folder;          /* IMAP folder in use */
  uint32_t uidvalidity;  /* IMAP, 0 until known */
  struct uidset done;    /* IMAP UIDs done in this UIDVALIDITY */
  char **done_uidl;      /* POP3: UIDLs done (sorted) */
  size_t ndone_uidl;
  bool store_failed;
  bool fatal;            /* stop: an output error or similar */
  bool timed_out;        /* the last session ended: the server went quiet */
  unsigned progress;     /* messages checkpointed this run */
};

/* The mail's identity and headers, for vendor_rua_mail. */
struct meta {
  uint32_t uid;          /* IMAP */
  const char *uidl;      /* POP3 */
  const char *from, *subject, *msgid, *date;
  const char *part;      /* IMAP section, NULL for a whole message */
  const char *dkim_json; /* NULL: not verified */
};

static void json_str(struct buf *b, const char *k, const char *v)
{
  buf_puts(b, ", \"");
  buf_puts(b, k);
  buf_puts(b, "\": \"");
  if(v)
    util_json_escape(b, v, strlen(v));
  buf_putc(b, '"');
}

static void kv_str(struct buf *b, const char *k, const char *v)
{
  buf_puts(b, "vendor_rua_mail_");
  buf_puts(b, k);
  buf_puts(b, "=\"");
  for(const char *p = v ? v : ""; *p; p++) {
    if(*p == '"' || *p == '\\')
      buf_putc(b, '\\');
    buf_putc(b, *p == '\n' || *p == '\r' ? ' ' : *p);
  }
  buf_puts(b, "\"\n");
}

static void build_extras(const struct mb *mb, const struct meta *mt,
                         struct buf *js, struct buf *kv)
{
  char num[32];

  buf_puts(js, "\"vendor_rua_mail\": {\"protocol\": ");
  buf_puts(js, mb->o->proto == MAILBOX_IMAP ? "\"imap\"" : "\"pop3\"");
  json_str(js, "server", mb->o->server);
  kv_str(kv, "server", mb->o->server);
  if(mb->o->proto == MAILBOX_IMAP) {
    json_str(js, "folder", mb->folder);
    buf_printf(js, ", \"uidvalidity\": %u, \"uid\": %u", mb->uidvalidity,
               mt->uid);
    kv_str(kv, "folder", mb->folder);
    snprintf(num, sizeof(num), "%u", mb->uidvalidity);
    kv_str(kv, "uidvalidity", num);
    snprintf(num, sizeof(num), "%u", mt->uid);
    kv_str(kv, "uid", num);
  }
  else {
    json_str(js, "uidl", mt->uidl);
    kv_str(kv, "uidl", mt->uidl);
  }
  json_str(js, "from", mt->from);
  json_str(js, "subject", mt->subject);
  json_str(js, "message_id", mt->msgid);
  json_str(js, "date", mt->date);
  kv_str(kv, "from", mt->from);
  kv_str(kv, "subject", mt->subject);
  kv_str(kv, "message_id", mt->msgid);
  kv_str(kv, "date", mt->date);
  if(mt->part) {
    json_str(js, "part", mt->part);
    kv_str(kv, "part", mt->part);
  }
  if(mt->dkim_json) {
    buf_puts(js, ", \"dkim\": ");
    buf_puts(js, mt->dkim_json);
    mailbox_dkim_kv(kv, mt->dkim_json);
  }
  buf_putc(js, '}');
}

/* What ingesting one leaf gave, into the message's outcome. */
static void note_result(struct outcome *oc, const char *name,
                        const struct dmarc_ingest_result *res)
{
  oc->reports += res->reports;
  oc->duplicates += res->duplicates;
  oc->events += res->events;
  switch(res->status) {
  case INGEST_OK:
    if(res->skipped_leaves)
      log_info("%s: %s", name, res->reason);
    break;
  case INGEST_NOT_REPORT:
    log_debug("%s: not a report: %s", name, res->reason);
    break;
  case INGEST_REJECTED:
    oc->rejected++;
    if(!*oc->note)
      snprintf(oc->note, sizeof(oc->note), "%s: %s", name, res->reason);
    break;
  case INGEST_TRANSIENT:
    oc->transient = true;
    snprintf(oc->note, sizeof(oc->note), "%s: %s", name, res->reason);
    break;
  }
}

static void pool_done(void *ud, const char *name,
                      const struct dmarc_ingest_result *res)
{
  note_result(ud, name, res);
}

/* Wait until every leaf handed to the ingest threads is written out and
 * noted in its message's outcome: before anything is checkpointed, and
 * before the outcomes (the batch) are freed. */
static void ingest_wait(struct mb *mb)
{
  if(mb->pool && dmarc_pool_drain(mb->pool, true))
    mb->fatal = true;
}

/* Ingest one decoded leaf, d->data taken over (freed, or handed to the
 * pool, which frees it). */
static void ingest_leaf(struct mb *mb, struct mime_data *d, const char *name,
                        const struct meta *mt, struct outcome *oc)
{
  struct dmarc_source_info info;
  struct dmarc_ingest_result res;
  struct input_sink sink = { mb->w, 0 };
  struct buf js, kv;

  if(!d->len) {
    mime_data_free(d);
    return;
  }
  buf_init(&js, 256 * 1024);
  buf_init(&kv, 256 * 1024);
  build_extras(mb, mt, &js, &kv);
  memset(&info, 0, sizeof(info));
  info.extra_json = js.data;
  info.extra_kv = kv.data;
  info.seen = seen_cb;
  info.emitted = emitted_cb;
  info.ud = &mb->seen;
  oc->parts++;
  if(mb->pool) {
    char *data = d->data;
    d->data = NULL;
    if(dmarc_pool_submit(mb->pool, data, d->len, name, &info, pool_done,
                         oc)) {
      oc->transient = true;
      snprintf(oc->note, sizeof(oc->note), "%s: %s", name,
               "out of memory, or writing the events failed");
    }
  }
  else {
    dmarc_ingest_mem(mb->in, d->data, d->len, name, &info, input_sink_event,
                     &sink, &res);
    note_result(oc, name, &res);
  }
  mime_data_free(d);
  buf_free(&js);
  buf_free(&kv);
}

/* Keep a part's name usable in events and logs: the file name the sender
 * gave, else where it was in the mail. */
static void part_name(char *out, size_t outlen, const char *filename,
                      const char *fallback)
{
  size_t k = 0;

  if(!filename || !*filename) {
    snprintf(out, outlen, "%s", fallback);
    return;
  }
  for(const char *p = filename; *p && k + 1 < outlen; p++)
    out[k++] = (unsigned char)*p < 0x20 ? '_' : *p;
  out[k] = '\0';
}

/* Every leaf of a parsed message (or of one fetched part) to ingest. */
static void ingest_mime(struct mb *mb, const struct mime_message *msg,
                        const char *base, const struct meta *mt,
                        struct outcome *oc)
{
  for(const struct mime_part *p = mime_message_root(msg); p;
      p = mime_part_next(p)) {
    struct mime_data d;
    char name[300], fb[300];

    if(!mime_part_is_leaf(p) || !p->body_len)
      continue;
    if(mime_part_decode(msg, p, &d)) {
      oc->transient = true;
      snprintf(oc->note, sizeof(oc->note), "out of memory");
      return;
    }
    snprintf(fb, sizeof(fb), "%s.%u", base, p->index);
    part_name(name, sizeof(name), p->filename, p->index ? fb : base);
    if(d.flags & MIME_DATA_TRUNCATED)
      log_warn("%s: part larger than the decoding limit, its end was cut",
               name);
    ingest_leaf(mb, &d, name, mt, oc);
    if(oc->transient)
      return;
  }
}

static char *hdr_copy(const struct mime_part *root, const char *name)
{
  const char *v = mime_header_get(root, name);
  size_t n;
  char *s;

  if(!v)
    return NULL;
  n = strlen(v);
  if(n > META_MAX)
    n = META_MAX;
  s = malloc(n + 1);
  if(s) {
    memcpy(s, v, n);
    s[n] = '\0';
  }
  return s;
}

struct headers { char *from, *subject, *msgid, *date; };

static void headers_free(struct headers *h)
{
  free(h->from);
  free(h->subject);
  free(h->msgid);
  free(h->date);
  memset(h, 0, sizeof(*h));
}

static void headers_take(struct headers *h, const struct mime_part *root)
{
  headers_free(h);
  h->from = hdr_copy(root, "From");
  h->subject = hdr_copy(root, "Subject");
  h->msgid = hdr_copy(root, "Message-ID");
  h->date = hdr_copy(root, "Date");
}

/* A whole message (POP3, or IMAP with DKIM): DKIM, then every leaf. */
static void ingest_whole(struct mb *mb, const void *data, size_t len,
                         struct meta *mt, const char *base,
                         struct outcome *oc)
{
  struct mime_message *msg = NULL;
  struct headers h = { 0 };
  struct buf dk;

  buf_init(&dk, 64 * 1024);
  if(mb->o->dkim && mb->o->dkim(mb->o->dkim_ud, data, len, &dk) == 0)
    mt->dkim_json = dk.data;
  if(mime_parse(data, len, NULL, &msg, NULL)) {
    oc->transient = true;
    snprintf(oc->note, sizeof(oc->note), "out of memory parsing the mail");
    buf_free(&dk);
    return;
  }
  headers_take(&h, mime_message_root(msg));
  mt->from = h.from;
  mt->subject = h.subject;
  mt->msgid = h.msgid;
  mt->date = h.date;
  ingest_mime(mb, msg, base, mt, oc);
  mime_message_free(&msg);
  headers_free(&h);
  buf_free(&dk);
  mt->dkim_json = NULL;
  mt->from = mt->subject = mt->msgid = mt->date = NULL;
}

static void account(struct mb *mb, const char *what, const char *subject,
                    const struct outcome *oc)
{
  mb->t.reports += oc->reports;
  mb->t.duplicates += oc->duplicates;
  mb->t.events += oc->events;
  if(oc->reports || oc->duplicates) {
    mb->t.with_reports++;
    log_info("%s \"%s\": %u report(s), %llu event(s), %u already ingested",
             what, subject ? subject : "", oc->reports,
             (unsigned long long)oc->events, oc->duplicates);
  }
  if(oc->rejected) {
    mb->t.rejected++;
    log_warn("%s \"%s\": rejected: %s", what, subject ? subject : "",
             oc->note);
  }
  else if(!oc->reports && !oc->duplicates) {
    mb->t.not_report++;
    log_debug("%s \"%s\": no report in it", what, subject ? subject : "");
  }
}

/* Flush the events: nothing is checkpointed unless this worked. */
static int flush_events(struct mb *mb)
{
  ingest_wait(mb);
  if(mb->fatal && mb->pool) {
    log_error("writing events failed; nothing more is checkpointed");
    return -1;
  }
  if(splunk_writer_flush(mb->w)) {
    log_error("writing events failed; nothing more is checkpointed");
    mb->fatal = true;
    return -1;
  }
  return 0;
}

static char *scope_of(const struct mailbox_opts *o)
{
  size_t n = strlen(o->server) + strlen(o->username) + 2;
  char *s = malloc(n);
  if(s)
    snprintf(s, n, "%s|%s", o->server, o->username);
  return s;
}

/* ------------------------------------------------------------- IMAP */

bool mailbox_part_is_candidate(const struct imap_bodypart *p, bool single_part)
{
  static const char *const deny_app[] = {
    "pdf", "pkcs7-signature", "x-pkcs7-signature", "pkcs7-mime",
    "x-pkcs7-mime", "pgp-signature", "pgp-encrypted", "pgp-keys", "msword",
    "ics", "postscript", "rtf", "javascript", "x-msdownload",
  };
  static const char *const report_ext[] = {
    ".xml", ".gz", ".gzip", ".zip", ".xml.gz", ".tgz",
  };
  const char *name = p->filename ? p->filename : p->name;
  const char *t = p->type ? p->type : "", *s = p->subtype ? p->subtype : "";

  if(p->nchildren)
    return false;   /* a container: its leaves are looked at */
  if(name) {
    size_t n = strlen(name);
    for(size_t i = 0; i < sizeof(report_ext) / sizeof(*report_ext); i++) {
      size_t e = strlen(report_ext[i]);
      if(n >= e && !strcasecmp(name + n - e, report_ext[i]))
        return true;
    }
  }
  if(!strcmp(t, "image") || !strcmp(t, "audio") || !strcmp(t, "video") ||
     !strcmp(t, "font") || !strcmp(t, "model"))
    return false;
  if(!strcmp(t, "text")) {
    if(!strcmp(s, "xml"))
      return true;
    /* A mail that is only text may have the report pasted in. */
    return single_part && !strcmp(s, "plain") &&
           p->size <= MAILBOX_MAX_INLINE_TEXT;
  }
  if(!strcmp(t, "application")) {
    if(!strncmp(s, "vnd.", 4))
      return false;   /* office documents and the like */
    for(size_t i = 0; i < sizeof(deny_app) / sizeof(*deny_app); i++)
      if(!strcmp(s, deny_app[i]))
        return false;
  }
  return true;   /* archives, XML, octet-stream, unknown: sniff it */
}

/* One message of a batch. */
struct slot {
  uint32_t uid;
  struct imap_bodypart *bs;
  const struct imap_bodypart **cand;
  bool *cand_done;
  size_t ncand;
  bool seen_bs;          /* the server sent a BODYSTRUCTURE */
  bool too_large;
  struct headers h;
  struct outcome oc;
};

struct batch {
  struct slot *s;
  size_t n;
  const char **sections; /* distinct candidate sections (into s[].cand) */
  size_t nsec;
  bool planned;          /* candidates chosen from the structures: only
                            then may a message without any count as done */
};

/* What the fetch handler sees: the parts of one batch arriving while the
 * structures of the next one do (one round trip serves both). */
struct pipe {
  struct mb *mb;
  struct batch *cur;     /* parts (HEADER, sections, whole messages) */
  struct batch *next;    /* BODYSTRUCTUREs */
  struct buf body;       /* the part or message literal being received */
  struct buf hdr;        /* the HEADER literal being received */
  bool have_body, have_hdr;
  char part_sec[IMAP_SECTION_MAX];   /* section of body */
};

static struct slot *slot_find(struct batch *b, uint32_t uid)
{
  size_t lo = 0, hi = b ? b->n : 0;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(b->s[mid].uid < uid)
      lo = mid + 1;
    else if(b->s[mid].uid > uid)
      hi = mid;
    else
      return &b->s[mid];
  }
  return NULL;
}

static void collect_candidates(const struct imap_bodypart *p, bool single,
                               size_t *n, const struct imap_bodypart **out,
                               size_t max)
{
  if(!p->nchildren) {
    if(*n < max && mailbox_part_is_candidate(p, single))
      out[(*n)++] = p;
    return;
  }
  for(size_t i = 0; i < p->nchildren; i++)
    collect_candidates(p->children[i], single, n, out, max);
}

/* Bodies stream in chunks; the section tells a HEADER from a part or a
 * whole message, whatever order the server sends them in. */
static int fetch_body(void *ctx, const struct imap_message *m,
                      const void *data, size_t len)
{
  struct pipe *p = ctx;
  bool hdr = !strcmp(m->section, "HEADER");
  struct buf *b = hdr ? &p->hdr : &p->body;

  if(m->body_offset == 0) {   /* first chunk of this literal */
    buf_reset(b);
    if(hdr)
      p->have_hdr = true;
    else {
      p->have_body = true;
      snprintf(p->part_sec, sizeof(p->part_sec), "%s", m->section);
      if(*m->section) {   /* a part: room for its MIME header in front */
        char pad[PREFIX_ROOM];
        memset(pad, ' ', sizeof(pad));
        if(buf_append(b, pad, sizeof(pad)))
          return -1;
      }
    }
  }
  p->mb->t.fetched_bytes += len;
  return buf_append(b, data, len);
}

/* Only what a MIME header may hold of a token from the server. */
static void token_copy(char *out, size_t outlen, const char *in,
                       const char *dflt)
{
  size_t k = 0;
  for(const char *p = in ? in : dflt; *p && k + 1 < outlen; p++)
    if(isalnum((unsigned char)*p) || strchr("-._+", *p))
      out[k++] = *p;
  out[k] = '\0';
  if(!k)
    snprintf(out, outlen, "%s", dflt);
}

static void ingest_part(struct mb *mb, struct buf *body, struct slot *sl,
                        const struct imap_bodypart *p)
{
  char type[64], sub[64], enc[64], prefix[PREFIX_ROOM], base[300],
       fb[256];
  struct mime_message *msg = NULL;
  struct meta mt = { 0 };
  const char *data;
  size_t plen, len;
  char *fname = NULL;
  const char *raw = p->filename ? p->filename : p->name;

  token_copy(type, sizeof(type), p->type, "application");
  token_copy(sub, sizeof(sub), p->subtype, "octet-stream");
  token_copy(enc, sizeof(enc), p->encoding, "7bit");
  plen = (size_t)snprintf(prefix, sizeof(prefix), "Content-Type: %s/%s\r\n"
                          "Content-Transfer-Encoding: %s\r\n\r\n", type, sub,
                          enc);
  if(body->len < PREFIX_ROOM || plen >= PREFIX_ROOM)
    return;
  memcpy(body->data + PREFIX_ROOM - plen, prefix, plen);
  data = body->data + PREFIX_ROOM - plen;
  len = body->len - PREFIX_ROOM + plen;
  if(mime_parse(data, len, NULL, &msg, NULL)) {
    sl->oc.transient = true;
    return;
  }
  if(raw)   /* names in BODYSTRUCTURE may be RFC 2047 encoded */
    fname = mime_header_decode(raw, strlen(raw), NULL);
  snprintf(fb, sizeof(fb), "uid%u.part%s", sl->uid, p->section);
  part_name(base, sizeof(base), fname, fb);
  free(fname);
  mt.uid = sl->uid;
  mt.from = sl->h.from;
  mt.subject = sl->h.subject;
  mt.msgid = sl->h.msgid;
  mt.date = sl->h.date;
  mt.part = p->section;
  ingest_mime(mb, msg, base, &mt, &sl->oc);
  mime_message_free(&msg);
}

static void take_headers(struct slot *sl, const struct buf *b)
{
  struct mime_message *msg = NULL;
  if(!mime_parse(b->data, b->len, NULL, &msg, NULL)) {
    headers_take(&sl->h, mime_message_root(msg));
    mime_message_free(&msg);
  }
}

/* A message of the batch whose parts are being fetched. */
static void got_parts(struct pipe *p, struct slot *sl, struct imap_message *m,
                      bool had_hdr, bool had_body)
{
  struct mb *mb = p->mb;
  /* the section of the part (or "" for the whole message) in this
   * response; a body that was too large to be streamed left it in m */
  const char *sec = had_body ? p->part_sec : m->section;

  if(had_hdr)
    take_headers(sl, &p->hdr);
  if(!(m->have & IMAP_FETCH_BODY) || !strcmp(sec, "HEADER"))
    return;
  if(!*sec) {   /* a whole message (DKIM) */
    if(m->body_too_large && !had_body) {
      sl->too_large = true;
      log_warn("uid %u is larger than %llu bytes: left out", sl->uid,
               (unsigned long long)mb->o->max_message);
    }
    else if(had_body) {
      struct meta mt = { 0 };
      char base[32];
      mt.uid = sl->uid;
      snprintf(base, sizeof(base), "uid%u", sl->uid);
      ingest_whole(mb, p->body.data, p->body.len, &mt, base, &sl->oc);
      if(sl->bs && !sl->h.subject && !sl->oc.transient)
        take_headers(sl, &p->body);   /* for the log line */
    }
    for(size_t i = 0; i < sl->ncand; i++)
      sl->cand_done[i] = !sl->oc.transient;
    return;
  }
  for(size_t i = 0; i < sl->ncand; i++) {
    if(strcmp(sl->cand[i]->section, sec))
      continue;
    if(m->body_too_large && !had_body) {
      sl->too_large = true;
      log_warn("uid %u part %s is larger than %llu bytes: left out",
               sl->uid, sec, (unsigned long long)mb->o->max_message);
    }
    else if(had_body)
      ingest_part(mb, &p->body, sl, sl->cand[i]);
    sl->cand_done[i] = !sl->oc.transient;
  }
}

static int fetch_message(void *ctx, struct imap_message *m)
{
  struct pipe *p = ctx;
  bool had_hdr = p->have_hdr, had_body = p->have_body;
  struct slot *sl = NULL;

  p->have_hdr = p->have_body = false;
  if(!m->uid)
    return 0;   /* unsolicited (another session changed flags) */
  if((sl = slot_find(p->cur, m->uid)) != NULL)
    got_parts(p, sl, m, had_hdr, had_body);
  else if((sl = slot_find(p->next, m->uid)) != NULL) {
    if(m->have & IMAP_FETCH_BODYSTRUCTURE) {
      imap_bodystructure_free(sl->bs);
      sl->bs = m->bodystructure;
      m->bodystructure = NULL;
      sl->seen_bs = true;
    }
  }
  buf_reset(&p->body);
  buf_reset(&p->hdr);
  if(sl && sl->oc.transient) {
    p->mb->fatal = true;
    return 1;
  }
  return 0;
}

/* Write the folder's checkpoint record: the UID set done, then the
 * journal of seen reports not yet in their month records, so one record
 * (one fsync and one folder fsync) per batch carries both.  compact: the
 * month records are written first and the journal left out. */
static void imap_save_done(struct mb *mb, bool compact)
{
  char key[1400], err[512];
  struct buf v;

  if(compact && mb->seen.njr && seen_save(&mb->seen))
    mb->store_failed = true;   /* the journal stays in the record */
  buf_init(&v, SIZE_MAX);
  snprintf(key, sizeof(key), "imap|%s|%s|%s|%u", mb->o->server,
           mb->o->username, mb->folder, mb->uidvalidity);
  *err = '\0';
  if(uidset_format(&mb->done, &v) || buf_putc(&v, '\n') ||
     seen_journal_format(&mb->seen, &v) ||
     long_put(mb->st, key, v.data ? v.data : "", err, sizeof(err))) {
    log_error("checkpoint %s not written: %s", key, *err ? err
              : "out of memory");
    mb->store_failed = true;
  }
  else
    mb->seen.njr_kept = mb->seen.njr;
  buf_free(&v);
}

/* Checkpoint the finished messages of the batch (events flushed first). */
static void batch_commit(struct mb *mb, struct batch *b)
{
  unsigned added = 0;

  ingest_wait(mb);   /* outcomes complete, even when nothing is saved */
  if(!b || flush_events(mb))
    return;
  for(size_t i = 0; i < b->n; i++) {
    struct slot *sl = &b->s[i];
    bool ok = sl->seen_bs && b->planned;
    for(size_t j = 0; ok && j < sl->ncand; j++)
      ok = sl->cand_done[j];
    if(!ok || sl->oc.transient)
      continue;
    if(sl->too_large)
      mb->t.too_large++;
    {
      char what[32];
      snprintf(what, sizeof(what), "uid %u", sl->uid);
      account(mb, what, sl->h.subject, &sl->oc);
    }
    if(uidset_add(&mb->done, sl->uid) == 0)
      added++;
    sl->seen_bs = false;   /* counted once */
  }
  mb->t.done += added;
  mb->progress += added;
  /* reports of messages not finished count as seen too: their events
   * are out */
  if(added || mb->seen.njr != mb->seen.njr_kept)
    imap_save_done(mb, mb->seen.njr >= SEEN_JOURNAL_MAX);
}

enum { S_OK = 0, S_FATAL = 1, S_BROKEN = 2 };

static int imap_step_failed(struct mb *mb, struct imap *im, const char *what)
{
  if(mb->fatal)
    return S_FATAL;
  if(imap_get_state(im) == IMAP_STATE_BROKEN) {
    log_warn("%s: %s", what, imap_error(im));
    return S_BROKEN;
  }
  log_warn("%s: %s (messages left for the next run)", what, imap_error(im));
  return S_OK;
}

static struct batch *batch_new(const uint32_t *uids, size_t n)
{
  struct batch *b = calloc(1, sizeof(*b));

  if(b && !(b->s = calloc(n, sizeof(*b->s)))) {
    free(b);
    return NULL;
  }
  if(!b)
    return NULL;
  b->n = n;
  for(size_t i = 0; i < n; i++)
    b->s[i].uid = uids[i];
  return b;
}

static void batch_free(struct batch *b)
{
  if(!b)
    return;
  for(size_t i = 0; i < b->n; i++) {
    imap_bodystructure_free(b->s[i].bs);
    free(b->s[i].cand);
    free(b->s[i].cand_done);
    headers_free(&b->s[i].h);
  }
  free(b->s);
  free(b->sections);
  free(b);
}

/* Choose the candidate parts from the structures.  Returns 0 or -1
 * (memory: the run stops). */
static int batch_plan(struct mb *mb, struct batch *b)
{
  for(size_t i = 0; i < b->n; i++) {
    struct slot *sl = &b->s[i];
    const struct imap_bodypart *tmp[IMAP_BODY_MAX_PARTS];
    size_t k = 0;
    if(!sl->bs)
      continue;
    collect_candidates(sl->bs, !sl->bs->nchildren, &k, tmp,
                       IMAP_BODY_MAX_PARTS);
    if(!sl->bs->nchildren)   /* a single part: "1" is its body */
      k = k ? 1 : 0;
    if(!k)
      continue;
    sl->cand = malloc(k * sizeof(*sl->cand));
    sl->cand_done = calloc(k, sizeof(*sl->cand_done));
    if(!sl->cand || !sl->cand_done)
      return -1;
    memcpy(sl->cand, tmp, k * sizeof(*tmp));
    sl->ncand = k;
    if(mb->o->dkim)
      continue;
    for(size_t j = 0; j < k; j++) {
      size_t s;
      for(s = 0; s < b->nsec; s++)
        if(!strcmp(b->sections[s], tmp[j]->section))
          break;
      if(s == b->nsec) {
        const char **ns = realloc(b->sections, (b->nsec + 1) * sizeof(*ns));
        if(!ns)
          return -1;
        b->sections = ns;
        b->sections[b->nsec++] = tmp[j]->section;
      }
    }
  }
  b->planned = true;
  return 0;
}

/* The commands of one exchange, each with its own UID set. */
#define MAX_CMDS 256
struct cmds {
  struct imap_fetch_cmd c[MAX_CMDS];
  const char *secs[MAX_CMDS][2];
  struct buf set[MAX_CMDS];
  size_t n;
};

static void cmds_free(struct cmds *c)
{
  for(size_t i = 0; i < c->n; i++)
    buf_free(&c->set[i]);
  c->n = 0;
}

/* Add a command for the slots of b that want() says; none: nothing.
 * Returns 0 or -1 (memory, too many commands). */
static int cmds_add(struct cmds *c, struct batch *b,
                    bool (*want)(struct slot *, const char *, bool),
                    const char *sec, bool hdr, unsigned items)
{
  uint32_t *u;
  size_t k = 0;
  struct imap_fetch_cmd *cmd;
  int rc = 0;

  if(c->n == MAX_CMDS)
    return -1;
  u = malloc(b->n * sizeof(*u));
  if(!u)
    return -1;
  for(size_t i = 0; i < b->n; i++)
    if(want(&b->s[i], sec, hdr))
      u[k++] = b->s[i].uid;
  if(k) {
    cmd = &c->c[c->n];
    buf_init(&c->set[c->n], 64 * 1024);
    rc = imap_uid_set_format(u, k, &c->set[c->n]);
    cmd->uid_set = c->set[c->n].data;
    cmd->items = items;
    cmd->sections = c->secs[c->n];
    cmd->nsections = 0;
    if(hdr)
      c->secs[c->n][cmd->nsections++] = "HEADER";
    if(sec && *sec)
      c->secs[c->n][cmd->nsections++] = sec;
    c->n++;
  }
  free(u);
  return rc;
}

static bool want_all(struct slot *s, const char *sec, bool hdr)
{
  (void)s;
  (void)sec;
  (void)hdr;
  return true;
}

static bool want_cand(struct slot *s, const char *sec, bool hdr)
{
  (void)sec;
  (void)hdr;
  return s->ncand > 0;
}

static bool want_section(struct slot *s, const char *sec, bool hdr)
{
  (void)hdr;
  for(size_t i = 0; i < s->ncand; i++)
    if(!s->cand_done[i] && !strcmp(s->cand[i]->section, sec))
      return true;
  return false;
}

/* One round trip for the parts of b and the structures of nb, sent before
 * the checkpoint of done is written so the server works meanwhile; done
 * is checkpointed in any case.  Returns S_*. */
static int exchange(struct mb *mb, struct imap *im, struct cmds *c,
                    struct batch *b, struct batch *nb, struct batch *done)
{
  struct pipe p;
  struct imap_fetch_handler h;
  int rc = S_OK;
  size_t i = 0;
  const char *what;

  memset(&p, 0, sizeof(p));
  p.mb = mb;
  p.cur = b;
  p.next = nb;
  buf_init(&p.body, mb->o->max_message + PREFIX_ROOM + 1);
  buf_init(&p.hdr, mb->o->max_message + 1);
  h.on_body = fetch_body;
  h.on_message = fetch_message;
  h.ctx = &p;
  if(b && mb->o->dkim) {   /* whole messages: a signature covers all */
    if(cmds_add(c, b, want_cand, "", false, IMAP_FETCH_BODY))
      goto nomem;
  }
  else if(b && b->nsec) {
    /* Each part together with its message's header, in one FETCH item
     * list: the part then arrives with its From and Subject in the same
     * response (fetch_message takes the header first, whatever the order
     * of the items), and the server reads each message once.  A separate
     * HEADER command made Dovecot open every message twice, the largest
     * cost of a run over small report mails.  A message with two
     * candidate sections gets its (small) header twice. */
    for(size_t s = 0; s < b->nsec; s++)
      if(cmds_add(c, b, want_section, b->sections[s], true,
                  IMAP_FETCH_BODY))
        goto nomem;
  }
  if(nb && cmds_add(c, nb, want_all, NULL, false, IMAP_FETCH_BODYSTRUCTURE))
    goto nomem;
  /* What a failure names: the report parts (the next structures ride
   * along with them), whole messages, or only structures. */
  what = b && b->nsec ? "fetching report parts"
         : b && mb->o->dkim ? "fetching messages" : "fetching BODYSTRUCTURE";
  /* In rounds that keep within the pipelining limits of imap; the first
   * one is sent before the checkpoint is written. */
  while(i < c->n && rc == S_OK) {
    size_t k = 0, bytes = 0;
    while(i + k < c->n && k < IMAP_MAX_PIPELINE) {
      size_t more = c->set[i + k].len + 100;
      if(k && bytes + more > IMAP_MAX_PIPELINE_BYTES)
        break;
      bytes += more;
      k++;
    }
    if(imap_uid_fetch_send(im, c->c + i, k, &h) == 0) {
      batch_commit(mb, done);
      done = NULL;
      if(imap_uid_fetch_finish(im))
        rc = imap_step_failed(mb, im, what);
    }
    else
      rc = imap_step_failed(mb, im, what);
    i += k;
  }
  goto out;
nomem:
  log_error("out of memory fetching messages");
  mb->fatal = true;
  rc = S_FATAL;
out:
  batch_commit(mb, done);
  if(mb->fatal)
    rc = S_FATAL;
  cmds_free(c);
  buf_free(&p.body);
  buf_free(&p.hdr);
  return rc;
}

/* The new messages uids[0..n), batch by batch, with the structures of a
 * batch fetched in the same round trip as the parts of the one before
 * and each checkpoint written while the server answers the next round.
 * At most two batches are in flight: one whose events may be out but
 * not checkpointed, one not yet read. */
static int imap_batches(struct mb *mb, struct imap *im, const uint32_t *uids,
                        size_t n)
{
  size_t bs = mb->o->batch_size, i = 0;
  struct batch *b = NULL, *nb = NULL, *done = NULL;
  /* one for the whole run: a folder of a million UIDs is 10,000 batches */
  struct cmds *c = calloc(1, sizeof(*c));
  int rc = S_OK;

  if(!c) {
    mb->fatal = true;
    return S_FATAL;
  }
  while(rc == S_OK && (i < n || b)) {
    size_t k = n - i < bs ? n - i : bs;
    nb = NULL;
    if(k && !(nb = batch_new(uids + i, k))) {
      mb->fatal = true;
      rc = S_FATAL;
      break;
    }
    i += k;
    rc = exchange(mb, im, c, b, nb, done);
    batch_free(done);
    done = b;
    b = nb;
    nb = NULL;
    if(rc == S_OK && b && batch_plan(mb, b)) {
      log_error("out of memory choosing report parts");
      mb->fatal = true;
      rc = S_FATAL;
    }
    if(rc == S_OK && done)
      log_debug("%zu of %zu message(s) fetched", i - (b ? b->n : 0), n);
  }
  /* What was read before a failure is checkpointed; a batch whose
   * structures are in but whose parts were not chosen is not. */
  batch_commit(mb, done);
  batch_commit(mb, b);
  ingest_wait(mb);
  if(mb->fatal)
    rc = S_FATAL;
  batch_free(done);
  batch_free(b);
  free(c);
  return rc;
}

struct search_ctx {
  struct mb *mb;
  uint32_t *u;
  size_t n, cap;
  bool nomem;
};

static int search_uid(void *ctx, uint32_t uid)
{
  struct search_ctx *s = ctx;

  s->mb->t.listed++;
  if(uidset_has(&s->mb->done, uid))
    return 0;
  if(s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 1024;
    uint32_t *nu = realloc(s->u, nc * sizeof(*nu));
    if(!nu) {
      s->nomem = true;
      return 1;
    }
    s->u = nu;
    s->cap = nc;
  }
  s->u[s->n++] = uid;
  return 0;
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Learn UIDVALIDITY, load the UIDs done under it, warn on a change. */
static int imap_load_done(struct mb *mb, uint32_t uidvalidity)
{
  char key[1400], err[512], *val = NULL;
  int rc;

  if(mb->uidvalidity == uidvalidity && uidvalidity)
    return 0;   /* a reconnect: what is in memory is current */
  if(mb->uidvalidity)
    log_warn("UIDVALIDITY of folder \"%s\" changed during the run (%u to "
             "%u): reading it again", mb->folder, mb->uidvalidity,
             uidvalidity);
  uidset_free(&mb->done);
  mb->uidvalidity = uidvalidity;
  snprintf(key, sizeof(key), "imap|%s|%s|%s", mb->o->server,
           mb->o->username, mb->folder);
  rc = store_get(mb->st, key, &val, err, sizeof(err));
  if(rc < 0) {
    log_error("%s", err);
    return -1;
  }
  if(rc == 1) {
    unsigned long old = strtoul(val + (strncmp(val, "uidvalidity ", 12)
                                       ? 0 : 12), NULL, 10);
    if(old != uidvalidity) {
      char okey[1400], *oval = NULL, *nl;
      log_warn("UIDVALIDITY of folder \"%s\" on %s changed from %lu to %u "
               "(folder re-created or rebuilt): every message is read "
               "again; reports already ingested are not emitted twice",
               mb->folder, mb->o->server, old, uidvalidity);
      /* its seen journal may hold reports the months do not (a crash) */
      snprintf(okey, sizeof(okey), "imap|%s|%s|%s|%lu", mb->o->server,
               mb->o->username, mb->folder, old);
      if(long_get(mb->st, okey, &oval, err, sizeof(err)) == 1 &&
         (nl = strchr(oval, '\n')) != NULL)
        seen_journal_load(&mb->seen, nl + 1);
      free(oval);
    }
  }
  if(rc != 1 || strtoul(val + (strncmp(val, "uidvalidity ", 12) ? 0 : 12),
                        NULL, 10) != uidvalidity) {
    char v[40];
    snprintf(v, sizeof(v), "uidvalidity %u", uidvalidity);
    if(store_put(mb->st, key, v, err, sizeof(err))) {
      log_error("%s", err);
      free(val);
      return -1;
    }
  }
  free(val);
  val = NULL;
  snprintf(key, sizeof(key), "imap|%s|%s|%s|%u", mb->o->server,
           mb->o->username, mb->folder, uidvalidity);
  rc = long_get(mb->st, key, &val, err, sizeof(err));
  if(rc < 0) {
    log_error("%s", err);
    return -1;
  }
  if(rc == 1) {
    char *nl = strchr(val, '\n');
    if(nl) {   /* the UID set, then the seen journal */
      *nl = '\0';
      seen_journal_load(&mb->seen, nl + 1);
    }
    if(uidset_parse(&mb->done, val)) {
      log_warn("checkpoint %s unreadable, the folder is read again", key);
      uidset_free(&mb->done);
    }
  }
  free(val);
  return 0;
}

static struct imap *imap_open(struct mb *mb, char *err, size_t errlen)
{
  const struct mailbox_opts *o = mb->o;
  struct imap_opts io;
  struct imap *im;

  memset(&io, 0, sizeof(io));
  io.conn.host = o->server;
  io.conn.port = o->port ? o->port
                         : o->security == MAILBOX_STARTTLS ? 143 : 993;
  io.conn.ca_file = o->ca_file;
  io.conn.connect_timeout_ms = o->timeout_ms;
  io.conn.io_timeout_ms = o->timeout_ms;
  io.tls = o->security == MAILBOX_STARTTLS ? IMAP_TLS_STARTTLS
                                           : IMAP_TLS_IMPLICIT;
  io.max_body = o->max_message;
  im = imap_connect(&io, err, errlen);
  if(!im)
    return NULL;
  if(!imap_is_verified(im)) {   /* imap refuses auth anyway; say it first */
    snprintf(err, errlen, "connection to %s is not protected by a verified "
             "TLS certificate: refusing to log in", o->server);
    imap_free(im);
    return NULL;
  }
  if(o->token) {
    for(int refresh = 0; refresh < 2; refresh++) {
      char terr[512];
      char *tok = o->token(o->token_ud, refresh, terr, sizeof(terr));
      int rc;
      if(!tok) {
        snprintf(err, errlen, "no OAuth2 access token: %s", terr);
        imap_free(im);
        return NULL;
      }
      rc = imap_authenticate_xoauth2(im, o->username, tok);
      free(tok);
      if(rc == 0)
        return im;
      if(imap_get_state(im) == IMAP_STATE_BROKEN || refresh) {
        snprintf(err, errlen, "XOAUTH2 login as %s failed: %s", o->username,
                 imap_error(im));
        imap_free(im);
        return NULL;
      }
      log_warn("XOAUTH2 login as %s refused (%s); getting a new token",
               o->username, imap_error(im));
    }
  }
  if((imap_has_capability(im, "LOGINDISABLED") &&
      imap_has_capability(im, "AUTH=PLAIN"))
       ? imap_authenticate_plain(im, o->username, o->password)
       : imap_login(im, o->username, o->password)) {
    snprintf(err, errlen, "login as %s failed: %s", o->username,
             imap_error(im));
    imap_free(im);
    return NULL;
  }
  return im;
}

static const char *tls_hint(const char *err)
{
  return strstr(err, "certificate") ? " (if the server uses a private CA, "
         "give its certificate with ca_file / --ca-file)" : "";
}

/* One connection's worth of work. */
/* Close a session, noting whether it ended because the server stopped
 * answering. */
static void session_end(struct mb *mb, struct imap *im)
{
  mb->timed_out = imap_timed_out(im);
  imap_free(im);
}

static int imap_session(struct mb *mb, bool first)
{
  const struct mailbox_opts *o = mb->o;
  struct imap_mailbox_status st;
  struct search_ctx sc;
  struct imap *im;
  char err[1024];
  int rc = S_OK;

  mb->timed_out = false;
  im = imap_open(mb, err, sizeof(err));
  if(!im) {
    mb->timed_out = strstr(err, "timeout after") != NULL;
    log_error("%s%s", err, tls_hint(err));
    /* A server that cannot be reached or refuses us at the start is a
     * configuration matter; after a cut it may be a moment's trouble. */
    return first || strstr(err, "login") ? S_FATAL : S_BROKEN;
  }
  if(imap_examine(im, mb->folder, &st)) {
    log_error("folder \"%s\" cannot be opened on %s: %s", mb->folder,
              o->server, imap_error(im));
    rc = imap_get_state(im) == IMAP_STATE_BROKEN && !first ? S_BROKEN
                                                           : S_FATAL;
    session_end(mb, im);
    return rc;
  }
  if(!st.uidvalidity) {
    log_error("folder \"%s\" on %s has no UIDVALIDITY: cannot checkpoint",
              mb->folder, o->server);
    session_end(mb, im);
    return S_FATAL;
  }
  if(imap_load_done(mb, st.uidvalidity)) {
    session_end(mb, im);
    return S_FATAL;
  }
  memset(&sc, 0, sizeof(sc));
  sc.mb = mb;
  mb->t.listed = 0;
  if(imap_uid_search(im, o->search ? o->search : "ALL", search_uid, &sc)) {
    if(sc.nomem)
      log_error("out of memory listing the folder");
    else
      log_error("UID SEARCH %s in \"%s\" failed: %s",
                o->search ? o->search : "ALL", mb->folder, imap_error(im));
    rc = imap_get_state(im) == IMAP_STATE_BROKEN ? S_BROKEN : S_FATAL;
    free(sc.u);
    session_end(mb, im);
    return rc;
  }
  if(sc.n)
    qsort(sc.u, sc.n, sizeof(*sc.u), cmp_u32);
  if(first)
    mb->t.fresh = (unsigned)sc.n;
  log_info("folder \"%s\" on %s: %u message(s) match, %zu not read yet "
           "(UIDVALIDITY %u)", mb->folder, o->server, mb->t.listed, sc.n,
           st.uidvalidity);
  if(sc.n)
    rc = imap_batches(mb, im, sc.u, sc.n);
  free(sc.u);
  if(rc == S_OK)
    imap_logout(im);
  session_end(mb, im);
  return rc;
}

/* At the end of a run the seen journal goes to the month records, where
 * the other folders of the account see it; only once its events are out. */
static void imap_compact(struct mb *mb)
{
  if(mb->uidvalidity && mb->seen.njr && !mb->fatal && !flush_events(mb))
    imap_save_done(mb, true);
}

static int run_imap(struct mb *mb)
{
  unsigned fails = 0;
  bool first = true;

  for(;;) {
    unsigned before = mb->progress;
    int rc = imap_session(mb, first);
    first = false;
    if(rc != S_BROKEN) {
      imap_compact(mb);
      return rc == S_OK ? 0 : 1;
    }
    fails = mb->progress > before ? 0 : fails + 1;
    /* A server that went quiet without our getting anything done is not
     * retried: each try would wait a whole timeout again, and the run
     * must end within one. */
    if(fails && mb->timed_out) {
      imap_compact(mb);
      log_error("giving up on %s: it stopped answering; the next run goes "
                "on where this one stopped", mb->o->server);
      return 1;
    }
    if(fails > mb->o->max_reconnects) {
      imap_compact(mb);
      log_error("giving up on %s after %u reconnect(s) without progress; "
                "the next run goes on where this one stopped",
                mb->o->server, mb->o->max_reconnects);
      return 1;
    }
    log_warn("connection to %s lost; reconnecting to go on with the "
             "messages not done (%u of %u)", mb->o->server, fails + 1,
             mb->o->max_reconnects + 1);
    usleep(200000u * fails);
  }
}

/* ------------------------------------------------------------- POP3 */

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool uidl_done(const struct mb *mb, const char *uid)
{
  return mb->ndone_uidl &&
         bsearch(&uid, mb->done_uidl, mb->ndone_uidl, sizeof(char *),
                 cmp_str) != NULL;
}

static void pop3_load_done(struct mb *mb)
{
  char key[1200], err[512], *val = NULL;
  size_t cap = 0;

  snprintf(key, sizeof(key), "pop3|%s|%s", mb->o->server, mb->o->username);
  if(long_get(mb->st, key, &val, err, sizeof(err)) != 1) {
    if(*err)
      log_warn("%s", err);
    return;
  }
  for(char *p = strtok(val, "\n"); p; p = strtok(NULL, "\n")) {
    if(mb->ndone_uidl == cap) {
      char **nd = realloc(mb->done_uidl, (cap = cap ? cap * 2 : 256) *
                          sizeof(*nd));
      if(!nd)
        break;
      mb->done_uidl = nd;
    }
    if(!(mb->done_uidl[mb->ndone_uidl] = strdup(p)))
      break;
    mb->ndone_uidl++;
  }
  free(val);
  qsort(mb->done_uidl, mb->ndone_uidl, sizeof(char *), cmp_str);
}

struct pop_msg {
  uint32_t msgno;
  char uid[POP3_MAX_UID_LEN + 1];
  uint64_t size;
  bool on_server;
};

struct pop_list {
  struct pop_msg *m;
  size_t n, cap;
  size_t next;           /* LIST: where the next message number should be */
  bool too_many;         /* UIDL listed more than MAILBOX_MAX_POP3_MESSAGES */
};

static int pop_uidl_cb(void *ctx, uint32_t msgno, const char *uid)
{
  struct pop_list *l = ctx;

  if(l->n == MAILBOX_MAX_POP3_MESSAGES) {
    l->too_many = true;
    return 1;
  }
  if(l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 256;
    struct pop_msg *nm = realloc(l->m, nc * sizeof(*nm));
    if(!nm)
      return 1;
    l->m = nm;
    l->cap = nc;
  }
  memset(&l->m[l->n], 0, sizeof(l->m[l->n]));
  l->m[l->n].msgno = msgno;
  snprintf(l->m[l->n].uid, sizeof(l->m[l->n].uid), "%s", uid);
  l->n++;
  return 0;
}

static int pop_list_cb(void *ctx, uint32_t msgno, uint64_t size)
{
  struct pop_list *l = ctx;
  /* UIDL and LIST come in the same order, by message number: look where
   * the last one left off first, so a long listing stays linear */
  for(size_t k = 0; k < l->n; k++) {
    size_t i = (l->next + k) % l->n;
    if(l->m[i].msgno == msgno) {
      l->m[i].size = size;
      l->next = i + 1;
      break;
    }
  }
  return 0;
}

/* Save the done UIDLs that are still on the server, plus the new ones. */
static void pop3_commit(struct mb *mb, const struct pop_list *l,
                        char **fresh, size_t nfresh)
{
  char key[1200], err[512];
  struct buf v;
  size_t added = 0;

  if(flush_events(mb))
    return;
  if(seen_save(&mb->seen))
    mb->store_failed = true;
  buf_init(&v, SIZE_MAX);
  for(size_t i = 0; i < l->n; i++) {
    bool done = uidl_done(mb, l->m[i].uid);
    for(size_t j = 0; !done && j < nfresh; j++)
      done = !strcmp(fresh[j], l->m[i].uid);
    if(done)
      buf_printf(&v, "%s\n", l->m[i].uid);
  }
  snprintf(key, sizeof(key), "pop3|%s|%s", mb->o->server, mb->o->username);
  if(long_put(mb->st, key, v.data ? v.data : "", err, sizeof(err))) {
    log_error("checkpoint %s not written: %s", key, err);
    mb->store_failed = true;
  }
  buf_free(&v);
  /* the fresh ones join the sorted done list */
  for(size_t j = 0; j < nfresh; j++) {
    char **nd = realloc(mb->done_uidl, (mb->ndone_uidl + 1) * sizeof(*nd));
    if(!nd)
      break;
    mb->done_uidl = nd;
    mb->done_uidl[mb->ndone_uidl++] = fresh[j];
    fresh[j] = NULL;
    added++;
  }
  qsort(mb->done_uidl, mb->ndone_uidl, sizeof(char *), cmp_str);
  mb->t.done += (unsigned)added;
  mb->progress += (unsigned)added;
}

struct pop_body {
  struct buf b;
  struct mb *mb;
  bool over;             /* went past its ceiling: treated as too large */
};

static int pop_data(void *ctx, const void *data, size_t len)
{
  struct pop_body *pb = ctx;
  pb->mb->t.fetched_bytes += len;
  if(buf_append(&pb->b, data, len)) {
    pb->over = true;
    return 1;
  }
  return 0;
}

/* What RETR may bring: what LIST announced, with room for servers that
 * count bare LF line ends (CRLF doubles a file of empty lines), at most
 * max_message.  A server sending without end is cut at this, not at
 * max_message, so a lie costs little memory. */
static uint64_t pop_ceiling(uint64_t listed, uint64_t max_message)
{
  uint64_t c = listed * 2 + 64 * 1024;
  return listed && c < max_message ? c : max_message;
}

static int pop3_session(struct mb *mb, bool first)
{
  const struct mailbox_opts *o = mb->o;
  struct pop3_opts po;
  struct pop3 *p;
  struct pop_list l = { 0 };
  char err[1024];
  char **fresh = NULL;
  size_t nfresh = 0, todo = 0;
  int rc = S_OK;

  memset(&po, 0, sizeof(po));
  po.conn.host = o->server;
  po.conn.port = o->port ? o->port
                         : o->security == MAILBOX_STARTTLS ? 110 : 995;
  po.conn.ca_file = o->ca_file;
  po.conn.connect_timeout_ms = o->timeout_ms;
  po.conn.io_timeout_ms = o->timeout_ms;
  po.tls = o->security == MAILBOX_STARTTLS ? POP3_TLS_STLS
                                           : POP3_TLS_IMPLICIT;
  po.max_message = o->max_message;
  mb->timed_out = false;
  p = pop3_connect(&po, err, sizeof(err));
  if(!p) {
    mb->timed_out = strstr(err, "timeout after") != NULL;
    log_error("%s%s", err, tls_hint(err));
    return first ? S_FATAL : S_BROKEN;
  }
  if(!pop3_is_verified(p)) {
    log_error("connection to %s is not protected by a verified TLS "
              "certificate: refusing to log in", o->server);
    pop3_free(p);
    return S_FATAL;
  }
  if(o->token) {
    char terr[512];
    char *tok = o->token(o->token_ud, 0, terr, sizeof(terr));
    rc = tok ? pop3_auth_xoauth2(p, o->username, tok) : -1;
    free(tok);
  }
  else
    rc = pop3_login(p, o->username, o->password);
  if(rc) {
    log_error("login as %s failed: %s", o->username, pop3_error(p));
    pop3_free(p);
    return S_FATAL;
  }
  if(pop3_uidl(p, pop_uidl_cb, &l) || pop3_list(p, pop_list_cb, &l)) {
    if(l.too_many) {
      log_error("%s lists more than %d messages: refused (POP3 leaves "
                "every message on the server; clean the mailbox or use "
                "IMAP)", o->server, MAILBOX_MAX_POP3_MESSAGES);
      rc = S_FATAL;
      goto out;
    }
    log_error("listing the messages on %s failed: %s", o->server,
              pop3_error(p));
    rc = pop3_get_state(p) == POP3_STATE_BROKEN ? S_BROKEN : S_FATAL;
    goto out;
  }
  mb->t.listed = (unsigned)l.n;
  for(size_t i = 0; i < l.n; i++)
    if(!uidl_done(mb, l.m[i].uid))
      todo++;
  if(first)
    mb->t.fresh = (unsigned)todo;
  log_info("%s: %zu message(s), %zu not read yet", o->server, l.n, todo);
  fresh = calloc(o->batch_size, sizeof(*fresh));
  if(!fresh) {
    rc = S_FATAL;
    goto out;
  }
  for(size_t i = 0; i < l.n && rc == S_OK; i++) {
    struct pop_msg *pm = &l.m[i];
    struct outcome oc;
    struct pop_body pb;
    struct meta mt = { 0 };

    if(uidl_done(mb, pm->uid))
      continue;
    memset(&oc, 0, sizeof(oc));
    if(pm->size > o->max_message) {
      log_warn("message %s is %llu bytes, over the limit of %llu: left out",
               pm->uid, (unsigned long long)pm->size,
               (unsigned long long)o->max_message);
      mb->t.too_large++;
    }
    else {
      pb.mb = mb;
      pb.over = false;
      buf_init(&pb.b, pop_ceiling(pm->size, o->max_message) + 1);
      if(pop3_retr(p, pm->msgno, pop_data, &pb)) {
        bool too_large = pb.over || pop3_retr_too_large(p);
        buf_free(&pb.b);
        if(pop3_get_state(p) == POP3_STATE_BROKEN && !too_large) {
          log_warn("RETR %u: %s", pm->msgno, pop3_error(p));
          rc = S_BROKEN;
          break;
        }
        /* Over the limit, even if it never ended and cost the connection:
         * left out and checkpointed like one LIST said was too large,
         * rather than tried again on every reconnect and every run. */
        if(!too_large) {
          /* -ERR: not read, so not checkpointed; the next run tries again */
          log_warn("message %s not read, tried again next run: %s", pm->uid,
                   pop3_error(p));
          continue;
        }
        if(pop3_get_state(p) == POP3_STATE_BROKEN)
          rc = S_BROKEN;
        if(pb.over)
          log_warn("message %s left out: more than %llu bytes arrived where "
                   "LIST announced %llu", pm->uid, (unsigned long long)
                   pop_ceiling(pm->size, o->max_message),
                   (unsigned long long)pm->size);
        else
          log_warn("message %s left out: %s", pm->uid, pop3_error(p));
        mb->t.too_large++;
      }
      else {
        mt.uidl = pm->uid;
        ingest_whole(mb, pb.b.data ? pb.b.data : "", pb.b.len, &mt,
                     pm->uid, &oc);
        buf_free(&pb.b);
        ingest_wait(mb);   /* oc is this message's, and used right away */
        if(oc.transient) {
          log_error("message %s: %s", pm->uid, oc.note);
          mb->fatal = true;
          rc = S_FATAL;
          break;
        }
        {
          char what[100];
          snprintf(what, sizeof(what), "message %s", pm->uid);
          account(mb, what, NULL, &oc);
        }
      }
    }
    if(!(fresh[nfresh] = strdup(pm->uid))) {
      rc = S_FATAL;
      break;
    }
    if(++nfresh == o->batch_size) {
      pop3_commit(mb, &l, fresh, nfresh);
      nfresh = 0;
      if(mb->fatal)
        rc = S_FATAL;
    }
  }
  if(!mb->fatal)
    pop3_commit(mb, &l, fresh, nfresh);
  if(rc == S_OK)
    pop3_quit(p);
out:
  for(size_t j = 0; fresh && j < nfresh; j++)
    free(fresh[j]);
  free(fresh);
  free(l.m);
  mb->timed_out = pop3_timed_out(p);
  pop3_free(p);
  return mb->fatal ? S_FATAL : rc;
}

static int run_pop3(struct mb *mb)
{
  unsigned fails = 0;
  bool first = true;

  pop3_load_done(mb);
  for(;;) {
    unsigned before = mb->progress;
    int rc = pop3_session(mb, first);
    first = false;
    if(rc != S_BROKEN)
      return rc == S_OK ? 0 : 1;
    fails = mb->progress > before ? 0 : fails + 1;
    if(fails && mb->timed_out) {   /* as for IMAP: one timeout, not four */
      log_error("giving up on %s: it stopped answering; the next run goes "
                "on where this one stopped", mb->o->server);
      return 1;
    }
    if(fails > mb->o->max_reconnects) {
      log_error("giving up on %s after %u reconnect(s) without progress",
                mb->o->server, mb->o->max_reconnects);
      return 1;
    }
    log_warn("connection to %s lost; reconnecting (%u of %u)",
             mb->o->server, fails + 1, mb->o->max_reconnects + 1);
    usleep(200000u * fails);
  }
}

/* ------------------------------------------------------------- shared */

void mailbox_opts_default(struct mailbox_opts *m)
{
  memset(m, 0, sizeof(*m));
  m->batch_size = MAILBOX_DEFAULT_BATCH;
  m->timeout_ms = MAILBOX_DEFAULT_TIMEOUT_MS;
  m->max_reconnects = MAILBOX_DEFAULT_RECONNECTS;
  m->max_message = MAILBOX_DEFAULT_MAX_MESSAGE;
  m->ingest_threads = -1;
}

int mailbox_run(const struct mailbox_opts *o, struct input_opts *io,
                struct splunk_writer *w)
{
  struct mailbox_opts oo = *o;
  struct mb mb;
  char err[600];
  int64_t start = util_now_ms();
  int rc;

  if(!oo.batch_size)
    oo.batch_size = MAILBOX_DEFAULT_BATCH;
  if(oo.batch_size > MAILBOX_MAX_BATCH)
    oo.batch_size = MAILBOX_MAX_BATCH;
  if(!oo.max_message)
    oo.max_message = MAILBOX_DEFAULT_MAX_MESSAGE;
  if(!oo.timeout_ms)
    oo.timeout_ms = MAILBOX_DEFAULT_TIMEOUT_MS;
  memset(&mb, 0, sizeof(mb));
  mb.o = &oo;
  mb.io = io;
  mb.w = w;
  mb.folder = strdup(oo.folder && *oo.folder ? oo.folder : "INBOX");
  mb.st = store_open(io->checkpoint_dir, err, sizeof(err));
  if(!mb.st || !mb.folder) {
    log_error("%s", mb.st ? "out of memory" : err);
    store_close(mb.st);
    free(mb.folder);
    return 1;
  }
  if(oo.ingest_threads != 0) {
    struct dmarc_pool_opts po = { 0 };
    po.workers = oo.ingest_threads > 0 ? (unsigned)oo.ingest_threads : 0;
    po.resolve_ip = io->resolve_ip;
    po.dns_server = io->dns_server;
    mb.sink.w = w;
    mb.pool = dmarc_pool_new(&io->ingest, &po, input_sink_event, &mb.sink,
                             err, sizeof(err));
  }
  else
    mb.in = input_ingest_new(io, err, sizeof(err));
  if(!mb.in && !mb.pool) {
    log_error("%s", err);
    store_close(mb.st);
    free(mb.folder);
    return 1;
  }
  mb.seen.st = mb.st;
  mb.seen.scope = scope_of(&oo);
  rc = oo.proto == MAILBOX_IMAP ? run_imap(&mb) : run_pop3(&mb);
  if(mb.store_failed || mb.seen.failed)
    rc = 1;
  if(oo.proto == MAILBOX_IMAP)
    log_info("%s folder \"%s\": %u new message(s): %u done, %u with reports "
             "(%u report(s), %llu event(s)), %u report(s) already ingested, "
             "%u without report, %u rejected, %u too large; fetched %llu "
             "bytes in %lld ms", oo.server, mb.folder, mb.t.fresh, mb.t.done,
             mb.t.with_reports, mb.t.reports,
             (unsigned long long)mb.t.events, mb.t.duplicates,
             mb.t.not_report, mb.t.rejected, mb.t.too_large,
             (unsigned long long)mb.t.fetched_bytes,
             (long long)(util_now_ms() - start));
  else
    log_info("%s: %u new message(s): %u done, %u with reports (%u "
             "report(s), %llu event(s)), %u report(s) already ingested, "
             "%u without report, %u rejected, %u too large; fetched %llu "
             "bytes in %lld ms", oo.server, mb.t.fresh, mb.t.done,
             mb.t.with_reports, mb.t.reports,
             (unsigned long long)mb.t.events, mb.t.duplicates,
             mb.t.not_report, mb.t.rejected, mb.t.too_large,
             (unsigned long long)mb.t.fetched_bytes,
             (long long)(util_now_ms() - start));
  dmarc_pool_free(mb.pool);
  if(mb.in)
    input_ingest_free(mb.in, io);
  seen_free(&mb.seen);
  uidset_free(&mb.done);
  for(size_t i = 0; i < mb.ndone_uidl; i++)
    free(mb.done_uidl[i]);
  free(mb.done_uidl);
  free(mb.folder);
  store_close(mb.st);
  return rc;
}

char *mailbox_read_password_file(const char *path, char *err, size_t errlen)
{
  char buf[8200];
  size_t n;
  FILE *f = fopen(path, "r");

  if(!f) {
    snprintf(err, errlen, "cannot read password file %s: %s", path,
             strerror(errno));
    return NULL;
  }
  n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  if(!*buf) {
    snprintf(err, errlen, "password file %s is empty", path);
    return NULL;
  }
  return strdup(buf);
}
