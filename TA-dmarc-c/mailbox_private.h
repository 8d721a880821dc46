/*
 * mailbox_private.h: what the files of the mail inputs share.  Private: not
 * installed and not part of mailbox.h, so it may change with them.
 *
 * One run is split over files that each read on their own, and call
 * each other one way only (down this list, never up):
 *   mailbox.c       the run itself (mailbox_run): stores, ingest, then the
 *                   protocol's run;
 *   mailbox_imap.c  the IMAP run: batches, pipelined fetches, checkpoints;
 *                   its state (folder, UIDVALIDITY, UIDs done) is its own
 *                   struct mb_imap;
 *   mailbox_pop3.c  the POP3 run; its state (UIDLs done) is struct
 *                   mb_pop3;
 *   mailbox_msg.c   what IMAP and POP3 both do with a message: ingest its
 *                   parts, account for it, flush the events before anything
 *                   is checkpointed, log the run's totals;
 *   mailbox_seen.c  the UID set of a folder's done messages and the store
 *                   of reports already emitted (the seen store).
 * The run's shared state lives in one struct mb, passed to every step; the
 * record formats of the checkpoint store are described in mailbox.h.
 */
#ifndef TA_MAILBOX_INT_H
#define TA_MAILBOX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailbox.h"
#include "mime.h"
#include "store.h"
#include "buf.h"

/* Values longer than one record (a folder's UID set, a month's seen
 * reports, a POP3 box's UIDLs) go through store_put_long / store_get_long. */

/* ------------------------------------------------------------ UID sets */

struct range {
  uint32_t lo, hi;
};

/* Sorted, disjoint, non-adjacent ranges of UIDs. */
struct uidset {
  struct range *r;
  size_t n, cap;
};

/* Empty s and free its memory; s may be used again afterwards. */
void mb_uidset_free(struct uidset *s);
/* Whether uid is in s. */
bool mb_uidset_has(const struct uidset *s, uint32_t uid);
/* Add uid (merged with its neighbours): 0, or -1 out of memory. */
int mb_uidset_add(struct uidset *s, uint32_t uid);
/* Read what uidset_format wrote into s: 0, or -1 on anything else. */
int mb_uidset_parse(struct uidset *s, const char *p);
/* Append s to b as "1:5,7" (RFC 3501 syntax): 0, or -1 out of memory. */
int mb_uidset_format(const struct uidset *s, struct buf *b);

/* ------------------------------------------------------- seen reports */

/* The reports already emitted for one account (SERVER|USER), by the
 * month their date range ends in, so a report found again (in another
 * message, folder or run) is not emitted twice.  Each month is one
 * record of the checkpoint store; the reports added since the months were
 * last written are the journal, which IMAP keeps in its folder record. */
struct seen_store {
  struct store *st;
  char *scope; /* "SERVER|USER" */
  struct seen_month *m;
  size_t n, cap;
  struct seen_new *jr; /* the journal: in no month record yet */
  size_t njr, capjr;
  size_t njr_kept; /* of them, in the folder's checkpoint already */
  bool failed;     /* a write failed: say so at the end */
};

/* dmarc_source_info.seen for ud = struct seen_store: 1 when the report
 * key was emitted before, else 0. */
int mb_seen_cb(void *ud, const char *key);
/* dmarc_source_info.emitted for ud = struct seen_store: note the report
 * key as emitted (in its month and in the journal). */
void mb_emitted_cb(void *ud, const char *key);
/* Append the journal to b, one "YYYY-MM <16 hex>" line a report: 0 or -1. */
int mb_seen_journal_format(const struct seen_store *s, struct buf *b);
/* Take back the journal lines p (from a checkpoint record); a bad line
 * ends the reading. */
void mb_seen_journal_load(struct seen_store *s, const char *p);
/* Write the months that changed (the journal is then empty): 0, or -1
 * (logged; s->failed set). */
int mb_seen_save(struct seen_store *s);
/* Free everything s holds (nothing is written). */
void mb_seen_free(struct seen_store *s);

/* ---------------------------------------------------------- run state */

/* What a session step gave: go on, stop the run, or reconnect. */
enum { S_OK = 0, S_FATAL = 1, S_BROKEN = 2 };

