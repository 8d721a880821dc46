/*
 * imap: a read-only IMAP4rev1 client (RFC 3501, the RFC 9051 subset that
 * 3501 servers also speak), built on conn.
 *
 * Implements: greeting, CAPABILITY, STARTTLS (RFC 2595), LOGIN,
 * AUTHENTICATE PLAIN (RFC 4616) and XOAUTH2 (with SASL-IR, RFC 4959, when
 * advertised), LIST, EXAMINE, UID SEARCH, UID FETCH (FLAGS, INTERNALDATE,
 * RFC822.SIZE, BODYSTRUCTURE, BODY.PEEK[section]), LOGOUT, and modified
 * UTF-7 mailbox names (RFC 3501 5.1.3).
 *
 * Read-only by construction: there is no SELECT, STORE, EXPUNGE, COPY or
 * APPEND here, mailboxes are opened with EXAMINE, and bodies are fetched
 * only with BODY.PEEK, so fetching never sets \Seen.
 *
 * Nothing from the wire sizes an allocation.  One response (a line plus
 * the literals inside it) is assembled in a buffer capped at max_response;
 * body literals (BODY[...], RFC822...) are streamed to the caller in chunks
 * and capped at max_body; a UID SEARCH answer of any length is streamed
 * one UID at a time; BODYSTRUCTURE trees are capped in depth and parts.
 *
 * Errors: functions return 0 or -1; imap_error() gives one line naming the
 * server and the reason ("LOGIN failed at 127.0.0.1:993: NO
 * [AUTHENTICATIONFAILED] Authentication failed.").  A NO or BAD reply
 * leaves the session usable; an I/O or protocol error (bad tag, garbage,
 * limit exceeded) breaks it, and every later call fails at once.
 */
#ifndef IMAP_IMAP_H
#define IMAP_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "buf.h"

/* Limits (0 in struct imap_opts selects these defaults). */
#define IMAP_DEFAULT_MAX_RESPONSE (1024 * 1024)         /* one response */
#define IMAP_DEFAULT_MAX_BODY     (64ull * 1024 * 1024) /* one body literal */
/* Announced literals above this break the session instead of being drained. */
#define IMAP_HARD_MAX_LITERAL   (4ull * 1024 * 1024 * 1024)
#define IMAP_LINE_CHUNK         (64 * 1024) /* conn max_line */
#define IMAP_MAX_PIPELINE       32          /* commands in flight at once */
#define IMAP_MAX_PIPELINE_BYTES 16384       /* their total size on the wire */
#define IMAP_BODY_MAX_DEPTH     32          /* BODYSTRUCTURE nesting */
#define IMAP_BODY_MAX_PARTS     2000        /* BODYSTRUCTURE parts in total */
#define IMAP_SECTION_MAX        200         /* "1.2.3..." incl. NUL */
#define IMAP_MAX_SASL_CHALLENGE 4096        /* decoded server challenge kept */

/* ---------------------------------------------------------------- session */

enum imap_tls {
  IMAP_TLS_IMPLICIT = 0, /* TLS from the first byte (port 993) */
  IMAP_TLS_STARTTLS,     /* plain connect, then STARTTLS, which must work */
  IMAP_TLS_NONE,         /* plain text; auth needs allow_plaintext_auth */
};

struct imap_opts {
  struct conn_opts conn; /* host, port, timeouts, CA file, verify name;
                            conn.tls and conn.max_line are set by imap */
  enum imap_tls tls;
  bool allow_plaintext_auth; /* permit LOGIN/AUTHENTICATE on a connection
                                that is not TLS-verified (default: refuse) */
  size_t max_response;       /* 0 = IMAP_DEFAULT_MAX_RESPONSE */
  uint64_t max_body;         /* 0 = IMAP_DEFAULT_MAX_BODY */
};

/* Session state; only imap.c changes it, in one function. */
enum imap_state {
  IMAP_STATE_NOT_AUTH = 0,
  IMAP_STATE_AUTH,     /* logged in, no mailbox open */
  IMAP_STATE_EXAMINED, /* a mailbox is open read-only */
  IMAP_STATE_LOGOUT,
  IMAP_STATE_BROKEN, /* I/O or protocol error: drop the session */
};

struct imap;

/* Connect, read the greeting, learn the capabilities, and do STARTTLS
 * when opts->tls says so (capabilities are then asked again over TLS, as
 * RFC 3501 requires).  A PREAUTH greeting puts the session straight into
 * IMAP_STATE_AUTH.  Returns the session, or NULL with the reason in err. */
struct imap *imap_connect(const struct imap_opts *opts, char *err,
                          size_t errlen);

/* Close the connection (no LOGOUT) and free the session.  NULL is ok. */
void imap_free(struct imap *im);

