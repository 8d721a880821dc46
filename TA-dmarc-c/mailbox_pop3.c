/*
 * mailbox_pop3: the POP3 run of the mail inputs (dmarc_pop3).
 *
 * POP3 has no structures and no folders: every message not done is
 * retrieved whole (up to max_message) and ingested as it is, and the done
 * UIDLs that are still on the server are the checkpoint.  The server
 * keeps every message, so the listing is capped
 * (MAILBOX_MAX_POP3_MESSAGES).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox_private.h"

#include "pop3.h"
#include "store.h"
#include "log.h"

/* The POP3 run's own state (mb->pop3). */
struct mb_pop3 {
  char **done_uidl; /* UIDLs done (sorted) */
  size_t ndone_uidl;
};

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool uidl_done(const struct mb *mb, const char *uid)
{
  return mb->pop3->ndone_uidl &&
         bsearch(&uid, mb->pop3->done_uidl, mb->pop3->ndone_uidl,
                 sizeof(char *), cmp_str) != NULL;
}

static void pop3_load_done(struct mb *mb)
{
  char key[1200], err[512], *val = NULL;
  size_t cap = 0;

  snprintf(key, sizeof(key), "pop3|%s|%s", mb->o->server, mb->o->username);
  if(store_get_long(mb->st, key, &val, err, sizeof(err)) != 1) {
    if(*err)
      log_warn("%s", err);
    return;
  }
  for(char *p = strtok(val, "\n"); p; p = strtok(NULL, "\n")) {
    if(mb->pop3->ndone_uidl == cap) {
      char **nd = realloc(mb->pop3->done_uidl,
                          (cap = cap ? cap * 2 : 256) * sizeof(*nd));
      if(!nd)
        break;
      mb->pop3->done_uidl = nd;
    }
    if(!(mb->pop3->done_uidl[mb->pop3->ndone_uidl] = strdup(p)))
      break;
    mb->pop3->ndone_uidl++;
  }
  free(val);
  qsort(mb->pop3->done_uidl, mb->pop3->ndone_uidl, sizeof(char *), cmp_str);
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
  size_t next;   /* LIST: where the next message number should be */
  bool too_many; /* UIDL listed more than MAILBOX_MAX_POP3_MESSAGES */
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
static void pop3_commit(struct mb *mb, const struct pop_list *l, char **fresh,
                        size_t nfresh)
{
  char key[1200], err[512];
  struct buf v;
  size_t added = 0;

  if(mb_flush_events(mb))
    return;
  if(mb_seen_save(&mb->seen))
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
  if(store_put_long(mb->st, key, v.data ? v.data : "", err, sizeof(err))) {
    log_error("checkpoint %s not written: %s", key, err);
    mb->store_failed = true;
  }
  buf_free(&v);
  /* the fresh ones join the sorted done list */
  for(size_t j = 0; j < nfresh; j++) {
    char **nd =
        realloc(mb->pop3->done_uidl, (mb->pop3->ndone_uidl + 1) * sizeof(*nd));
    if(!nd)
      break;
    mb->pop3->done_uidl = nd;
    mb->pop3->done_uidl[mb->pop3->ndone_uidl++] = fresh[j];
    fresh[j] = NULL;
    added++;
  }
  qsort(mb->pop3->done_uidl, mb->pop3->ndone_uidl, sizeof(char *), cmp_str);
  mb->t.done += (unsigned)added;
  mb->progress += (unsigned)added;
}

struct pop_body {
  struct buf b;
  struct mb *mb;
  bool over; /* went past its ceiling: treated as too large */
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
  mb_conn_opts(o, 995, 110, &po.conn);
  po.tls = o->security == MAILBOX_STARTTLS ? POP3_TLS_STLS : POP3_TLS_IMPLICIT;
  po.max_message = o->max_message;
  mb->timed_out = false;
  p = pop3_connect(&po, err, sizeof(err));
  if(!p) {
    mb->timed_out = conn_err_is_timeout(err);
    log_error("%s%s", err, mb_tls_hint(err));
    return first ? S_FATAL : S_BROKEN;
  }
  if(!pop3_is_verified(p)) {
    log_error("connection to %s is not protected by a verified TLS "
              "certificate: refusing to log in",
              o->server);
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
                "IMAP)",
                o->server, MAILBOX_MAX_POP3_MESSAGES);
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
                   "LIST announced %llu",
                   pm->uid,
                   (unsigned long long)pop_ceiling(pm->size, o->max_message),
                   (unsigned long long)pm->size);
        else
          log_warn("message %s left out: %s", pm->uid, pop3_error(p));
        mb->t.too_large++;
      }
      else {
        mt.uidl = pm->uid;
        mb_ingest_whole(mb, pb.b.data ? pb.b.data : "", pb.b.len, &mt, pm->uid,
                        &oc);
        buf_free(&pb.b);
        mb_ingest_wait(mb); /* oc is this message's, and used right away */
        if(oc.transient) {
          log_error("message %s: %s", pm->uid, oc.note);
          mb->fatal = true;
          rc = S_FATAL;
          break;
        }
        {
          char what[100];
          snprintf(what, sizeof(what), "message %s", pm->uid);
          mb_account(mb, what, NULL, &oc);
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

/* The sessions of a run, reconnecting as mailbox.h says. */
static int pop3_sessions(struct mb *mb)
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
    if(fails && mb->timed_out) { /* as for IMAP: one timeout, not four */
      log_error("giving up on %s: it stopped answering; the next run goes "
                "on where this one stopped",
                mb->o->server);
      return 1;
    }
    if(fails > mb->o->max_reconnects) {
      log_error("giving up on %s after %u reconnect(s) without progress",
                mb->o->server, mb->o->max_reconnects);
      return 1;
    }
    log_warn("connection to %s lost; reconnecting (%u of %u)", mb->o->server,
             fails + 1, mb->o->max_reconnects + 1);
    usleep(200000u * fails);
  }
}

int mb_run_pop3(struct mb *mb)
{
  struct mb_pop3 st;
  int rc;

  memset(&st, 0, sizeof(st));
  mb->pop3 = &st;
  rc = pop3_sessions(mb);
  mb_log_totals(mb, mb->o->server);
  mb->pop3 = NULL;
  for(size_t i = 0; i < st.ndone_uidl; i++)
    free(st.done_uidl[i]);
  free(st.done_uidl);
  return rc;
}
