/*
 * imap_commands: the read-only mailbox commands: LIST, EXAMINE, UID
 * SEARCH, UID FETCH (alone or pipelined).  Each sets the handlers of the
 * running command in struct imap, runs, and clears them again.
 */
#include "imap.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_private.h"

/* ------------------------------------------------------------ mailboxes */

/* Append " "<mUTF-7 of name>"" to cmd. */
static int put_mailbox(struct imap *im, struct buf *cmd, const char *name)
{
  struct buf enc;
  int r;
  buf_init(&enc, 4096);
  if(imap_utf7_encode(name, strlen(name), &enc) < 0) {
    buf_free(&enc);
    imap_seterr(im, "mailbox name is not valid UTF-8 or too long: %s", name);
    return -1;
  }
  r = imap_put_astring(im, cmd, enc.data ? enc.data : "");
  buf_free(&enc);
  return r;
}

int imap_list(struct imap *im, const char *ref, const char *pattern,
              imap_list_fn *fn, void *ctx)
{
  struct buf cmd;
  int r;
  if(imap_require(im, ST(IMAP_STATE_AUTH) | ST(IMAP_STATE_EXAMINED), "LIST") <
     0)
    return -1;
  im->cmd_failed = false;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "LIST");
  if(r == 0 &&
     (put_mailbox(im, &cmd, ref) < 0 || put_mailbox(im, &cmd, pattern) < 0)) {
    buf_free(&cmd);
    im->ntags = 0; /* nothing was sent: quoted strings only */
    return -1;
  }
  im->list_fn = fn;
  im->list_ctx = ctx;
  im->list_stop = false;
  if(r == 0)
    r = imap_run(im, &cmd);
  im->list_fn = NULL;
  buf_free(&cmd);
  if(r == 0 && im->list_stop) {
    imap_seterr(im, "LIST at %s aborted by caller", conn_peer(im->c));
    return -1;
  }
  return r;
}

int imap_examine(struct imap *im, const char *mailbox,
                 struct imap_mailbox_status *st)
{
  struct buf cmd;
  struct imap_mailbox_status tmp;
  int r;
  if(imap_require(im, ST(IMAP_STATE_AUTH) | ST(IMAP_STATE_EXAMINED),
                  "EXAMINE") < 0)
    return -1;
  if(!st)
    st = &tmp;
  memset(st, 0, sizeof(*st));
  im->cmd_failed = false;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "EXAMINE");
  if(r == 0 && put_mailbox(im, &cmd, mailbox) < 0) {
    buf_free(&cmd);
    im->ntags = 0;
    return -1;
  }
  im->mbox = st;
  im->mbox_read_write = false;
  if(r == 0)
    r = imap_run(im, &cmd);
  im->mbox = NULL;
  buf_free(&cmd);
  if(im->state == IMAP_STATE_BROKEN)
    return -1;
  if(r < 0) {
    imap_set_state(im, IMAP_STATE_AUTH);
    return -1;
  }
  if(im->mbox_read_write) {
    imap_proto_fail(im,
                    "server %s opened \"%s\" read-write in answer to EXAMINE",
                    conn_peer(im->c), mailbox);
    return -1;
  }
  imap_set_state(im, IMAP_STATE_EXAMINED);
  return 0;
}

/* ------------------------------------------------------------ search */

static bool search_criteria_ok(const char *s)
{
  if(!*s)
    return false;
  for(; *s; s++)
    if(*s == '\r' || *s == '\n')
      return false;
  return true;
}

int imap_uid_search(struct imap *im, const char *criteria, imap_uid_fn *fn,
                    void *ctx)
{
  struct buf cmd;
  int r;
  if(imap_require(im, ST(IMAP_STATE_EXAMINED), "UID SEARCH") < 0)
    return -1;
  if(!search_criteria_ok(criteria)) {
    imap_seterr(im, "UID SEARCH: empty criteria or CR/LF in criteria");
    return -1;
  }
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "UID SEARCH");
  if(r == 0 && buf_printf(&cmd, " %s", criteria) < 0) {
    buf_free(&cmd);
    im->ntags = 0;
    imap_seterr(im, "UID SEARCH: criteria too long");
    return -1;
  }
  im->search_fn = fn;
  im->search_ctx = ctx;
  im->search_stop = false;
  im->search_active = fn != NULL;
  if(r == 0)
    r = imap_run(im, &cmd);
  im->search_active = false;
  im->search_fn = NULL;
  buf_free(&cmd);
  if(r == 0 && im->search_stop) {
    imap_seterr(im, "UID SEARCH at %s aborted by caller", conn_peer(im->c));
    return -1;
  }
  return r;
}

struct uid_array {
  uint32_t *v;
  size_t n, cap, max;
  bool overflow;
  bool oom;
};