/* Send LOGOUT and read the server's BYE and OK.  The session can then
 * only be freed.  Returns 0 or -1. */
int imap_logout(struct imap *im);

const char *imap_error(const struct imap *im);
enum imap_state imap_get_state(const struct imap *im);
const char *imap_state_name(enum imap_state s);

/* True when the connection is TLS-protected and verified (conn). */
bool imap_is_verified(const struct imap *im);

/* True when the session broke because the server went quiet for a whole
 * timeout period (conn_timed_out), not because of what it sent. */
bool imap_timed_out(const struct imap *im);

/* Whether the server advertised `cap` (case-insensitive, e.g. "IDLE",
 * "AUTH=XOAUTH2"). */
bool imap_has_capability(const struct imap *im, const char *cap);
/* All capabilities, space separated, as last advertised. */
const char *imap_capabilities(const struct imap *im);

/* ----------------------------------------------------------- authentication
 * All three need IMAP_STATE_NOT_AUTH and refuse to send a secret over a
 * connection that is not TLS-verified unless allow_plaintext_auth is set.
 * On success the state becomes IMAP_STATE_AUTH.  A rejected login is a NO
 * and leaves the session usable for another attempt.
 */

/* LOGIN user pass.  Each argument is sent as a quoted string, or as a
 * literal (LITERAL+ when advertised) when it has CR, LF or 8-bit bytes.
 * Fails without sending anything when the server advertises
 * LOGINDISABLED. */
int imap_login(struct imap *im, const char *user, const char *pass);

/* AUTHENTICATE PLAIN with an empty authorization identity.  Needs
 * AUTH=PLAIN. */
int imap_authenticate_plain(struct imap *im, const char *user,
                            const char *pass);

/* AUTHENTICATE XOAUTH2 with "user=U^Aauth=Bearer T^A^A".  Needs
 * AUTH=XOAUTH2.  On failure the server first sends a base64 JSON
 * challenge; it is answered with an empty line and its text is added to
 * the error message. */
int imap_authenticate_xoauth2(struct imap *im, const char *user,
                              const char *token);

/* ---------------------------------------------------------------- mailboxes */

struct imap_list_entry {
  const char *name;       /* UTF-8 (decoded from modified UTF-7); the raw
                             name when it is not valid modified UTF-7 */
  const char *raw;        /* as sent by the server */
  char delimiter;         /* hierarchy delimiter, '\0' for NIL */
  const char *attributes; /* e.g. "\HasNoChildren \Sent", "" if none */
};

/* Called per LIST reply; return nonzero to stop delivering (the command
 * still completes, then imap_list returns -1 "aborted by caller"). */
typedef int imap_list_fn(void *ctx, const struct imap_list_entry *e);

/* LIST ref pattern.  Both are UTF-8 and encoded to modified UTF-7 here;
 * wildcards * and % pass through.  Needs IMAP_STATE_AUTH or EXAMINED.
 * Entries are only valid during the callback. */
int imap_list(struct imap *im, const char *ref, const char *pattern,
              imap_list_fn *fn, void *ctx);

struct imap_mailbox_status {
  uint32_t exists;      /* messages in the mailbox */
  uint32_t uidvalidity; /* 0 if the server did not send one */
  uint32_t uidnext;     /* 0 if the server did not send one */
  bool read_only;       /* the OK carried [READ-ONLY] */
};

/* EXAMINE mailbox (UTF-8 name, sent as modified UTF-7).  Needs
 * IMAP_STATE_AUTH or EXAMINED; the state becomes EXAMINED on OK and AUTH
 * on NO (RFC 3501: a failed EXAMINE closes the current mailbox).  A server
 * that answers [READ-WRITE] to EXAMINE is refused (error, session broken),
 * since the caller relies on the mailbox being read-only. */
int imap_examine(struct imap *im, const char *mailbox,
                 struct imap_mailbox_status *st);

/* ------------------------------------------------------------------- search */

/* Called once per UID, in the server's order; return nonzero to stop (the
 * rest of the answer is read and dropped, then imap_uid_search returns -1
 * with "aborted by caller"; the session stays usable). */
typedef int imap_uid_fn(void *ctx, uint32_t uid);

/* UID SEARCH criteria, e.g. "ALL", "UID 100:*", "SUBJECT \"Report
 * domain:\"".  The criteria string is sent as is (the caller quotes);
 * CR, LF and NUL are refused.  The answer is parsed as it arrives, so its
 * size is unbounded.  Needs IMAP_STATE_EXAMINED. */
int imap_uid_search(struct imap *im, const char *criteria, imap_uid_fn *fn,
                    void *ctx);

/* Same, collecting into a malloc'd array (free() it).  More than max UIDs
 * is an error ("more than N UIDs"), and nothing is returned. */
