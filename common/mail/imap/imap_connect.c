/*
 * imap_connect: opening and closing a session, the top of the folder:
 * connect (TCP or TLS), the greeting, CAPABILITY, STARTTLS; LOGOUT.
 */
#include "imap.h"

#include <stdio.h>
#include <stdlib.h>

#include "imap_private.h"

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
