/*
 * mailbox_imap: the IMAP run of the mail inputs (dmarc_imap and
 * dmarc_imap_oauth2).
 *
 * Only the parts that may hold a report are downloaded: the structures of
 * a batch are fetched first, the candidate parts chosen from them, then
 * those parts fetched with their message's header.  To keep one round
 * trip per batch, the parts of one batch and the structures of the next
 * travel in the same exchange, and the checkpoint of the batch before is
 * written while the server answers (mailbox.h has the whole picture).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mailbox_private.h"

#include "mime.h"
#include "store.h"
#include "log.h"

/* Room kept in front of a fetched part for the MIME header that tells
 * mime how the part is encoded (the part is fetched without it). */
#define PREFIX_ROOM 256
/* New seen reports carried in a folder's checkpoint record before the
 * month records are rewritten (~25 bytes each: one record part). */
#define SEEN_JOURNAL_MAX 2000

bool mailbox_part_is_candidate(const struct imap_bodypart *p, bool single_part)
{
  static const char *const deny_app[] = {
    "pdf",           "pkcs7-signature", "x-pkcs7-signature",
    "pkcs7-mime",    "x-pkcs7-mime",    "pgp-signature",
    "pgp-encrypted", "pgp-keys",        "msword",
    "ics",           "postscript",      "rtf",
    "javascript",    "x-msdownload",
  };
  static const char *const report_ext[] = {
    ".xml", ".gz", ".gzip", ".zip", ".xml.gz", ".tgz",
  };
  const char *name = p->filename ? p->filename : p->name;
  const char *t = p->type ? p->type : "", *s = p->subtype ? p->subtype : "";

  if(p->nchildren)
    return false; /* a container: its leaves are looked at */
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
      return false; /* office documents and the like */
    for(size_t i = 0; i < sizeof(deny_app) / sizeof(*deny_app); i++)
      if(!strcmp(s, deny_app[i]))
        return false;
  }
  return true; /* archives, XML, octet-stream, unknown: sniff it */
}

/* The IMAP run's own state (mb->imap). */
struct mb_imap {
  char *folder;         /* in use */
  uint32_t uidvalidity; /* 0 until known */
  struct uidset done;   /* UIDs done in this UIDVALIDITY */
};

/* One message of a batch. */
struct slot {
  uint32_t uid;
  struct imap_bodypart *bs;
  const struct imap_bodypart **cand;
  bool *cand_done;
  size_t ncand;
  bool seen_bs; /* the server sent a BODYSTRUCTURE */
  bool too_large;
  struct headers h;
  struct outcome oc;
};

struct batch {
  struct slot *s;
  size_t n;
  const char **sections; /* distinct candidate sections (into s[].cand) */
  size_t nsec;
  bool planned; /* candidates chosen from the structures: only
                   then may a message without any count as done */
};

/* What the fetch handler sees: the parts of one batch arriving while the
 * structures of the next one do (one round trip serves both). */