static int collect_uid(void *ctx, uint32_t uid)
{
  struct uid_array *a = ctx;
  if(a->n >= a->max) {
    a->overflow = true;
    return 1;
  }
  if(a->n == a->cap) {
    size_t nc = a->cap ? a->cap * 2 : 256;
    uint32_t *nv;
    if(nc > a->max)
      nc = a->max;
    nv = realloc(a->v, nc * sizeof(*nv));
    if(!nv) {
      a->oom = true;
      return 1;
    }
    a->v = nv;
    a->cap = nc;
  }
  a->v[a->n++] = uid;
  return 0;
}

int imap_uid_search_array(struct imap *im, const char *criteria, size_t max,
                          uint32_t **uids_r, size_t *n_r)
{
  struct uid_array a = { NULL, 0, 0, max, false, false };
  int r = imap_uid_search(im, criteria, collect_uid, &a);
  *uids_r = NULL;
  *n_r = 0;
  if(a.overflow && im->state != IMAP_STATE_BROKEN)
    imap_seterr(im, "UID SEARCH %s at %s: more than %zu UIDs", criteria,
                conn_peer(im->c), max);
  else if(a.oom && im->state != IMAP_STATE_BROKEN)
    imap_seterr(im, "UID SEARCH at %s: out of memory", conn_peer(im->c));
  if(r < 0) {
    free(a.v);
    return -1;
  }
  *uids_r = a.v;
  *n_r = a.n;
  return 0;
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int imap_uid_set_format(const uint32_t *uids, size_t n, struct buf *out)
{
  uint32_t *s;
  size_t i = 0;
  bool first = true;
  if(n == 0)
    return 0;
  s = malloc(n * sizeof(*s));
  if(!s)
    return -1;
  memcpy(s, uids, n * sizeof(*s));
  qsort(s, n, sizeof(*s), cmp_u32);
  while(i < n) {
    size_t j = i;
    while(j + 1 < n && (s[j + 1] == s[j] || s[j + 1] == s[j] + 1))
      j++;
    if((!first && buf_putc(out, ',') < 0) ||
       (s[i] == s[j] ? buf_printf(out, "%u", s[i])
                     : buf_printf(out, "%u:%u", s[i], s[j])) < 0) {
      free(s);
      return -1;
    }
    first = false;
    i = j + 1;
  }
  free(s);
  return 0;
}

/* ------------------------------------------------------------ fetch */

static bool uid_set_ok(const char *s)
{
  size_t n = strlen(s);
  if(n == 0 || n > IMAP_UIDSET_MAX)
    return false;
  for(; *s; s++)
    if(!(isdigit((unsigned char)*s) || *s == ',' || *s == ':' || *s == '*'))
      return false;
  return true;
}

/* "", "1", "1.2.3", optionally ".MIME"/".HEADER"/".TEXT"; or HEADER/TEXT. */
static bool section_ok(const char *s)
{
  if(*s == '\0' || strcmp(s, "HEADER") == 0 || strcmp(s, "TEXT") == 0)
    return true;
  for(;;) {
    if(!isdigit((unsigned char)*s) || *s == '0')
      return false;
    while(isdigit((unsigned char)*s))
      s++;
    if(*s == '\0')
      return true;
    if(*s != '.')
      return false;
    s++;
    if(strcmp(s, "MIME") == 0 || strcmp(s, "HEADER") == 0 ||
       strcmp(s, "TEXT") == 0)
      return true;
  }
}

/* The item list "(UID ... BODY.PEEK[s1] BODY.PEEK[s2])" of one command. */
static int fetch_items(struct imap *im, unsigned what,
                       const char *const *sections, size_t nsections,
                       struct buf *items)
{
  static const char *const whole[] = { "" };
  buf_puts(items, "(UID");
  if(what & IMAP_FETCH_FLAGS)
    buf_puts(items, " FLAGS");
  if(what & IMAP_FETCH_INTERNALDATE)
    buf_puts(items, " INTERNALDATE");
  if(what & IMAP_FETCH_SIZE)
    buf_puts(items, " RFC822.SIZE");
  if(what & IMAP_FETCH_BODYSTRUCTURE)
    buf_puts(items, " BODYSTRUCTURE");
  if(what & IMAP_FETCH_BODY) {
    if(nsections == 0) {
      sections = whole;
      nsections = 1;
    }
    if(nsections > IMAP_FETCH_MAX_SECTIONS) {
      imap_seterr(im, "UID FETCH: %zu sections (at most %d)", nsections,
                  IMAP_FETCH_MAX_SECTIONS);
      return -1;
    }
    for(size_t i = 0; i < nsections; i++) {
      const char *sec = sections[i] ? sections[i] : "";
      if(!section_ok(sec)) {
        imap_seterr(im, "UID FETCH: invalid section \"%s\"", sec);
        return -1;
      }
      buf_printf(items, " BODY.PEEK[%s]", sec);
    }
  }
  return buf_putc(items, ')');
}

/* Validate and send the commands; on success they are outstanding and
 * im->fetch_h is h.  On failure nothing is outstanding any more (what was
 * sent is read and dropped) unless the session broke. */
static int fetch_send(struct imap *im, const struct imap_fetch_cmd *cmds,
                      size_t n, const struct imap_fetch_handler *h)
{
  struct buf items, cmd;
  size_t total = 0;
  int r = 0;
  if(imap_require(im, ST(IMAP_STATE_EXAMINED), "UID FETCH") < 0)
    return -1;
  if(n == 0 || n > IMAP_MAX_PIPELINE || im->ntags > 0) {
    imap_seterr(im, "UID FETCH: %zu commands (1..%d allowed)", n,
                IMAP_MAX_PIPELINE);
    return -1;
  }
  buf_init(&items, 4096);
  buf_init(&cmd, IMAP_CMD_MAX);
  for(size_t i = 0; i < n; i++) {
    if(!uid_set_ok(cmds[i].uid_set)) {
      imap_seterr(im, "UID FETCH: invalid UID set \"%.40s\"", cmds[i].uid_set);
      r = -1;
      break;
    }
    buf_reset(&items);
    if(fetch_items(im, cmds[i].items, cmds[i].sections, cmds[i].nsections,
                   &items) < 0) {
      r = -1;
      break;
    }
    total += strlen(cmds[i].uid_set) + items.len + 32;
  }
  if(r == 0 && total > IMAP_MAX_PIPELINE_BYTES && n > 1) {
    /* Beyond this the server may stop reading our commands while we are
     * not yet reading its answers: both sides would block. */
    imap_seterr(im, "UID FETCH: pipelined commands exceed %d bytes",
                IMAP_MAX_PIPELINE_BYTES);
    r = -1;
  }
  im->cmd_failed = false;
  im->fetch_h = h;
  im->fetch_stop = false;
  im->fetch_err_set = false;
  for(size_t i = 0; i < n && r == 0; i++) {
    buf_reset(&items);
    r = fetch_items(im, cmds[i].items, cmds[i].sections, cmds[i].nsections,
                    &items);
    if(r == 0)
      r = imap_begin(im, &cmd, "UID FETCH");
    if(r == 0 && buf_printf(&cmd, " %s %s", cmds[i].uid_set, items.data) < 0)
      r = -1;
    if(r == 0)
      r = imap_send(im, &cmd);
  }
  buf_free(&cmd);
  buf_free(&items);
  if(r < 0 && im->state != IMAP_STATE_BROKEN && im->ntags > 0)
    (void)imap_wait(im, false); /* read the answers to what was sent */
  if(r < 0)
    im->fetch_h = NULL;
  return r;
}

/* Read the answers to the outstanding fetch commands. */
static int fetch_finish(struct imap *im)
{
  int r = imap_wait(im, false);
  im->fetch_h = NULL;
  imap_bodystructure_free(im->cur.bodystructure);
  im->cur.bodystructure = NULL;
  if(r < 0 || im->cmd_failed || im->fetch_err_set)
    return -1;
  if(im->fetch_stop) {
    imap_seterr(im, "UID FETCH at %s aborted by caller", conn_peer(im->c));
    return -1;
  }
  return 0;
}

int imap_uid_fetch_send(struct imap *im, const struct imap_fetch_cmd *cmds,
                        size_t n, const struct imap_fetch_handler *h)
{
  if(fetch_send(im, cmds, n, h) < 0)
    return -1;
  im->fetch_pending = true;
  return 0;
}

int imap_uid_fetch_finish(struct imap *im)
{
  if(!im->fetch_pending) {
    imap_seterr(im, "UID FETCH: nothing was sent to finish");
    return -1;
  }
  im->fetch_pending = false;
  if(im->state == IMAP_STATE_BROKEN) {
    im->fetch_h = NULL;
    return -1;
  }
  return fetch_finish(im);
}

bool imap_uid_fetch_is_pending(const struct imap *im)
{
  return im->fetch_pending;
}

int imap_uid_fetch_pipelined(struct imap *im, const char *const *uid_sets,
                             size_t n, const struct imap_fetch_req *req,
                             const struct imap_fetch_handler *h)
{
  struct imap_fetch_cmd cmds[IMAP_MAX_PIPELINE];
  const char *sec = req->section ? req->section : "";
  if(n == 0 || n > IMAP_MAX_PIPELINE) {
    if(imap_require(im, ST(IMAP_STATE_EXAMINED), "UID FETCH") == 0)
      imap_seterr(im, "UID FETCH: %zu commands (1..%d allowed)", n,
                  IMAP_MAX_PIPELINE);
    return -1;
  }
  for(size_t i = 0; i < n; i++) {
    cmds[i].uid_set = uid_sets[i];
    cmds[i].items = req->items;
    cmds[i].sections = &sec;
    cmds[i].nsections = 1;
  }
  if(fetch_send(im, cmds, n, h) < 0)
    return -1;
  return fetch_finish(im);
}

int imap_uid_fetch(struct imap *im, const char *uid_set,
                   const struct imap_fetch_req *req,
                   const struct imap_fetch_handler *h)
{
  return imap_uid_fetch_pipelined(im, &uid_set, 1, req, h);
}
