/*
 * imap_private: what the files of common/mail/imap share.  Not part of the
 * public interface (that is imap.h).
 *
 * Who provides what, top down: each file calls only the ones below it
 * (the tokenizer, BODYSTRUCTURE and UTF-7 files are at the bottom).
 *   imap_connect.c    connect, the greeting, STARTTLS at connect; LOGOUT
 *   imap_auth.c       the CAPABILITY command, STARTTLS, LOGIN,
 *                     AUTHENTICATE (SASL PLAIN, XOAUTH2)
 *   imap_commands.c   LIST, EXAMINE, UID SEARCH, UID FETCH
 *   imap_response.c   the reader: one response with its literals (message
 *                     bodies and SEARCH results streamed), tagged answers,
 *                     imap_wait(); running a command to its tagged answer,
 *                     arguments as literals (which wait for "+")
 *   imap_untagged.c   untagged data: response codes, FETCH items, LIST
 *   imap.c            the session: state, errors, capabilities, building
 *                     and sending a command
 *   imap_parse.c      the tokenizer
 *   imap_bodystructure.c, imap_utf7.c   BODYSTRUCTURE, modified UTF-7
 *
 * The tokenizer: a cursor walks forward over one assembled response,
 * [p, end).  Literals appear in it as "{N}\r\n" followed by N raw bytes
 * (the client reader writes them that way), and N is checked against what
 * is left before any byte is looked at.  Every function returns 0 and
 * advances, or -1 and leaves the cursor somewhere inside the failed token.
 */
#ifndef IMAP_IMAP_PRIVATE_H
#define IMAP_IMAP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap.h"

struct itok {
  const char *p;
  const char *end;
};

/* Next byte, or -1 at the end. */
int itok_peek(const struct itok *t);
/* Consume c if it is next. */
bool itok_eat(struct itok *t, char c);
/* Consume one or more spaces (servers differ in how many they send). */
int itok_sp(struct itok *t);
/* Consume NIL (any case) if it is next as a whole token. */
bool itok_nil(struct itok *t);
/* Decimal number in [0, max]. */
int itok_number(struct itok *t, uint64_t max, uint64_t *v_r);
/* Atom (also flags like \Seen): bytes 0x21-0x7e except ( ) { " and,
 * when stop_bracket, ].  Points into the input; not NUL-terminated. */
int itok_atom(struct itok *t, bool stop_bracket, const char **s_r, size_t *n_r);
/* Quoted string or literal, copied to a NUL-terminated malloc'd string
 * (*len_r excludes the NUL; a literal may contain NUL bytes, which are
 * refused).  NIL is an error. */
int itok_string(struct itok *t, char **s_r, size_t *len_r);
/* NIL (-> *s_r = NULL) or a string. */
int itok_nstring(struct itok *t, char **s_r, size_t *len_r);
/* Atom or string, copied. */
int itok_astring(struct itok *t, char **s_r, size_t *len_r);
/* Skip one value of any kind: atom, number, string, literal, NIL or a
 * parenthesized list nested at most max_depth deep. */
int itok_skip_value(struct itok *t, unsigned max_depth);

/* Case-insensitive compare of s[0..n) with the NUL-terminated word. */
bool imap_word_eq(const char *s, size_t n, const char *word);

/* ---- the session (imap.c, shared by all the client files) ---- */

#define IMAP_TAG_LEN          16
#define IMAP_CMD_MAX          (256 * 1024)
#define IMAP_UIDSET_MAX       8192
#define IMAP_FETCH_SKIP_DEPTH (3 * IMAP_BODY_MAX_DEPTH + 10)

struct imap_tag {
  char tag[IMAP_TAG_LEN];
  const char *cmd; /* static command name, for error messages */
};

enum rkind { R_UNTAGGED, R_TAGGED, R_CONT, R_CONSUMED };

struct imap {
  struct conn *c;
  enum imap_state state;
  bool allow_plaintext_auth;
  size_t max_response;
  uint64_t max_body;
  struct buf resp; /* the response being assembled */
  char *caps;      /* "IMAP4REV1 STARTTLS ..." upper-case */
  bool caps_known;
  unsigned tagno;
  struct imap_tag tags[IMAP_MAX_PIPELINE];
  size_t ntags;
  bool cmd_failed; /* a tagged NO/BAD since the command began */
  char err[CONN_ERR_LEN];
  char bye[200]; /* text of an untagged BYE */