struct pipe {
  struct mb *mb;
  struct batch *cur;  /* parts (HEADER, sections, whole messages) */
  struct batch *next; /* BODYSTRUCTUREs */
  struct buf body;    /* the part or message literal being received */
  struct buf hdr;     /* the HEADER literal being received */
  bool have_body, have_hdr;
  char part_sec[IMAP_SECTION_MAX]; /* section of body */
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
static int fetch_body(void *ctx, const struct imap_message *m, const void *data,
                      size_t len)
{
  struct pipe *p = ctx;
  bool hdr = !strcmp(m->section, "HEADER");
  struct buf *b = hdr ? &p->hdr : &p->body;

  if(m->body_offset == 0) { /* first chunk of this literal */
    buf_reset(b);
    if(hdr)
      p->have_hdr = true;
    else {
      p->have_body = true;
      snprintf(p->part_sec, sizeof(p->part_sec), "%s", m->section);
      if(*m->section) { /* a part: room for its MIME header in front */
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
  char type[64], sub[64], enc[64], prefix[PREFIX_ROOM], base[300], fb[256];
  struct mime_message *msg = NULL;
  struct meta mt = { 0 };
  const char *data;
  size_t plen, len;
  char *fname = NULL;
  const char *raw = p->filename ? p->filename : p->name;

  token_copy(type, sizeof(type), p->type, "application");
  token_copy(sub, sizeof(sub), p->subtype, "octet-stream");
  token_copy(enc, sizeof(enc), p->encoding, "7bit");
  plen = (size_t)snprintf(prefix, sizeof(prefix),
                          "Content-Type: %s/%s\r\n"
                          "Content-Transfer-Encoding: %s\r\n\r\n",
                          type, sub, enc);
  if(body->len < PREFIX_ROOM || plen >= PREFIX_ROOM)
    return;
  memcpy(body->data + PREFIX_ROOM - plen, prefix, plen);
  data = body->data + PREFIX_ROOM - plen;
  len = body->len - PREFIX_ROOM + plen;
  if(mime_parse(data, len, NULL, &msg, NULL)) {
    sl->oc.transient = true;
    return;
  }
  if(raw) /* names in BODYSTRUCTURE may be RFC 2047 encoded */
    fname = mime_header_decode(raw, strlen(raw), NULL);
  snprintf(fb, sizeof(fb), "uid%u.part%s", sl->uid, p->section);
  mb_part_name(base, sizeof(base), fname, fb);
  free(fname);
  mt.folder = mb->imap->folder;
  mt.uidvalidity = mb->imap->uidvalidity;
  mt.uid = sl->uid;
  mt.from = sl->h.from;
  mt.subject = sl->h.subject;
  mt.msgid = sl->h.msgid;
  mt.date = sl->h.date;
  mt.part = p->section;
  mb_ingest_mime(mb, msg, base, &mt, &sl->oc);
  mime_message_free(&msg);
}

static void take_headers(struct slot *sl, const struct buf *b)
{
  struct mime_message *msg = NULL;
  if(!mime_parse(b->data, b->len, NULL, &msg, NULL)) {
    mb_headers_take(&sl->h, mime_message_root(msg));
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
  if(!*sec) { /* a whole message (DKIM) */
    if(m->body_too_large && !had_body) {
      sl->too_large = true;
      log_warn("uid %u is larger than %llu bytes: left out", sl->uid,
               (unsigned long long)mb->o->max_message);
    }
    else if(had_body) {
      struct meta mt = { 0 };
      char base[32];
      mt.folder = mb->imap->folder;
      mt.uidvalidity = mb->imap->uidvalidity;
      mt.uid = sl->uid;
      snprintf(base, sizeof(base), "uid%u", sl->uid);
      mb_ingest_whole(mb, p->body.data, p->body.len, &mt, base, &sl->oc);
      if(sl->bs && !sl->h.subject && !sl->oc.transient)
        take_headers(sl, &p->body); /* for the log line */
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
      log_warn("uid %u part %s is larger than %llu bytes: left out", sl->uid,
               sec, (unsigned long long)mb->o->max_message);
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
    return 0; /* unsolicited (another session changed flags) */
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

  if(compact && mb->seen.njr && mb_seen_save(&mb->seen))
    mb->store_failed = true; /* the journal stays in the record */
  buf_init(&v, SIZE_MAX);
  snprintf(key, sizeof(key), "imap|%s|%s|%s|%u", mb->o->server, mb->o->username,
           mb->imap->folder, mb->imap->uidvalidity);
  *err = '\0';
  if(mb_uidset_format(&mb->imap->done, &v) || buf_putc(&v, '\n') ||
     mb_seen_journal_format(&mb->seen, &v) ||
     store_put_long(mb->st, key, v.data ? v.data : "", err, sizeof(err))) {
    log_error("checkpoint %s not written: %s", key,
              *err ? err : "out of memory");
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

  mb_ingest_wait(mb); /* outcomes complete, even when nothing is saved */
  if(!b || mb_flush_events(mb))
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
      mb_account(mb, what, sl->h.subject, &sl->oc);
    }
    if(mb_uidset_add(&mb->imap->done, sl->uid) == 0)
      added++;
    sl->seen_bs = false; /* counted once */
  }
  mb->t.done += added;
  mb->progress += added;
  /* reports of messages not finished count as seen too: their events
   * are out */
  if(added || mb->seen.njr != mb->seen.njr_kept)
    imap_save_done(mb, mb->seen.njr >= SEEN_JOURNAL_MAX);
}

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
    mb_headers_free(&b->s[i].h);
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
    if(!sl->bs->nchildren) /* a single part: "1" is its body */
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
  if(b && mb->o->dkim) { /* whole messages: a signature covers all */
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
      if(cmds_add(c, b, want_section, b->sections[s], true, IMAP_FETCH_BODY))
        goto nomem;
  }
  if(nb && cmds_add(c, nb, want_all, NULL, false, IMAP_FETCH_BODYSTRUCTURE))
    goto nomem;
  /* What a failure names: the report parts (the next structures ride
   * along with them), whole messages, or only structures. */
  what = b && b->nsec       ? "fetching report parts"
         : b && mb->o->dkim ? "fetching messages"
                            : "fetching BODYSTRUCTURE";
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
  mb_ingest_wait(mb);
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
  if(mb_uidset_has(&s->mb->imap->done, uid))
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

  if(mb->imap->uidvalidity == uidvalidity && uidvalidity)
    return 0; /* a reconnect: what is in memory is current */
  if(mb->imap->uidvalidity)
    log_warn("UIDVALIDITY of folder \"%s\" changed during the run (%u to "
             "%u): reading it again",
             mb->imap->folder, mb->imap->uidvalidity, uidvalidity);
  mb_uidset_free(&mb->imap->done);
  mb->imap->uidvalidity = uidvalidity;
  snprintf(key, sizeof(key), "imap|%s|%s|%s", mb->o->server, mb->o->username,
           mb->imap->folder);
  rc = store_get(mb->st, key, &val, err, sizeof(err));
  if(rc < 0) {
    log_error("%s", err);
    return -1;
  }
  if(rc == 1) {
    unsigned long old =
        strtoul(val + (strncmp(val, "uidvalidity ", 12) ? 0 : 12), NULL, 10);
    if(old != uidvalidity) {
      char okey[1400], *oval = NULL, *nl;
      log_warn("UIDVALIDITY of folder \"%s\" on %s changed from %lu to %u "
               "(folder re-created or rebuilt): every message is read "
               "again; reports already ingested are not emitted twice",
               mb->imap->folder, mb->o->server, old, uidvalidity);
      /* its seen journal may hold reports the months do not (a crash) */
      snprintf(okey, sizeof(okey), "imap|%s|%s|%s|%lu", mb->o->server,
               mb->o->username, mb->imap->folder, old);
      if(store_get_long(mb->st, okey, &oval, err, sizeof(err)) == 1 &&
         (nl = strchr(oval, '\n')) != NULL)
        mb_seen_journal_load(&mb->seen, nl + 1);
      free(oval);
    }
  }
  if(rc != 1 || strtoul(val + (strncmp(val, "uidvalidity ", 12) ? 0 : 12), NULL,
                        10) != uidvalidity) {
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
  snprintf(key, sizeof(key), "imap|%s|%s|%s|%u", mb->o->server, mb->o->username,
           mb->imap->folder, uidvalidity);
  rc = store_get_long(mb->st, key, &val, err, sizeof(err));
  if(rc < 0) {
    log_error("%s", err);
    return -1;
  }
  if(rc == 1) {
    char *nl = strchr(val, '\n');
    if(nl) { /* the UID set, then the seen journal */
      *nl = '\0';
      mb_seen_journal_load(&mb->seen, nl + 1);
    }
    if(mb_uidset_parse(&mb->imap->done, val)) {
      log_warn("checkpoint %s unreadable, the folder is read again", key);
      mb_uidset_free(&mb->imap->done);
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
  mb_conn_opts(o, 993, 143, &io.conn);
  io.tls =
      o->security == MAILBOX_STARTTLS ? IMAP_TLS_STARTTLS : IMAP_TLS_IMPLICIT;
  io.max_body = o->max_message;
  im = imap_connect(&io, err, errlen);
  if(!im)
    return NULL;
  if(!imap_is_verified(im)) { /* imap refuses auth anyway; say it first */
    snprintf(err, errlen,
             "connection to %s is not protected by a verified "
             "TLS certificate: refusing to log in",
             o->server);
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

/* Close a session, noting whether it ended because the server stopped
 * answering. */
static void session_end(struct mb *mb, struct imap *im)
{
  mb->timed_out = imap_timed_out(im);
  imap_free(im);
}

/* One connection's worth of work. */
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
    mb->timed_out = conn_err_is_timeout(err);
    log_error("%s%s", err, mb_tls_hint(err));
    /* A server that cannot be reached or refuses us at the start is a
     * configuration matter; after a cut it may be a moment's trouble. */
    return first || strstr(err, "login") ? S_FATAL : S_BROKEN;
  }
  if(imap_examine(im, mb->imap->folder, &st)) {
    log_error("folder \"%s\" cannot be opened on %s: %s", mb->imap->folder,
              o->server, imap_error(im));
    rc = imap_get_state(im) == IMAP_STATE_BROKEN && !first ? S_BROKEN : S_FATAL;
    session_end(mb, im);
    return rc;
  }
  if(!st.uidvalidity) {
    log_error("folder \"%s\" on %s has no UIDVALIDITY: cannot checkpoint",
              mb->imap->folder, o->server);
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
                o->search ? o->search : "ALL", mb->imap->folder,
                imap_error(im));
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
           "(UIDVALIDITY %u)",
           mb->imap->folder, o->server, mb->t.listed, sc.n, st.uidvalidity);
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
  if(mb->imap->uidvalidity && mb->seen.njr && !mb->fatal &&
     !mb_flush_events(mb))
    imap_save_done(mb, true);
}

/* The sessions of a run, reconnecting as mailbox.h says. */
static int imap_sessions(struct mb *mb)
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
                "on where this one stopped",
                mb->o->server);
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
             "messages not done (%u of %u)",
             mb->o->server, fails + 1, mb->o->max_reconnects + 1);
    usleep(200000u * fails);
  }
}

int mb_run_imap(struct mb *mb)
{
  const struct mailbox_opts *o = mb->o;
  struct mb_imap st;
  char *where;
  size_t n;
  int rc;

  memset(&st, 0, sizeof(st));
  st.folder = strdup(o->folder && *o->folder ? o->folder : "INBOX");
  if(!st.folder) {
    log_error("out of memory");
    return 1;
  }
  mb->imap = &st;
  rc = imap_sessions(mb);
  n = strlen(o->server) + strlen(st.folder) + 16;
  if((where = malloc(n)) != NULL) {
    snprintf(where, n, "%s folder \"%s\"", o->server, st.folder);
    mb_log_totals(mb, where);
    free(where);
  }
  mb->imap = NULL;
  mb_uidset_free(&st.done);
  free(st.folder);
  return rc;
}
