/*
 * imap: read-only IMAP4rev1 client.  RFC 3501 (IMAP4rev1), RFC 9051
 * (IMAP4rev2, the shared subset), RFC 2595 (STARTTLS), RFC 4959 (SASL-IR),
 * RFC 4616 (PLAIN), RFC 7888 (LITERAL+), Google/Microsoft XOAUTH2.
 *
 * This file is the session: its state and errors, building a command,
 * sending it and running it to its tagged answer, connect and LOGOUT.
 * imap_private.h lists the other files and what each provides.
 *
 *  - imap_set_state() is the only place the session state changes.
 *  - every command goes imap_begin(), imap_send(), imap_wait(), whether
 *    it runs alone (imap_run) or pipelined (UID FETCH).
 */
#include "imap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_private.h"
#include "log.h"

static const char *const state_names[] = {
  [IMAP_STATE_NOT_AUTH] = "not authenticated",
  [IMAP_STATE_AUTH] = "authenticated",
  [IMAP_STATE_EXAMINED] = "examined",
  [IMAP_STATE_LOGOUT] = "logged out",
  [IMAP_STATE_BROKEN] = "broken",
};

const char *imap_state_name(enum imap_state s)
{
  if((unsigned)s < sizeof(state_names) / sizeof(state_names[0]))
    return state_names[s];
  return "?";
}

/* The only place the state changes. */
void imap_set_state(struct imap *im, enum imap_state s)
{
  if(im->state == s)
    return;
  if(im->state == IMAP_STATE_BROKEN)
    return; /* broken is final */
  log_debug("imap %s: %s -> %s", conn_peer(im->c), imap_state_name(im->state),
            imap_state_name(s));
  im->state = s;
}

void imap_seterr(struct imap *im, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(im->err, sizeof(im->err), fmt, ap);
  va_end(ap);
}

/* The connection failed (conn already holds the reason). */
int imap_io_fail(struct imap *im)
{
  if(im->bye[0])
    imap_seterr(im, "%s (server said BYE: %s)", conn_error(im->c), im->bye);
  else
    imap_seterr(im, "%s", conn_error(im->c));
  imap_set_state(im, IMAP_STATE_BROKEN);
  return -1;
}

/* A protocol violation: the stream can no longer be trusted. */
int imap_proto_fail(struct imap *im, const char *fmt, ...)
{
  char msg[CONN_ERR_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  conn_fail(im->c, "%s", msg);
  return imap_io_fail(im);
}

/* Check that a command may run now.  Does not break the session. */
int imap_require(struct imap *im, unsigned mask, const char *cmd)
{
  if(im->state == IMAP_STATE_BROKEN)
    return -1; /* keep the original error */
  if(im->fetch_pending) {
    /* Its answers are still on the wire ahead of ours. */
    imap_seterr(im, "%s at %s: a pipelined UID FETCH is not finished", cmd,
                conn_peer(im->c));
    return -1;
  }
  if(!(mask & (1u << im->state))) {
    imap_seterr(im, "%s not allowed at %s in state %s", cmd, conn_peer(im->c),
                imap_state_name(im->state));
    return -1;
  }
  return 0;
}

/* Start a command: "<tag> <name>" in cmd, the tag recorded as outstanding. */
int imap_begin(struct imap *im, struct buf *cmd, const char *name)
{
  struct imap_tag *tg;
  if(im->ntags >= IMAP_MAX_PIPELINE) {
    imap_seterr(im, "too many commands in flight");
    return -1;
  }
  tg = &im->tags[im->ntags];
  snprintf(tg->tag, sizeof(tg->tag), "A%04u", ++im->tagno);
  tg->cmd = name;
  buf_reset(cmd);
  if(buf_printf(cmd, "%s %s", tg->tag, name) < 0) {
    imap_seterr(im, "out of memory");
    return -1;
  }
  im->ntags++;
  return 0;
}

int imap_send(struct imap *im, struct buf *cmd)
{
  if(buf_puts(cmd, "\r\n") < 0) {
    imap_seterr(im, "command too long for %s", conn_peer(im->c));
    im->ntags--; /* nothing of it was sent */
    return -1;
  }
  if(conn_write(im->c, cmd->data, cmd->len) < 0)
    return imap_io_fail(im);
  return 0;
}

/* Run a simple command (already in cmd) to completion. */
int imap_run(struct imap *im, struct buf *cmd)
{
  im->cmd_failed = false;
  if(imap_send(im, cmd) < 0)
    return -1;
  if(imap_wait(im, false) < 0)
    return -1;
  return im->cmd_failed ? -1 : 0;
}

/* Run a command without arguments to completion. */
int imap_run_simple(struct imap *im, const char *name)
{
  struct buf cmd;
  int r;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, name);
  if(r == 0)
    r = imap_run(im, &cmd);
  buf_free(&cmd);
  return r;
}

static bool quotable(const char *s)
{
  for(; *s; s++)
    if(*s == '\r' || *s == '\n' || (unsigned char)*s >= 0x80)
      return false;
  return true;
}

/* Append " <s>" as a quoted string or a literal.  A synchronizing literal
 * sends what cmd holds and waits for "+".  Returns 0, or -1 (the error is
 * set; the command may have completed with NO). */
