/*
 * imap: read-only IMAP4rev1 client.  RFC 3501 (IMAP4rev1), RFC 9051
 * (IMAP4rev2, the shared subset), RFC 2595 (STARTTLS), RFC 4959 (SASL-IR),
 * RFC 4616 (PLAIN), RFC 7888 (LITERAL+), Google/Microsoft XOAUTH2.
 *
 * This file is the bottom of the session: its state, errors and
 * capabilities, and building and sending a command.  It calls no other
 * file of the folder but the parser's; imap_private.h lists the others.
 * imap_private.h lists the other files and what each provides.
 *
 *  - imap_set_state() is the only place the session state changes.
 *  - every command goes imap_begin(), imap_send(), imap_wait(), whether
 *    it runs alone (imap_run) or pipelined (UID FETCH).
 */
#include "imap.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

int imap_set_caps(struct imap *im, const char *s, size_t n)
{
  char *c = malloc(n + 1);
  if(!c)
    return -1;
  for(size_t i = 0; i < n; i++)
    c[i] = (char)toupper((unsigned char)s[i]);
  c[n] = '\0';
  free(im->caps);
  im->caps = c;
  im->caps_known = true;
  return 0;
}

bool imap_has_capability(const struct imap *im, const char *cap)
{
  size_t n = strlen(cap);
  const char *p = im->caps;
  if(!p || n == 0)
    return false;
  while(*p) {
    const char *e = strchr(p, ' ');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if(len == n && strncasecmp(p, cap, n) == 0)
      return true;
    if(!e)
      break;
    p = e + 1;
  }
  return false;
}

const char *imap_capabilities(const struct imap *im)
{
  return im->caps ? im->caps : "";
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