int imap_uid_search_array(struct imap *im, const char *criteria, size_t max,
                          uint32_t **uids_r, size_t *n_r);

/* Format uids (any order, duplicates allowed) as a compact UID set such as
 * "1:3,7,9:10", appended to out.  Returns 0 or -1 (buffer limit). */
int imap_uid_set_format(const uint32_t *uids, size_t n, struct buf *out);

/* --------------------------------------------------------------- bodystructure
 */

struct imap_param {
  char *name;  /* lower-case */
  char *value; /* as sent (RFC 2047/2231 encodings not decoded) */
};

/* One node of a parsed BODYSTRUCTURE.  Section numbers follow RFC 3501
 * 6.4.5: children of a multipart are "1", "2", ... (prefixed with the
 * parent's number, "2.1"); the body of a message/rfc822 part "3" is its
 * only child: a single part is "3.1", a multipart gets the section "3"
 * and its children "3.1", "3.2", ...  The top-level multipart has section
 * "" and a top-level single part "1". */
struct imap_bodypart {
  char section[IMAP_SECTION_MAX];
  char *type;                /* lower-case, e.g. "multipart", "application" */
  char *subtype;             /* lower-case, e.g. "mixed", "zip" */
  struct imap_param *params; /* Content-Type parameters */
  size_t nparams;
  char *id;          /* NULL when NIL */
  char *description; /* NULL when NIL */
  char *encoding;    /* lower-case, e.g. "base64"; NULL for multipart */
  uint64_t size;     /* encoded size in bytes; 0 for multipart */
  uint64_t lines;    /* text/ and message/rfc822 only */
  char *disposition; /* lower-case, e.g. "attachment"; NULL when absent */
  struct imap_param *disp_params;
  size_t ndisp_params;
  /* Shortcuts into params / disp_params (NULL when absent): */
  const char *charset;
  const char *boundary;
  const char *name;     /* Content-Type name= */
  const char *filename; /* Content-Disposition filename=, else name= */
  unsigned depth;       /* 0 for the root */
  struct imap_bodypart *parent;
  struct imap_bodypart **children; /* multipart parts, or the one body of
                                      a message/rfc822 part */
  size_t nchildren;
};

/* Parse a BODYSTRUCTURE value: data[0..len) starts at its "(" and may
 * contain literals written as "{N}\r\n" followed by N bytes.  Trailing
 * bytes after the value are an error.  More than IMAP_BODY_MAX_DEPTH
 * levels or IMAP_BODY_MAX_PARTS parts is an error.  Returns 0 with a tree
 * to free with imap_bodystructure_free, or -1 with a reason in err. */
int imap_bodystructure_parse(const char *data, size_t len,
                             struct imap_bodypart **root_r, char *err,
                             size_t errlen);
void imap_bodystructure_free(struct imap_bodypart *root);

/* The part with that section number ("" for the root), or NULL. */
const struct imap_bodypart *imap_bodypart_find(const struct imap_bodypart *root,
                                               const char *section);

/* ------------------------------------------------------------------- fetch */

#define IMAP_FETCH_FLAGS         0x01u
#define IMAP_FETCH_INTERNALDATE  0x02u
#define IMAP_FETCH_SIZE          0x04u /* RFC822.SIZE */
#define IMAP_FETCH_BODYSTRUCTURE 0x08u
#define IMAP_FETCH_BODY          0x10u /* BODY.PEEK[section] */

#define IMAP_FLAG_SEEN     0x01u
#define IMAP_FLAG_ANSWERED 0x02u
#define IMAP_FLAG_FLAGGED  0x04u
#define IMAP_FLAG_DELETED  0x08u
#define IMAP_FLAG_DRAFT    0x10u
#define IMAP_FLAG_RECENT   0x20u

struct imap_fetch_req {
  unsigned items;      /* IMAP_FETCH_* bits; UID is always fetched */
  const char *section; /* for IMAP_FETCH_BODY: "" (whole message), a part
                          number "2.1", or one followed by .MIME/.HEADER/
                          .TEXT, or HEADER / TEXT.  NULL = "" */
};

/* One message as it arrives.  During on_body only seq, the section and
 * body_* fields are reliable (uid too when the server sent UID before the
 * body, as Dovecot does; otherwise it is 0 then).  on_message gets all
 * items, after the whole FETCH response was read. */