int imap_put_astring(struct imap *im, struct buf *cmd, const char *s)
{
  size_t n = strlen(s);
  if(quotable(s)) {
    if(buf_puts(cmd, " \"") < 0)
      goto toolong;
    for(; *s; s++)
      if(((*s == '"' || *s == '\\') && buf_putc(cmd, '\\') < 0) ||
         buf_putc(cmd, *s) < 0)
        goto toolong;
    if(buf_putc(cmd, '"') < 0)
      goto toolong;
    return 0;
  }
  if(imap_has_capability(im, "LITERAL+")) {
    if(buf_printf(cmd, " {%zu+}\r\n", n) < 0 || buf_append(cmd, s, n) < 0)
      goto toolong;
    return 0;
  }
  if(buf_printf(cmd, " {%zu}\r\n", n) < 0)
    goto toolong;
  if(conn_write(im->c, cmd->data, cmd->len) < 0)
    return imap_io_fail(im);
  memset(cmd->data, 0, cmd->len);
  buf_reset(cmd);
  {
    int r = imap_wait(im, true);
    if(r < 0)
      return -1;
    if(r == 0) { /* answered before the literal: rejected */
      if(!im->cmd_failed)
        imap_seterr(im, "server at %s ended the command before the literal",
                    conn_peer(im->c));
      return -1;
    }
  }
  if(buf_append(cmd, s, n) < 0)
    goto toolong;
  return 0;
toolong:
  imap_seterr(im, "argument too long for %s", conn_peer(im->c));
  return -1;
}

/* Abandon a command we could not finish building. */
int imap_abandon(struct imap *im)
{
  if(im->ntags > 0 && im->state != IMAP_STATE_BROKEN) {
    /* The tag may be half sent; the stream cannot be trusted any more. */
    char e[CONN_ERR_LEN];
    snprintf(e, sizeof(e), "%s", im->err);
    conn_fail(im->c, "%s", e);
    imap_set_state(im, IMAP_STATE_BROKEN);
  }
  return -1;
}

/* ------------------------------------------------------------ connect */

struct imap *imap_connect(const struct imap_opts *o, char *err, size_t errlen)
{
  struct imap *im;
  struct conn_opts co;
  enum rkind k;
  struct itok t;
  const char *w;
  size_t n;

  if(errlen > 0)
    err[0] = '\0';
  im = calloc(1, sizeof(*im));
  if(!im) {
    snprintf(err, errlen, "imap: out of memory");
    return NULL;
  }
  im->allow_plaintext_auth = o->allow_plaintext_auth;
  im->max_response =
      o->max_response ? o->max_response : IMAP_DEFAULT_MAX_RESPONSE;
  im->max_body = o->max_body ? o->max_body : IMAP_DEFAULT_MAX_BODY;
  buf_init(&im->resp, im->max_response + 16);
  /* Storage from the start, so a response that assembled nothing (an
   * empty line, or a "* SEARCH" streamed instead) is "" and not NULL to
   * the tokenizer and the error messages that quote it. */
  if(buf_reserve(&im->resp, 0) < 0) {
    snprintf(err, errlen, "imap: out of memory");
    imap_free(im);
    return NULL;
  }
  co = o->conn;
  co.tls = o->tls == IMAP_TLS_IMPLICIT ? CONN_TLS_IMPLICIT : CONN_TLS_NONE;
  co.max_line = IMAP_LINE_CHUNK;
  im->c = conn_connect(&co, err, errlen);
  if(!im->c) {
    imap_free(im);
    return NULL;
  }
  im->state = IMAP_STATE_NOT_AUTH;

  /* Greeting: * OK / * PREAUTH / * BYE */
  if(imap_read_response(im, &k) < 0)
    goto fail;
  t.p = im->resp.data;
  t.end = im->resp.data + im->resp.len;
  if(k != R_UNTAGGED || !itok_eat(&t, '*') || itok_sp(&t) < 0 ||
     itok_atom(&t, true, &w, &n) < 0) {
    imap_proto_fail(im, "not an IMAP greeting from %s: %.60s", conn_peer(im->c),
                    im->resp.data);
    goto fail;
  }
  if(imap_word_eq(w, n, "BYE")) {
    imap_seterr(im, "IMAP server %s refused the connection: %s",
                conn_peer(im->c), im->resp.data);
    goto fail;
  }
  if(!imap_word_eq(w, n, "OK") && !imap_word_eq(w, n, "PREAUTH")) {
    imap_proto_fail(im, "not an IMAP greeting from %s: %.60s", conn_peer(im->c),
                    im->resp.data);
    goto fail;
  }
  if(imap_handle_untagged(im) < 0)
    goto fail;
  if(imap_word_eq(w, n, "PREAUTH"))
    imap_set_state(im, IMAP_STATE_AUTH);
  if(!im->caps_known && imap_capability_cmd(im) < 0)
    goto fail;

  if(o->tls == IMAP_TLS_STARTTLS && imap_starttls(im) < 0)
    goto fail;
  return im;
fail:
  snprintf(err, errlen, "%s", im->err[0] ? im->err : "IMAP connect failed");
  imap_free(im);
  return NULL;
}

void imap_free(struct imap *im)
{
  if(!im)
    return;
  conn_close(im->c);
  buf_free(&im->resp);
  imap_bodystructure_free(im->cur.bodystructure);
  free(im->caps);
  free(im);
}

int imap_logout(struct imap *im)
{
  int r;
  if(imap_require(im,
                  ST(IMAP_STATE_NOT_AUTH) | ST(IMAP_STATE_AUTH) |
                      ST(IMAP_STATE_EXAMINED),
                  "LOGOUT") < 0)
    return -1;
  r = imap_run_simple(im, "LOGOUT");
  if(r == 0)
    imap_set_state(im, IMAP_STATE_LOGOUT);
  return r;
}

const char *imap_error(const struct imap *im)
{
  return im->err;
}
enum imap_state imap_get_state(const struct imap *im)
{
  return im->state;
}
bool imap_is_verified(const struct imap *im)
{
  return conn_is_verified(im->c);
}
bool imap_timed_out(const struct imap *im)
{
  return conn_timed_out(im->c);
}
