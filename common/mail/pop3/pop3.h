/*
 * pop3: a read-only POP3 client (RFC 1939, CAPA from RFC 2449, STLS from
 * RFC 2595, AUTH from RFC 5034 with the XOAUTH2 mechanism), built on conn.
 *
 * Read-only by construction: there is no DELE (nor RSET/TOP/APOP); QUIT
 * therefore never removes anything.  Messages are streamed: RETR hands
 * the dot-unstuffed message to a callback in pieces with CRLF line ends
 * and stops delivering at max_message bytes.
 *
 * Errors: functions return 0 or -1; pop3_error() gives one line naming
 * the server and the reason, e.g. "PASS failed at 127.0.0.1:995: -ERR
 * [AUTH] Authentication failed.".  A -ERR reply leaves the session usable;
 * an I/O or protocol error breaks it, and every later call fails at once.
 */
#ifndef POP3_POP3_H
#define POP3_POP3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

#define POP3_DEFAULT_MAX_MESSAGE (64ull * 1024 * 1024)
#define POP3_LINE_CHUNK          (64 * 1024) /* conn max_line */
#define POP3_MAX_UID_LEN         70          /* RFC 1939: 1-70 chars */
/* RETR: bytes past max_message read and dropped to keep the session; a
 * message still going after that breaks it (a server sending without end). */
#define POP3_MAX_DRAIN (16ull * 1024 * 1024)

enum pop3_tls {
  POP3_TLS_IMPLICIT = 0, /* TLS from the first byte (port 995) */
  POP3_TLS_STLS,         /* plain connect, then STLS, which must work */
  POP3_TLS_NONE,         /* plain text; auth needs allow_plaintext_auth */
};

struct pop3_opts {
  struct conn_opts conn; /* conn.tls and conn.max_line are set here */
  enum pop3_tls tls;
  bool allow_plaintext_auth; /* permit USER/PASS, AUTH without verified TLS */
  uint64_t max_message;      /* RETR limit; 0 = POP3_DEFAULT_MAX_MESSAGE */
};

enum pop3_state {
  POP3_STATE_AUTHORIZATION = 0,
  POP3_STATE_TRANSACTION,
  POP3_STATE_QUIT,
  POP3_STATE_BROKEN,
};

struct pop3;

/* Connect, read the +OK greeting, ask CAPA (a server without CAPA is
 * fine: no capabilities are then known), and do STLS when opts->tls says
 * so (CAPA is asked again over TLS).  Returns the session or NULL with the
 * reason in err. */
struct pop3 *pop3_connect(const struct pop3_opts *opts, char *err,
                          size_t errlen);

/* Close without QUIT and free.  NULL is ok. */
void pop3_free(struct pop3 *p);

/* QUIT.  Nothing was marked deleted, so nothing is removed.  0 or -1. */
int pop3_quit(struct pop3 *p);

const char *pop3_error(const struct pop3 *p);
enum pop3_state pop3_get_state(const struct pop3 *p);
bool pop3_is_verified(const struct pop3 *p);
/* True when the session broke because the server went quiet for a whole
 * timeout period (conn_timed_out). */
bool pop3_timed_out(const struct pop3 *p);

/* Whether CAPA listed `capa` as a line's first word (case-insensitive,
 * e.g. "UIDL", "STLS", "SASL"). */
bool pop3_has_capa(const struct pop3 *p, const char *capa);
/* Whether the SASL capability line lists mechanism `mech`. */
bool pop3_has_sasl(const struct pop3 *p, const char *mech);

/* USER + PASS.  Needs the AUTHORIZATION state and verified TLS (unless
 * allow_plaintext_auth).  CR, LF or NUL in either is refused.  Success
 * moves to TRANSACTION. */
int pop3_login(struct pop3 *p, const char *user, const char *pass);

/* AUTH XOAUTH2 <base64("user=U^Aauth=Bearer T^A^A")>.  When the server
 * answers with a "+ " challenge (the error JSON), it is answered with an
 * empty line and its text is added to the error. */
int pop3_auth_xoauth2(struct pop3 *p, const char *user, const char *token);

/* STAT: number of messages and their total size.  TRANSACTION only. */
int pop3_stat(struct pop3 *p, uint32_t *count_r, uint64_t *size_r);

/* Per message of UIDL / LIST.  Return nonzero to stop delivering (the
 * listing is still read to its end, then the call returns -1 "aborted by
 * caller").  uid is NUL-terminated, 1..70 printable ASCII bytes, valid
 * only during the call. */
typedef int pop3_uidl_fn(void *ctx, uint32_t msgno, const char *uid);
typedef int pop3_list_fn(void *ctx, uint32_t msgno, uint64_t size);

/* UIDL for all messages.  TRANSACTION only. */
int pop3_uidl(struct pop3 *p, pop3_uidl_fn *fn, void *ctx);
/* LIST for all messages (use it to skip messages over a size limit before
 * RETR).  TRANSACTION only. */
int pop3_list(struct pop3 *p, pop3_list_fn *fn, void *ctx);

/* Chunk of a retrieved message; return nonzero to abort (the session is
 * then broken: the rest of the message is still on the wire). */
typedef int pop3_data_fn(void *ctx, const void *data, size_t len);

/* RETR msgno: the message, dot-unstuffed, every line ending in CRLF, to
 * fn in order.  If it exceeds max_message, delivery stops at the limit,
 * up to POP3_MAX_DRAIN more bytes are read and dropped, and -1 is returned
 * ("larger than N bytes"); the session stays usable (or, when the message
 * went on past the drain too, is broken) and what fn got must be
 * discarded.  TRANSACTION only. */
int pop3_retr(struct pop3 *p, uint32_t msgno, pop3_data_fn *fn, void *ctx);

/* Whether the last pop3_retr failed because the message was over
 * max_message (whether or not the session survived it). */
bool pop3_retr_too_large(const struct pop3 *p);

#endif
