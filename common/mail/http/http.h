/*
 * http: one HTTPS (or loopback HTTP) request through libcurl, for the few
 * REST calls the inputs make: OAuth token endpoints and splunkd's
 * storage/passwords.  Certificates and host names are verified against the
 * system store plus an optional CA file; no redirect is followed; the
 * answer is capped in size and the whole exchange in time.
 */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct http_request {
  const char *url;
  const char *what;  /* names the request in errors, with shown */
  const char *shown; /* the endpoint as errors may show it (no
                        query, no credentials) */
  const char *post;  /* body of a form POST; NULL: GET */
  size_t post_len;
  const char *const *headers; /* "Name: value" lines, NULL-terminated; NULL:
                                 none */
  const char *ca_file;        /* trusted besides the system store; NULL */
  bool no_verify;             /* no certificate check (callers allow it for
                                 a loopback host only) */
  int timeout_ms;             /* whole exchange; must be > 0 */
  const char *user_agent;
};

/* Perform rq.  The answer's body goes to body (whose ceiling, set by the
 * caller with buf_init, is the most accepted), the HTTP status to
 * *status_r.  Returns 0 for any complete answer, or -1 with a message in
 * err ("<what> to <shown> failed: ...", "... response larger than N
 * bytes"). */
int http_perform(const struct http_request *rq, long *status_r,
                 struct buf *body, char *err, size_t errlen);

/* Append name=value, URL-encoded, to a form body ('&' between pairs).
 * Returns 0, or -1 when memory or the body's ceiling ran out.  The
 * encoded copy of value is wiped: it may be a secret. */
int http_form_add(struct buf *form, const char *name, const char *value);

/* True for 127.0.0.1, ::1 (bracketed or not) and localhost. */
bool http_is_loopback_host(const char *host);

#endif