  /* handlers of the running command */
  struct imap_mailbox_status *mbox;
  bool mbox_read_write;
  imap_uid_fn *search_fn;
  void *search_ctx;
  bool search_stop;
  bool search_active;
  imap_list_fn *list_fn;
  void *list_ctx;
  bool list_stop;
  const struct imap_fetch_handler *fetch_h;
  bool fetch_pending; /* imap_uid_fetch_send'd, not yet finished */
  bool fetch_stop;
  bool fetch_err_set;
  struct imap_message cur; /* FETCH response being read */
  bool cur_active;
  char sasl_msg[IMAP_MAX_SASL_CHALLENGE + 1];
};

/* The state bit of s, for the masks imap_require() takes. */
#define ST(s) (1u << (s))

/* The only place the state changes; BROKEN is final. */
void imap_set_state(struct imap *im, enum imap_state s);
/* Set the error message; the session stays usable. */
void imap_seterr(struct imap *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The connection failed (conn already holds the reason): the session is
 * BROKEN.  Returns -1. */
int imap_io_fail(struct imap *im);
/* A protocol violation: the stream can no longer be trusted, the session
 * is BROKEN.  Returns -1. */
int imap_proto_fail(struct imap *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 0 if a command may run now (state in mask, no pipelined FETCH pending),
 * else -1 with the error set.  Does not break the session. */
int imap_require(struct imap *im, unsigned mask, const char *cmd);

/* Start a command: "<tag> <name>" in cmd, the tag recorded as outstanding.
 * name must be static (kept for error messages). */
int imap_begin(struct imap *im, struct buf *cmd, const char *name);
/* Send cmd with its CRLF.  -1 with nothing outstanding when it does not
 * fit, -1 and BROKEN when the write failed. */
int imap_send(struct imap *im, struct buf *cmd);
/* Abandon a command we could not finish building: its tag may be half
 * sent, so the session is BROKEN.  Returns -1. */
int imap_abandon(struct imap *im);
/* Replace the capability list with s[0..n) (upper-cased).  -1: memory. */
int imap_set_caps(struct imap *im, const char *s, size_t n);

/* ---- imap_response.c ---- */

/* Read one complete response into im->resp; *kind_r says what it is
 * (R_CONSUMED: a "* SEARCH" handed to im->search_fn as it streamed in).
 * Body literals of a running FETCH go to im->fetch_h and stand as NIL in
 * im->resp.  -1 and BROKEN on a read error or a protocol violation. */
int imap_read_response(struct imap *im, enum rkind *kind_r);
/* Read until all outstanding tags are answered (returns 0) or, when
 * want_cont, a continuation request arrives (returns 1). -1 on error. */
int imap_wait(struct imap *im, bool want_cont);
/* Send a command already in cmd and read to its tagged answer.  -1 on a
 * NO/BAD (error set) or a broken session. */
int imap_run(struct imap *im, struct buf *cmd);
/* imap_begin() and imap_run() for a command without arguments. */
int imap_run_simple(struct imap *im, const char *name);
/* Append " <s>" as a quoted string or a literal.  A synchronizing literal
 * sends what cmd holds and waits for "+".  Returns 0, or -1 (the error is
 * set; the command may have completed with NO). */
int imap_put_astring(struct imap *im, struct buf *cmd, const char *s);

/* ---- imap_untagged.c ---- */

/* Act on the untagged response in im->resp.  -1 only when the session
 * broke. */
int imap_handle_untagged(struct imap *im);
/* Act on the response codes we use in "[CODE args] text" at p..end. */
int imap_handle_resp_code(struct imap *im, const char *p, const char *end);
/* Read the name of a FETCH item ("UID", "BODY[1.2]<0>"): up to a space or
 * paren, with [...] taken whole. */
int imap_fetch_item_name(struct itok *t, const char **s_r, size_t *n_r);
/* Is item name s[0..n) one whose value is message data we stream?  Puts
 * the section ("" for RFC822 / BODY[]) in sec. */
bool imap_body_item(const char *s, size_t n, char *sec, size_t seclen);
/* Start im->cur for message seq unless a response is already under way. */
void imap_cur_begin(struct imap *im, uint32_t seq);

/* ---- imap_auth.c ---- */

/* CAPABILITY; -1 also when the server sent none. */
int imap_capability_cmd(struct imap *im);
/* STARTTLS, the TLS handshake, and CAPABILITY again (what was learnt in
 * clear text is forgotten). */
int imap_starttls(struct imap *im);

#endif