struct totals {
  unsigned listed, fresh, done, with_reports, reports, duplicates, not_report,
      rejected, too_large;
  uint64_t events, fetched_bytes;
};

/* What one message gave. */
struct outcome {
  unsigned reports, duplicates, rejected, parts;
  uint64_t events;
  bool transient;  /* an output error: stop the run */
  char note[1200]; /* first rejection reason */
};

struct mb_imap; /* mailbox_imap.c's run state */
struct mb_pop3; /* mailbox_pop3.c's */

struct mb {
  const struct mailbox_opts *o;
  struct input_opts *io;
  struct splunk_writer *w;
  struct dmarc_ingest *in; /* ingest on this thread, or ... */
  struct dmarc_pool *pool; /* ... on the pool's threads */
  struct input_sink sink;  /* where the pool's events go */
  struct store *st;
  struct seen_store seen;
  struct totals t;
  int64_t start;        /* util_now_ms when the run began */
  struct mb_imap *imap; /* the protocol's own state, set by its run */
  struct mb_pop3 *pop3;
  bool store_failed;
  bool fatal;        /* stop: an output error or similar */
  bool timed_out;    /* the last session ended: the server went quiet */
  unsigned progress; /* messages checkpointed this run */
};

/* The mail's identity and headers, for vendor_rua_mail. */
struct meta {
  const char *folder;   /* IMAP */
  uint32_t uidvalidity; /* IMAP */
  uint32_t uid;         /* IMAP */
  const char *uidl;     /* POP3 */
  const char *from, *subject, *msgid, *date;
  const char *part;      /* IMAP section, NULL for a whole message */
  const char *dkim_json; /* NULL: not verified */
};

/* The headers of a message kept for vendor_rua_mail (malloc'd, cut at
 * META_MAX bytes; NULL when absent). */
struct headers {
  char *from, *subject, *msgid, *date;
};

/* --------------------------------------------- mailbox_msg.c: messages */

/* Wait until every leaf handed to the ingest threads is noted in its
 * outcome (mb->fatal set when writing the events failed). */
void mb_ingest_wait(struct mb *mb);
/* Into out: filename with control characters replaced, or fallback when
 * there is no filename. */
void mb_part_name(char *out, size_t outlen, const char *filename,
                  const char *fallback);
/* Ingest every leaf of msg, named after base, into oc. */
void mb_ingest_mime(struct mb *mb, const struct mime_message *msg,
                    const char *base, const struct meta *mt,
                    struct outcome *oc);
/* Free the headers in h and zero it. */
void mb_headers_free(struct headers *h);
/* Replace h with copies of the headers of root. */
void mb_headers_take(struct headers *h, const struct mime_part *root);
/* Ingest a whole message (DKIM first when asked) into oc; mt's header
 * and DKIM fields are filled for the call only. */
void mb_ingest_whole(struct mb *mb, const void *data, size_t len,
                     struct meta *mt, const char *base, struct outcome *oc);
/* Add a finished message's outcome to the run's totals and log it. */
void mb_account(struct mb *mb, const char *what, const char *subject,
                const struct outcome *oc);
/* Wait for the ingest threads and flush the events: 0, or -1 (logged,
 * mb->fatal set): then nothing may be checkpointed. */
int mb_flush_events(struct mb *mb);
/* A hint to append to a connection error naming a certificate, else "". */
const char *mb_tls_hint(const char *err);

/* The connection options both protocols share: server, port (o->port, else
 * tls_port, or starttls_port with STARTTLS), CA file and timeouts. */
void mb_conn_opts(const struct mailbox_opts *o, uint16_t tls_port,
                  uint16_t starttls_port, struct conn_opts *c);

/* Log the run's totals: "WHERE: N new message(s): ...". */
void mb_log_totals(const struct mb *mb, const char *where);

/* ------------------------------------------------------- the two runs */

/* Read the folder mb->o->folder (NULL: INBOX), reconnecting as mailbox.h
 * says, and log the totals: 0 done, 1 failure (logged). */
int mb_run_imap(struct mb *mb);
/* Read the POP3 mailbox, reconnecting as mailbox.h says, and log the
 * totals: 0 done, 1 failure (logged). */
int mb_run_pop3(struct mb *mb);

#endif
