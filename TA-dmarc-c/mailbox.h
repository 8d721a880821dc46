/*
 * mailbox: DMARC aggregate reports from a mailbox, over IMAP or POP3.
 *
 * What dmarc_imap, dmarc_imap_oauth2 and dmarc_pop3 share: one run reads
 * the messages not yet checkpointed, finds the parts that can hold a report,
 * hands each one to dmarc_ingest (which sniffs zip, gzip and XML by content)
 * and checkpoints the messages once their events are flushed.  The front-ends
 * only differ in how they log in and which protocol they speak.
 *
 * IMAP, per batch of batch_size new UIDs (batch_size keeps the old
 * add-on's meaning: UIDs per UID FETCH, and per checkpoint):
 *   1. one UID FETCH of BODYSTRUCTURE for the batch;
 *   2. the candidate parts of each message are chosen from the structure
 *      (mailbox_part_is_candidate); a message with none is checkpointed
 *      without any of its body being downloaded;
 *   3. one UID FETCH (BODY.PEEK[HEADER] BODY.PEEK[section]) per distinct
 *      candidate section number in the batch: each part arrives with its
 *      message's header (for vendor_rua_mail).  Each part is handed to the
 *      ingest threads (dmarc/pool.h) as soon as it has arrived, and their
 *      memory is bounded;
 *   4. events flushed, then the batch's UIDs and the reports it emitted are
 *      written to the checkpoint store.
 * These are pipelined: the commands of step 3 for batch N and of step 1
 * for batch N+1 are sent together (one round trip per batch), and the
 * checkpoint of batch N-1 is written while the server answers them.  At
 * any moment the events of at most one batch are out but not checkpointed.
 * With DKIM verification on, a candidate message is fetched whole instead
 * (a signature covers the whole message) and handled as a POP3 message.
 *
 * POP3: UIDL, then RETR of each new message (size-capped, one at a time),
 * parsed with mime, every leaf part sniffed; checkpointed per batch.
 *
 * Checkpoints (the checkpoint store, one record each):
 *   "imap|SERVER|USER|FOLDER"              -> "uidvalidity N"
 *   "imap|SERVER|USER|FOLDER|UIDVALIDITY"  -> UID set of the messages done,
 *                                             "1:500,502" (RFC 3501 syntax),
 *                                             a newline, then the seen
 *                                             journal: "YYYY-MM <16 hex>"
 *                                             lines for reports emitted
 *                                             since the month records were
 *                                             last written
 *   "pop3|SERVER|USER"                     -> the UIDLs done, one per line
 *                                             (UIDLs no longer on the server
 *                                             are dropped, so it stays as
 *                                             big as the mailbox)
 *   "seen|SERVER|USER|YYYY-MM"             -> the reports already emitted
 *                                             whose date range ends in that
 *                                             month: 16 hex digits of the
 *                                             SHA-256 of the report key
 * One record per folder rather than one per message because every record
 * write is fsynced: thousands of them would cost more than the mail itself.
 * For the same reason an IMAP batch writes one record, the folder's, whose
 * journal carries the batch's new reports; the month records are rewritten
 * (compacted) when the journal reaches SEEN_JOURNAL_MAX entries and at the
 * end of a run, and a run reads the journal back, so a crash loses none.
 * Until then another folder of the same account does not see them: after
 * a crash, a report present in two folders may be emitted twice if the
 * other folder is read before this one.  A value longer than one record
 * is written as parts under fresh names and then switched to by its first
 * record, so it is replaced whole or not at all.
 *
 * A connection that breaks in the middle is reopened (up to max_reconnects
 * times in a row without progress) and the run goes on with the messages
 * not done; what was finished before the break is checkpointed first.  A
 * server that stops answering (a whole timeout without a byte) is tried
 * again only when the session before had got something done, so a stalled
 * server ends the run within one timeout.
 */
#ifndef TA_MAILBOX_H
#define TA_MAILBOX_H

#include <getopt.h> /* input.h uses struct option */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input.h"
#include "imap.h"
#include "buf.h"

#define MAILBOX_DEFAULT_BATCH      100
#define MAILBOX_MAX_BATCH          500 /* keeps a UID set command short */
#define MAILBOX_DEFAULT_TIMEOUT_MS 60000
#define MAILBOX_DEFAULT_RECONNECTS 3
/* A message or part above this is logged and checkpointed, not read. */
#define MAILBOX_DEFAULT_MAX_MESSAGE (64ull * 1024 * 1024)
/* A text/plain message without attachments is fetched only up to this
 * size: reporters that paste the XML into the body stay small. */
#define MAILBOX_MAX_INLINE_TEXT (1024 * 1024)
/* A POP3 listing longer than this is refused: every message listed costs
 * memory (~100 bytes) and checkpoint space for the whole run. */
#define MAILBOX_MAX_POP3_MESSAGES 200000

enum mailbox_proto { MAILBOX_IMAP, MAILBOX_POP3 };
enum mailbox_security { MAILBOX_TLS = 0, MAILBOX_STARTTLS };

/* XOAUTH2 token source (dmarc_imap_oauth2).  refresh = 0: a cached token
 * is fine; 1: the last one was refused, get a new one.  Returns a malloc'd
 * token, or NULL with a message in err. */
typedef char *mailbox_token_fn(void *ud, int refresh, char *err, size_t errlen);