struct imap_message {
  uint32_t seq;
  uint32_t uid;              /* 0 if the response had no UID */
  unsigned have;             /* IMAP_FETCH_* bits of the items received */
  unsigned flags;            /* IMAP_FLAG_* (have & IMAP_FETCH_FLAGS) */
  int64_t internaldate;      /* Unix seconds, UTC */
  char internaldate_str[40]; /* as sent, e.g. "14-Nov-2023 22:13:20 +0000" */
  uint64_t size;             /* RFC822.SIZE */
  struct imap_bodypart *bodystructure; /* owned by the client; on_message
                           may take it by setting the field to NULL */
  /* Body being streamed (on_body) or last streamed (on_message): */
  char section[IMAP_SECTION_MAX];
  uint64_t body_len;    /* size announced by the server */
  uint64_t body_offset; /* offset of the chunk passed to on_body */
  bool body_too_large;  /* a body literal exceeded max_body: it was read
                           and dropped, and on_body was not called for it */
};

struct imap_fetch_handler {
  /* Called with each chunk of a body literal, in order; at least once per
   * literal (once with len 0 for an empty one).  The body is complete when
   * body_offset + len == body_len.  Return nonzero to abort: the session
   * is then broken (the rest of the literal is still on the wire). */
  int (*on_body)(void *ctx, const struct imap_message *m, const void *data,
                 size_t len);
  /* Called after each FETCH response, including unsolicited ones (flag
   * changes by other sessions): match by m->uid.  Return nonzero to stop
   * delivering; the command still completes and then returns -1. */
  int (*on_message)(void *ctx, struct imap_message *m);
  void *ctx;
};

/* UID FETCH uid_set (e.g. "42", "1:100", "3,7:9") with the requested items
 * and UID, reading the answers as they arrive.  Needs IMAP_STATE_EXAMINED.
 * The section is validated (digits, dots, HEADER, TEXT, MIME only).
 * Returns 0 when the server said OK, else -1. */
int imap_uid_fetch(struct imap *im, const char *uid_set,
                   const struct imap_fetch_req *req,
                   const struct imap_fetch_handler *h);

/* Like imap_uid_fetch for several UID sets: all the commands are sent
 * first (at most IMAP_MAX_PIPELINE, IMAP_MAX_PIPELINE_BYTES in total),
 * then the answers are read.  Returns 0 when every command got OK, else
 * -1 with the first failure. */
int imap_uid_fetch_pipelined(struct imap *im, const char *const *uid_sets,
                             size_t n, const struct imap_fetch_req *req,
                             const struct imap_fetch_handler *h);

/* Pipelining across calls: send now, read the answers later, so the
 * server works while the caller does something else (writes a
 * checkpoint).  Each command has its own UID set and items, and may ask
 * for several sections at once ("HEADER" and "2" of the same messages in
 * one round trip); each body then reaches on_body with m->section telling
 * which it is, and on_message comes once per message with all of them. */
#define IMAP_FETCH_MAX_SECTIONS 8

struct imap_fetch_cmd {
  const char *uid_set;
  unsigned items;              /* IMAP_FETCH_* bits */
  const char *const *sections; /* with IMAP_FETCH_BODY: one BODY.PEEK[s]
                                  per entry (validated as for req->section);
                                  nsections 0 means BODY.PEEK[] */
  size_t nsections;
};

/* Send n commands (the same limits as imap_uid_fetch_pipelined) and return
 * without reading anything; h (and what the commands point to) must stay
 * valid until imap_uid_fetch_finish.  Until then every other command of
 * the session is refused, so finish must be called (or the session
 * freed).  Returns 0, or -1 when nothing is outstanding (what was sent
 * before a failure has been read) or the session broke. */
int imap_uid_fetch_send(struct imap *im, const struct imap_fetch_cmd *cmds,
                        size_t n, const struct imap_fetch_handler *h);

/* Read every answer to the commands sent by imap_uid_fetch_send, calling
 * its handler.  Returns 0 when all got OK, else -1 with the first failure
 * (as imap_uid_fetch_pipelined). */
int imap_uid_fetch_finish(struct imap *im);

/* Whether imap_uid_fetch_send has commands not yet finished. */
bool imap_uid_fetch_is_pending(const struct imap *im);

/* Parse an INTERNALDATE "dd-Mon-yyyy hh:mm:ss +hhmm" (day may be space
 * padded) to Unix seconds.  Returns 0 or -1. */
int imap_parse_internaldate(const char *s, size_t len, int64_t *t_r);

/* --------------------------------------------------------- modified UTF-7 */

/* Encode UTF-8 s[0..len) as a modified UTF-7 mailbox name, appended to
 * out.  Invalid UTF-8 or NUL is an error.  Returns 0 or -1. */
int imap_utf7_encode(const char *s, size_t len, struct buf *out);

/* Decode a modified UTF-7 name to UTF-8, appended to out.  Rejects what
 * RFC 3501 forbids: 8-bit bytes, an unterminated "&", bad base64, non-zero
 * padding bits, "&-" spelled as encoded "&", encoded printable ASCII,
 * unpaired surrogates.  Returns 0 or -1. */
int imap_utf7_decode(const char *s, size_t len, struct buf *out);

#endif
