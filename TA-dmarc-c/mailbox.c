/*
 * mailbox: one run of the mail inputs (see mailbox.h).
 *
 * mailbox_run sets up the checkpoint store, the seen-report store and the
 * ingest (threads or not), and hands over to mb_run_imap or mb_run_pop3,
 * which log the run's totals.  What they do with a message is in
 * mailbox_msg.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox_private.h"

#include "pool.h"
#include "store.h"
#include "log.h"
#include "util.h"

static char *scope_of(const struct mailbox_opts *o)
{
  size_t n = strlen(o->server) + strlen(o->username) + 2;
  char *s = malloc(n);
  if(s)
    snprintf(s, n, "%s|%s", o->server, o->username);
  return s;
}

/* ------------------------------------------------------------- the run */

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
  mb.start = util_now_ms();
  mb.st = store_open(io->checkpoint_dir, err, sizeof(err));
  if(!mb.st) {
    log_error("%s", err);
    return 1;
  }
  if(oo.ingest_threads != 0) {
    struct dmarc_pool_opts po = { 0 };
    po.workers = oo.ingest_threads > 0 ? (unsigned)oo.ingest_threads : 0;
    mb.sink.w = w;
    mb.pool = dmarc_pool_new(&io->ingest, &po, input_sink_event, &mb.sink, err,
                             sizeof(err));
  }
  else
    mb.in = dmarc_ingest_new(&io->ingest, err, sizeof(err));
  if(!mb.in && !mb.pool) {
    log_error("%s", err);
    store_close(mb.st);
    return 1;
  }
  mb.seen.st = mb.st;
  mb.seen.scope = scope_of(&oo);
  rc = oo.proto == MAILBOX_IMAP ? mb_run_imap(&mb) : mb_run_pop3(&mb);
  if(mb.store_failed || mb.seen.failed)
    rc = 1;
  dmarc_pool_free(mb.pool);
  dmarc_ingest_free(mb.in);
  mb_seen_free(&mb.seen);
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