/* DKIM verification of one whole message (with validate_dkim).  Appends
 * the JSON value of vendor_rua_mail.dkim (an array of {domain, selector,
 * result}) to json.  Returns 0, or -1 (then "dkim" is left out). */
typedef int mailbox_dkim_fn(void *ud, const void *msg, size_t len,
                            struct buf *json);

struct mailbox_opts {
  enum mailbox_proto proto;
  const char *server;
  uint16_t port; /* 0: 993/995, or 143/110 for STARTTLS */
  enum mailbox_security security;
  const char *ca_file; /* NULL: the system store */
  const char *username;
  const char *password;    /* password login, or ... */
  mailbox_token_fn *token; /* ... XOAUTH2 with this token source */
  void *token_ud;
  const char *folder;      /* IMAP; NULL: INBOX */
  const char *search;      /* IMAP UID SEARCH criteria; NULL: ALL */
  unsigned batch_size;     /* 0: MAILBOX_DEFAULT_BATCH */
  int ingest_threads;      /* reports parsed, validated and rendered
                              on this many threads while the mail
                              is fetched (dmarc/pool.h); 0: on the
                              fetching thread; -1: automatic (2 on
                              2+ CPUs, else 1) */
  int timeout_ms;          /* connect and I/O; 0: default */
  unsigned max_reconnects; /* in a row without progress */
  uint64_t max_message;    /* 0: MAILBOX_DEFAULT_MAX_MESSAGE */
  mailbox_dkim_fn *dkim;   /* NULL: no DKIM verification */
  void *dkim_ud;
};

void mailbox_opts_default(struct mailbox_opts *m);

/* One run over the mailbox: events to w, checkpoints in io->checkpoint_dir.
 * Returns the exit code: 0 done, 1 failure (logged: connection, TLS,
 * login, folder, or a write error). */
int mailbox_run(const struct mailbox_opts *m, struct input_opts *io,
                struct splunk_writer *w);

/* Whether a BODYSTRUCTURE leaf is worth downloading: anything that may
 * carry a report (archives, XML, octet-stream, unknown types, anything
 * whose name looks like a report), but not text bodies, pictures, sound,
 * video, PDF, office documents or signatures.  single_part: the message is
 * this one leaf. */
bool mailbox_part_is_candidate(const struct imap_bodypart *p, bool single_part);

/* ------------------------------------------------------------ front-ends
 * dmarc_imap, dmarc_pop3 and dmarc_imap_oauth2 are input_main (see
 * input_main.h: the Splunk modes and the CLI) with the mailbox flags and
 * stanza params that mailbox_main adds, and this description of what
 * differs between them.
 * Exit codes: 0 done, 1 runtime failure, 2 usage or configuration error.
 */
struct mailbox_frontend {
  const char *name; /* "dmarc_imap" */
  enum mailbox_proto proto;
  const struct splunk_scheme *scheme;
  bool password;              /* needs password / --password-file */
  const char *default_server; /* NULL: server / --server required */
  /* Optional, for front-ends with their own settings (OAuth2): */
  const struct option *extra_options; /* getopt entries, ids >= 2000 */
  unsigned extra_options_count;
  const char *extra_help; /* lines for --help */
  /* A CLI flag of extra_options: 0, -1 (bad value) or -2 (refused, the
   * reason already printed: the value is not repeated). */
  int (*extra_flag)(struct mailbox_opts *m, int id, const char *value);
  /* The stanza's own params (secrets through input_secret, with io): 0,
   * or -1 with a message in err. */
  int (*extra_stanza)(struct mailbox_opts *m, struct input_opts *io,
                      const struct splunk_config *c, char *err, size_t errlen);
  /* Called before a run or validation: complete m (token source...):
   * 0, or -1 with a message in err. */
  int (*prepare)(struct mailbox_opts *m, const struct input_opts *io, char *err,
                 size_t errlen);
};

int mailbox_main(int argc, char **argv, const struct mailbox_frontend *fe);

/* Read the password from the first line of a file (CR/LF stripped).
 * Returns a malloc'd string, or NULL with a message in err. */
char *mailbox_read_password_file(const char *path, char *err, size_t errlen);

/* Scheme args the mail inputs share, written once.  (Laid out as rows of
 * a table, which clang-format cannot see inside a macro.) */
/* clang-format off */
#define MAILBOX_SCHEME_TLS_ARGS \
  { "security", "Security", "tls (default: TLS from the start) or starttls; " \
    "a password is never sent without verified TLS", SPLUNK_ARG_STRING, 0 }, \
  { "ca_file", "CA file", "PEM file of the CAs to trust (default: the " \
    "system store)", SPLUNK_ARG_STRING, 0 }

#define MAILBOX_SCHEME_FOLDER_ARGS \
  { "mailbox", "Folder", "Folder to read (default INBOX)", \
    SPLUNK_ARG_STRING, 0 }, \
  { "search", "Search", "IMAP SEARCH criteria selecting the messages " \
    "(default ALL)", SPLUNK_ARG_STRING, 0 }, \
  { "batch_size", "Batch size", "Messages per round trip and checkpoint " \
    "(default 100)", SPLUNK_ARG_NUMBER, 0 }

/* The rows every mail input's scheme ends with: the report args, DKIM's
 * and the end of the table. */
#define MAILBOX_SCHEME_END_ARGS \
  INPUT_SCHEME_REPORT_ARGS, INPUT_SCHEME_DKIM_ARGS, INPUT_SCHEME_END
/* clang-format on */

#endif
