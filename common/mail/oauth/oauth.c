/*
 * oauth.c: token requests (RFC 6749 4.4 and 6) over libcurl, answers
 * parsed with cJSON, and the 0600 token cache.  See oauth.h for the
 * contract; the comments here explain the choices.
 */
#include "oauth.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "buf.h"
#include "file.h"
#include "log.h"
#include "util.h"

#define OAUTH_URL_MAX       2048                      /* token endpoint URL */
#define OAUTH_FORM_MAX      (4 * OAUTH_MAX_TOKEN_LEN) /* request body */
#define OAUTH_CACHE_VERSION 1
#define OAUTH_LOCK_POLL_MS  50

/* ------------------------------------------------------------- small helpers
 */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;

  if(!err || !errlen)
    return;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* Overwrite then free: for every string that held a secret. */
static void wipe_free(char *s)
{
  if(s) {
    explicit_bzero(s, strlen(s));
    free(s);
  }
}

static void wipe_buf(struct buf *b)
{
  if(b->data)
    explicit_bzero(b->data, b->cap);
  buf_free(b);
}

/* cJSON_Delete does not clear memory, and a parsed answer or a cache
 * document holds tokens in its string values. */
static void json_wipe_delete(cJSON *item)
{
  for(cJSON *c = item; c; c = c->next) {
    if(c->child)
      json_wipe_delete(c->child);
    if(c->valuestring)
      explicit_bzero(c->valuestring, strlen(c->valuestring));
    c->child = NULL;
  }
  /* The children were wiped above; now free the whole tree once. */
  cJSON_Delete(item);
}

static int64_t now_s(void)
{
  return (int64_t)time(NULL);
}

/* Replace every occurrence of secret in s (NUL-terminated, capacity cap)
 * with "[redacted]".  Secrets shorter than 4 bytes are left alone: they
 * would match ordinary words, and such a "secret" protects nothing. */
static void redact(char *s, size_t cap, const char *secret)
{
  static const char mark[] = "[redacted]";
  size_t slen, mlen = sizeof(mark) - 1;
  char *p, *from = s;

  if(!s || !cap || !secret)
    return;
  slen = strlen(secret);
  if(slen < 4)
    return;
  /* Search on after each mark, in case the secret occurs inside it. */
  while((p = strstr(from, secret)) != NULL) {
    size_t tail = strlen(p + slen);
    size_t head = (size_t)(p - s);
    if(head + mlen + tail + 1 > cap)
      tail = cap > head + mlen + 1 ? cap - head - mlen - 1 : 0;
    if(head + mlen + 1 > cap) { /* no room even for the mark */
      *p = '\0';
      return;
    }
    memmove(p + mlen, p + slen, tail);
    p[mlen + tail] = '\0';
    memcpy(p, mark, mlen);
    from = p + mlen;
  }
}

/* Copy server text for an error message: at most OAUTH_MAX_SERVER_TEXT
 * bytes, control characters replaced, so a hostile answer can neither
 * flood the log nor forge lines. */
static void server_text(char *out, size_t outlen, const char *in)
{
  size_t i, n = 0;

  for(i = 0; in[i] && n + 1 < outlen && i < OAUTH_MAX_SERVER_TEXT; i++) {
    unsigned char ch = (unsigned char)in[i];
    out[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
  }
  out[n] = '\0';
}

/* A token as we accept it: 1..OAUTH_MAX_TOKEN_LEN printable ASCII bytes
 * without spaces.  RFC 6750's b64token is stricter; JWTs and the opaque
 * Microsoft and Google tokens fit.  CR/LF would break the SASL exchange
 * and a space the "Bearer <token>" syntax. */
static bool token_chars_ok(const char *s)
{
  size_t n = 0;

  for(; *s; s++, n++)
    if((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
      return false;
  return n > 0 && n <= OAUTH_MAX_TOKEN_LEN;
}

static char *xstrdup(const char *s)
{
  return s ? strdup(s) : NULL;
}

const char *oauth_grant_name(enum oauth_grant g)
{
  return g == OAUTH_GRANT_REFRESH_TOKEN ? "refresh_token"
                                        : "client_credentials";
}

/* ------------------------------------------------------------------ endpoint
 */

struct endpoint {
  char url[OAUTH_URL_MAX];   /* requested as is */
  char shown[OAUTH_URL_MAX]; /* for messages: scheme://host[:port]/path */
};

static int resolve_endpoint(const struct oauth_config *cfg, struct endpoint *ep,
                            char *err, size_t errlen)
{
  char raw[OAUTH_URL_MAX];
  CURLU *u = NULL;
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  char *user = NULL, *pass = NULL, *frag = NULL;
  int rc = -1;

  if(cfg->token_url && *cfg->token_url) {
    if((size_t)snprintf(raw, sizeof(raw), "%s", cfg->token_url) >=
       sizeof(raw)) {
      seterr(err, errlen, "token URL longer than %d bytes", OAUTH_URL_MAX - 1);
      return -1;
    }
  }
  else if(cfg->authority && *cfg->authority) {
    size_t n = strlen(cfg->authority);
    while(n > 0 && cfg->authority[n - 1] == '/')
      n--;
    if(n == 0 || strchr(cfg->authority, '?') || strchr(cfg->authority, '#')) {
      if(strchr(cfg->authority, '@'))
        seterr(err, errlen, "OAuth authority is not a base URL");
      else
        seterr(err, errlen, "OAuth authority '%.200s' is not a base URL",
               cfg->authority);
      return -1;
    }
    if((size_t)snprintf(raw, sizeof(raw), "%.*s%s", (int)n, cfg->authority,
                        OAUTH_M365_TOKEN_PATH) >= sizeof(raw)) {
      seterr(err, errlen, "OAuth authority longer than %d bytes",
             OAUTH_URL_MAX - 200);
      return -1;
    }
  }
  else {
    seterr(err, errlen, "no OAuth token URL or authority configured");
    return -1;
  }

  u = curl_url();
  if(!u) {
    seterr(err, errlen, "out of memory");
    return -1;
  }
  if(curl_url_set(u, CURLUPART_URL, raw, 0) != CURLUE_OK ||
     curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
     curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
     curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
    /* A URL with '@' may carry a password: then it is not repeated. */
    if(strchr(raw, '@'))
      seterr(err, errlen, "token URL is not a valid URL");
    else
      seterr(err, errlen, "token URL '%.200s' is not a valid URL", raw);
    goto out;
  }
  curl_url_get(u, CURLUPART_PORT, &port, 0);
  curl_url_get(u, CURLUPART_USER, &user, 0);
  curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
  curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
  if(user || pass) {
    /* A secret in the URL would end up in messages and proxies' logs. */
    seterr(err, errlen,
           "token URL for host %s must not contain a user name "
           "or password",
           host);
    goto out;
  }
  if(frag) {
    seterr(err, errlen, "token URL for host %s must not contain a fragment",
           host);
    goto out;
  }
  snprintf(ep->shown, sizeof(ep->shown), "%s://%s%s%s%s", scheme, host,
           port ? ":" : "", port ? port : "", path);
  if(strcasecmp(scheme, "https") == 0) {
    /* ok */
  }
  else if(strcasecmp(scheme, "http") == 0) {
    /* Plain HTTP would send the client secret in clear text.  Only a
     * server on this machine (tests, a local token broker) may use it. */
    if(!http_is_loopback_host(host)) {
      seterr(err, errlen,
             "refusing plain http:// token URL %s: only https "
             "is allowed except for 127.0.0.1, ::1 and localhost",
             ep->shown);
      goto out;
    }
  }
  else {
    seterr(err, errlen, "token URL %s: scheme '%s' is not https", ep->shown,
           scheme);
    goto out;
  }
  snprintf(ep->url, sizeof(ep->url), "%s", raw);
  rc = 0;
out:
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(user);
  curl_free(pass);
  curl_free(frag);
  curl_url_cleanup(u);
  return rc;
}

int oauth_token_endpoint(const struct oauth_config *cfg, char *out,
                         size_t outlen, char *err, size_t errlen)
{
  struct endpoint ep;

  if(resolve_endpoint(cfg, &ep, err, errlen) < 0)
    return -1;
  if((size_t)snprintf(out, outlen, "%s", ep.url) >= outlen) {
    seterr(err, errlen, "token URL %s does not fit in %zu bytes", ep.shown,
           outlen);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------------- HTTP
 */

/* POST the token request and collect the answer (capped).  Returns 0 with
 * the HTTP status, or -1 when no complete answer arrived. */
static int http_token_request(const struct oauth_config *cfg,
                              const struct endpoint *ep,
                              const char *refresh_token, const char *scope,
                              long *status_r, struct buf *resp, char *err,
                              size_t errlen)
{
  static const char *const hdrs[] = { "Accept: application/json", NULL };
  struct http_request rq;
  struct buf form;
  int rc = -1;

  buf_init(&form, OAUTH_FORM_MAX);
  /* client_secret_post: what MSAL and the SOAR connector send, and what
   * both Microsoft and Google accept. */
  if(http_form_add(&form, "grant_type", oauth_grant_name(cfg->grant)) < 0 ||
     http_form_add(&form, "client_id", cfg->client_id) < 0 ||
     (cfg->client_secret && *cfg->client_secret &&
      http_form_add(&form, "client_secret", cfg->client_secret) < 0) ||
     (refresh_token &&
      http_form_add(&form, "refresh_token", refresh_token) < 0) ||
     (scope && *scope && http_form_add(&form, "scope", scope) < 0)) {
    seterr(err, errlen,
           "token request to %s: request body larger than %d "
           "bytes",
           ep->shown, OAUTH_FORM_MAX);
    goto out;
  }
  memset(&rq, 0, sizeof(rq));
  rq.url = ep->url;
  rq.what = "token request";
  rq.shown = ep->shown;
  rq.post = form.data ? form.data : "";
  rq.post_len = form.len;
  rq.headers = hdrs;
  rq.ca_file = cfg->ca_file;
  rq.timeout_ms =
      cfg->timeout_ms > 0 ? cfg->timeout_ms : OAUTH_DEFAULT_TIMEOUT_MS;
  rq.user_agent = "ta-dmarc-c-oauth/1";
  rc = http_perform(&rq, status_r, resp, err, errlen);
out:
  wipe_buf(&form);
  return rc;
}

/* ------------------------------------------------------------ token answers */

struct answer {
  char *access_token;
  char *token_type;
  char *refresh_token; /* NULL unless the server sent (rotated) one */
  int64_t expires_in;  /* -1 when absent */
};

static void answer_wipe(struct answer *a)
{
  wipe_free(a->access_token);
  wipe_free(a->token_type);
  wipe_free(a->refresh_token);
  memset(a, 0, sizeof(*a));
}

/* expires_in: a JSON number, or a string of digits (Azure AD v1.0 and
 * some proxies send "3599").  Negative or non-numeric is an error;
 * anything above OAUTH_MAX_LIFETIME_S is cut to it. */
static int parse_expires_in(const cJSON *v, int64_t *out)
{
  if(cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if(!isfinite(d) || d < 0)
      return -1;
    *out = d > (double)OAUTH_MAX_LIFETIME_S ? OAUTH_MAX_LIFETIME_S : (int64_t)d;
    return 0;
  }
  if(cJSON_IsString(v)) {
    uint64_t u;
    if(util_parse_u64(v->valuestring, 0, UINT64_MAX, &u) < 0)
      return -1;
    *out =
        u > (uint64_t)OAUTH_MAX_LIFETIME_S ? OAUTH_MAX_LIFETIME_S : (int64_t)u;
    return 0;
  }
  return -1;
}

/* Turn an error answer (RFC 6749 5.2) or an unusable one into a message
 * naming the endpoint, the HTTP status and the OAuth error code. */
static void error_answer(const struct endpoint *ep, long status,
                         const cJSON *doc, char *err, size_t errlen)
{
  const cJSON *code =
      doc ? cJSON_GetObjectItemCaseSensitive(doc, "error") : NULL;
  const cJSON *desc =
      doc ? cJSON_GetObjectItemCaseSensitive(doc, "error_description") : NULL;
  char c[80], d[OAUTH_MAX_SERVER_TEXT + 1];

  if(cJSON_IsString(code) && code->valuestring[0]) {
    server_text(c, sizeof(c), code->valuestring);
    if(cJSON_IsString(desc) && desc->valuestring[0]) {
      server_text(d, sizeof(d), desc->valuestring);
      seterr(err, errlen, "token request to %s failed: HTTP %ld: %s: %s",
             ep->shown, status, c, d);
    }
    else
      seterr(err, errlen, "token request to %s failed: HTTP %ld: %s", ep->shown,
             status, c);
  }
  else if(status != 200)
    seterr(err, errlen, "token request to %s failed: HTTP %ld%s", ep->shown,
           status,
           doc ? " (no OAuth error code in the answer)"
               : " (answer is not JSON)");
  else
    seterr(err, errlen, "token request to %s: answer is not a JSON object",
           ep->shown);
}

static int parse_answer(const struct endpoint *ep, long status,
                        const struct buf *body, struct answer *a, char *err,
                        size_t errlen)
{
  cJSON *doc = NULL;
  const cJSON *v;
  int rc = -1;

  memset(a, 0, sizeof(*a));
  a->expires_in = -1;
  if(body->len)
    doc = cJSON_ParseWithLength(body->data, body->len);
  if(doc && !cJSON_IsObject(doc)) {
    json_wipe_delete(doc);
    doc = NULL;
  }
  if(status != 200 || !doc || cJSON_GetObjectItemCaseSensitive(doc, "error")) {
    if(status >= 300 && status < 400)
      seterr(err, errlen,
             "token request to %s: HTTP %ld redirect refused "
             "(the token URL must be the endpoint itself)",
             ep->shown, status);
    else
      error_answer(ep, status, doc, err, errlen);
    goto out;
  }

  v = cJSON_GetObjectItemCaseSensitive(doc, "access_token");
  if(!cJSON_IsString(v) || !token_chars_ok(v->valuestring)) {
    seterr(err, errlen, "token request to %s: answer has %s", ep->shown,
           !v ? "no access_token"
              : "an invalid access_token (not a string "
                "of printable characters, or too long)");
    goto out;
  }
  a->access_token = xstrdup(v->valuestring);

  v = cJSON_GetObjectItemCaseSensitive(doc, "token_type");
  if(v && !cJSON_IsString(v)) {
    seterr(err, errlen, "token request to %s: token_type is not a string",
           ep->shown);
    goto out;
  }
  /* Only bearer tokens can be used with XOAUTH2.  RFC 6749 makes the
   * field mandatory; a missing one is taken as Bearer, as MSAL does. */
  if(v && strcasecmp(v->valuestring, "bearer") != 0) {
    char t[40];
    server_text(t, sizeof(t), v->valuestring);
    seterr(err, errlen, "token request to %s: token_type '%s' is not Bearer",
           ep->shown, t);
    goto out;
  }
  a->token_type = xstrdup(v ? v->valuestring : "Bearer");

  v = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");
  if(v && parse_expires_in(v, &a->expires_in) < 0) {
    seterr(err, errlen,
           "token request to %s: expires_in is not a "
           "non-negative number",
           ep->shown);
    goto out;
  }

  v = cJSON_GetObjectItemCaseSensitive(doc, "refresh_token");
  if(v && !cJSON_IsNull(v)) {
    if(!cJSON_IsString(v) || !token_chars_ok(v->valuestring)) {
      seterr(err, errlen,
             "token request to %s: answer has an invalid "
             "refresh_token",
             ep->shown);
      goto out;
    }
    a->refresh_token = xstrdup(v->valuestring);
  }
  if(!a->access_token || !a->token_type ||
     (v && !cJSON_IsNull(v) && !a->refresh_token)) {
    seterr(err, errlen, "out of memory");
    goto out;
  }
  rc = 0;
out:
  if(doc)
    json_wipe_delete(doc);
  if(rc < 0)
    answer_wipe(a);
  return rc;
}

/* --------------------------------------------------------------------- cache
 */

/* What a cache file holds.  The binding fields say which configuration
 * wrote it; a file for another one is ignored as a whole (a refresh token
 * issued to another client id would only fail). */
struct cache_entry {
  char *access_token;
  char *token_type;
  char *refresh_token; /* refresh grant: the newest one */
  int64_t expires_at;  /* 0 = unknown: never reused */
};

struct binding {
  const char *token_url;
  const char *client_id;
  const char *grant;
  const char *scope;        /* "" when none is sent */
  char rt_seed[2 * 32 + 1]; /* SHA-256 of the configured refresh token,
                               "" for client credentials: the cache then
                               notices a newly configured refresh token
                               without storing the configured one */
};

static void entry_wipe(struct cache_entry *e)
{
  wipe_free(e->access_token);
  wipe_free(e->token_type);
  wipe_free(e->refresh_token);
  memset(e, 0, sizeof(*e));
}

static void sha256_hex(const char *s, char out[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  out[0] = '\0';
  if(EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
    return;
  for(unsigned int i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  explicit_bzero(md, sizeof(md));
}

static bool json_str_is(const cJSON *doc, const char *name, const char *want)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
  return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

/* Read the cache.  Any problem (missing, unsafe, corrupt, other binding)
 * leaves *e empty: the cache is an optimisation and a store for rotated
 * refresh tokens, and a bad one must not stop a fresh token request. */
static void cache_read(const char *path, const struct binding *bd,
                       struct cache_entry *e)
{
  struct stat st;
  struct buf data;
  cJSON *doc = NULL;
  const cJSON *v;
  char chunk[4096];
  ssize_t n;
  int fd;

  memset(e, 0, sizeof(*e));
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if(fd < 0) {
    if(errno != ENOENT)
      log_warn("oauth: cannot open token cache %s: %s; ignoring it", path,
               strerror(errno));
    return;
  }
  buf_init(&data, OAUTH_MAX_CACHE_FILE);
  if(fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    log_warn("oauth: token cache %s is not a regular file; ignoring it", path);
    goto out;
  }
  if(st.st_uid != geteuid() || (st.st_mode & 077)) {
    /* Someone else could have read the tokens or planted one. */
    log_warn("oauth: token cache %s has owner %u mode %03o (want ours and "
             "0600); ignoring it and replacing it",
             path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
    goto out;
  }
  while((n = read(fd, chunk, sizeof(chunk))) != 0) {
    if(n < 0) {
      if(errno == EINTR)
        continue;
      log_warn("oauth: cannot read token cache %s: %s; ignoring it", path,
               strerror(errno));
      goto out;
    }
    if(buf_append(&data, chunk, (size_t)n) < 0) {
      log_warn("oauth: token cache %s is larger than %d bytes; ignoring it",
               path, OAUTH_MAX_CACHE_FILE);
      goto out;
    }
  }
  doc = data.len ? cJSON_ParseWithLength(data.data, data.len) : NULL;
  v = doc ? cJSON_GetObjectItemCaseSensitive(doc, "version") : NULL;
  if(!cJSON_IsObject(doc) || !cJSON_IsNumber(v) ||
     v->valuedouble != OAUTH_CACHE_VERSION) {
    log_warn("oauth: token cache %s is not a version %d cache file; "
             "ignoring it",
             path, OAUTH_CACHE_VERSION);
    goto out;
  }
  if(!json_str_is(doc, "token_url", bd->token_url) ||
     !json_str_is(doc, "client_id", bd->client_id) ||
     !json_str_is(doc, "grant", bd->grant) ||
     !json_str_is(doc, "scope", bd->scope) ||
     !json_str_is(doc, "refresh_seed", bd->rt_seed)) {
    log_info("oauth: token cache %s was written for another configuration; "
             "not using it",
             path);
    goto out;
  }
  v = cJSON_GetObjectItemCaseSensitive(doc, "access_token");
  if(cJSON_IsString(v) && token_chars_ok(v->valuestring))
    e->access_token = xstrdup(v->valuestring);
  v = cJSON_GetObjectItemCaseSensitive(doc, "token_type");
  e->token_type = xstrdup(cJSON_IsString(v) ? v->valuestring : "Bearer");
  v = cJSON_GetObjectItemCaseSensitive(doc, "expires_at");
  if(cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble > 0 &&
     v->valuedouble < 1e15)
    e->expires_at = (int64_t)v->valuedouble;
  v = cJSON_GetObjectItemCaseSensitive(doc, "refresh_token");
  if(cJSON_IsString(v) && token_chars_ok(v->valuestring))
    e->refresh_token = xstrdup(v->valuestring);
  if(!e->token_type)
    entry_wipe(e);
out:
  if(doc)
    json_wipe_delete(doc);
  wipe_buf(&data);
  close(fd);
}

/* Write the cache atomically: a reader (another input, or this one after
 * a crash) sees the old file or the new one, never a part of either. */
static int cache_write(const char *path, const struct binding *bd,
                       const struct cache_entry *e, char *err, size_t errlen)
{
  struct util_atomic tmp = { .fd = -1 };
  cJSON *doc = cJSON_CreateObject();
  char *text = NULL;
  int rc = -1;

  if(!doc || !cJSON_AddNumberToObject(doc, "version", OAUTH_CACHE_VERSION) ||
     !cJSON_AddStringToObject(doc, "token_url", bd->token_url) ||
     !cJSON_AddStringToObject(doc, "client_id", bd->client_id) ||
     !cJSON_AddStringToObject(doc, "grant", bd->grant) ||
     !cJSON_AddStringToObject(doc, "scope", bd->scope) ||
     !cJSON_AddStringToObject(doc, "refresh_seed", bd->rt_seed) ||
     !cJSON_AddStringToObject(doc, "access_token", e->access_token) ||
     !cJSON_AddStringToObject(doc, "token_type", e->token_type) ||
     !cJSON_AddNumberToObject(doc, "expires_at", (double)e->expires_at) ||
     (e->refresh_token &&
      !cJSON_AddStringToObject(doc, "refresh_token", e->refresh_token)) ||
     !(text = cJSON_PrintUnformatted(doc))) {
    seterr(err, errlen, "out of memory");
    goto out;
  }
  /* 0600 whatever the umask: the file holds the tokens */
  if(util_atomic_open(&tmp, path, 0600, NULL, 0) < 0) {
    seterr(err, errlen, "cannot create a temporary file next to it: %s",
           strerror(errno));
    goto out;
  }
  if(util_write_all(tmp.fd, text, strlen(text)) < 0 ||
     util_write_all(tmp.fd, "\n", 1) < 0 ||
     util_atomic_sync(&tmp, NULL, 0) < 0) {
    seterr(err, errlen, "cannot write %s: %s", tmp.tmp, strerror(errno));
    goto out;
  }
  if(util_atomic_commit(&tmp, NULL, UTIL_ATOMIC_NO_DIRSYNC, NULL, 0) < 0) {
    seterr(err, errlen, "cannot rename %s: %s", tmp.tmp, strerror(errno));
    goto out;
  }
  if(util_fsync_dir(path, NULL, 0) < 0) {
    seterr(err, errlen, "cannot sync its directory: %s", strerror(errno));
    goto out;
  }
  rc = 0;
out:
  util_atomic_abort(&tmp);
  if(text) {
    explicit_bzero(text, strlen(text));
    cJSON_free(text);
  }
  if(doc)
    json_wipe_delete(doc);
  return rc;
}

/* Take an exclusive flock on "<path>.lock", waiting up to timeout_ms.
 * A separate lock file, because the cache file itself is replaced by
 * rename and a lock on it would protect the old inode only. */
static int cache_lock(const char *path, int timeout_ms, int *fd_r, char *err,
                      size_t errlen)
{
  char lp[PATH_MAX];
  int64_t deadline = util_now_ms() + timeout_ms;
  int fd;

  if((size_t)snprintf(lp, sizeof(lp), "%s.lock", path) >= sizeof(lp)) {
    seterr(err, errlen, "token cache path too long: %.100s...", path);
    return -1;
  }
  fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if(fd < 0) {
    seterr(err, errlen, "cannot open token cache lock %s: %s", lp,
           strerror(errno));
    return -1;
  }
  while(flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if(errno != EWOULDBLOCK && errno != EINTR) {
      seterr(err, errlen, "cannot lock %s: %s", lp, strerror(errno));
      close(fd);
      return -1;
    }
    if(util_now_ms() >= deadline) {
      seterr(err, errlen,
             "token cache %s is locked by another process "
             "for more than %d ms",
             path, timeout_ms);
      close(fd);
      return -1;
    }
    usleep(OAUTH_LOCK_POLL_MS * 1000);
  }
  *fd_r = fd;
  return 0;
}

/* ---------------------------------------------------------------- the call */

static int check_config(const struct oauth_config *cfg, char *err,
                        size_t errlen)
{
  if(!cfg->client_id || !*cfg->client_id) {
    seterr(err, errlen, "OAuth client id is empty");
    return -1;
  }
  if(cfg->grant == OAUTH_GRANT_CLIENT_CREDENTIALS) {
    if(!cfg->client_secret || !*cfg->client_secret) {
      seterr(err, errlen,
             "OAuth client secret is empty (needed for the "
             "client credentials grant)");
      return -1;
    }
  }
  else if(cfg->grant == OAUTH_GRANT_REFRESH_TOKEN) {
    if(!cfg->refresh_token || !*cfg->refresh_token) {
      seterr(err, errlen,
             "OAuth refresh token is empty (needed for the "
             "refresh token grant)");
      return -1;
    }
  }
  else {
    seterr(err, errlen, "unknown OAuth grant %d", (int)cfg->grant);
    return -1;
  }
  return 0;
}

static struct oauth_token *token_new(const char *access, const char *type,
                                     int64_t expires_at, bool from_cache)
{
  struct oauth_token *t = calloc(1, sizeof(*t));

  if(!t)
    return NULL;
  t->access_token = xstrdup(access);
  t->token_type = xstrdup(type);
  t->expires_at = expires_at;
  t->from_cache = from_cache;
  if(!t->access_token || !t->token_type) {
    oauth_token_free(t);
    return NULL;
  }
  return t;
}

/* When a token given at now for expires_in seconds (-1: no lifetime)
 * expires; 0 means "unknown, never reuse".  Saturates instead of
 * overflowing: time() cannot get there, but a clock near INT64_MAX (the fuzz
 * harness tries it) must not be undefined behaviour. */
static int64_t expires_at(int64_t now, int64_t expires_in)
{
  if(expires_in < 0)
    return 0;
  return now > INT64_MAX - expires_in ? INT64_MAX : now + expires_in;
}

static int get_token(const struct oauth_config *cfg, bool force_refresh,
                     struct oauth_token **token_r, char *err, size_t errlen,
                     struct cache_entry *entry, struct answer *ans, int *lockfd)
{
  struct endpoint ep;
  struct binding bd;
  struct buf resp;
  const char *scope = cfg->scope;
  const char *rt = NULL;
  int margin = cfg->expiry_margin_s == 0  ? OAUTH_DEFAULT_EXPIRY_MARGIN_S
               : cfg->expiry_margin_s < 0 ? 0
                                          : cfg->expiry_margin_s;
  int timeout =
      cfg->timeout_ms > 0 ? cfg->timeout_ms : OAUTH_DEFAULT_TIMEOUT_MS;
  long status = 0;
  int64_t now;
  int rc;

  if(check_config(cfg, err, errlen) < 0 ||
     resolve_endpoint(cfg, &ep, err, errlen) < 0)
    return -1;
  if(cfg->grant == OAUTH_GRANT_CLIENT_CREDENTIALS && !scope)
    scope = OAUTH_M365_DEFAULT_SCOPE;

  memset(&bd, 0, sizeof(bd));
  bd.token_url = ep.url;
  bd.client_id = cfg->client_id;
  bd.grant = oauth_grant_name(cfg->grant);
  bd.scope = scope ? scope : "";
  if(cfg->grant == OAUTH_GRANT_REFRESH_TOKEN)
    sha256_hex(cfg->refresh_token, bd.rt_seed);

  if(cfg->cache_path) {
    if(cache_lock(cfg->cache_path, timeout, lockfd, err, errlen) < 0)
      return -1;
    cache_read(cfg->cache_path, &bd, entry);
    now = now_s();
    if(!force_refresh && entry->access_token && entry->expires_at > 0 &&
       entry->expires_at - margin > now) {
      log_debug("oauth: using cached token for client %s from %s, valid "
                "%lld s more",
                cfg->client_id, ep.shown, (long long)(entry->expires_at - now));
      *token_r = token_new(entry->access_token, entry->token_type,
                           entry->expires_at, true);
      if(!*token_r) {
        seterr(err, errlen, "out of memory");
        return -1;
      }
      return 0;
    }
  }

  if(cfg->grant == OAUTH_GRANT_REFRESH_TOKEN)
    rt = entry->refresh_token ? entry->refresh_token : cfg->refresh_token;

  buf_init(&resp, OAUTH_MAX_RESPONSE);
  rc = http_token_request(cfg, &ep, rt, scope, &status, &resp, err, errlen);
  if(rc == 0)
    rc = parse_answer(&ep, status, &resp, ans, err, errlen);
  wipe_buf(&resp);
  if(rc < 0) {
    if(cfg->grant == OAUTH_GRANT_REFRESH_TOKEN && entry->refresh_token && err &&
       errlen && strstr(err, "invalid_grant")) {
      size_t l = strlen(err);
      seterr(err + l, errlen - l,
             " (the refresh token from the cache %s "
             "was refused; configure a new refresh token)",
             cfg->cache_path);
    }
    return -1;
  }

  now = now_s();
  if(ans->expires_in >= 0)
    log_info("oauth: new access token for client %s from %s (%s grant), "
             "expires in %lld s%s",
             cfg->client_id, ep.shown, oauth_grant_name(cfg->grant),
             (long long)ans->expires_in,
             ans->refresh_token ? ", refresh token rotated" : "");
  else
    log_info("oauth: new access token for client %s from %s (%s grant), "
             "no lifetime given (not reused)%s",
             cfg->client_id, ep.shown, oauth_grant_name(cfg->grant),
             ans->refresh_token ? ", refresh token rotated" : "");
  *token_r = token_new(ans->access_token, ans->token_type,
                       expires_at(now, ans->expires_in), false);
  if(!*token_r) {
    seterr(err, errlen, "out of memory");
    return -1;
  }

  if(cfg->cache_path) {
    struct cache_entry ne;
    char werr[512];
    ne.access_token = ans->access_token;
    ne.token_type = ans->token_type;
    ne.expires_at = (*token_r)->expires_at;
    ne.refresh_token = cfg->grant != OAUTH_GRANT_REFRESH_TOKEN ? NULL
                       : ans->refresh_token ? ans->refresh_token
                                            : (char *)rt;
    if(cache_write(cfg->cache_path, &bd, &ne, werr, sizeof(werr)) < 0)
      log_warn(
          "oauth: cannot write token cache %s: %s%s", cfg->cache_path, werr,
          ans->refresh_token ? " (the rotated refresh token is lost)" : "");
  }
  else if(ans->refresh_token && cfg->grant == OAUTH_GRANT_REFRESH_TOKEN &&
          strcmp(ans->refresh_token, cfg->refresh_token) != 0)
    log_warn("oauth: %s rotated the refresh token but no token cache is "
             "configured to keep it; the configured one may stop working",
             ep.shown);
  return 0;
}

int oauth_get_token(const struct oauth_config *cfg, bool force_refresh,
                    struct oauth_token **token_r, char *err, size_t errlen)
{
  struct cache_entry entry;
  struct answer ans;
  int lockfd = -1;
  int rc;

  memset(&entry, 0, sizeof(entry));
  memset(&ans, 0, sizeof(ans));
  *token_r = NULL;
  if(err && errlen)
    err[0] = '\0';
  rc = get_token(cfg, force_refresh, token_r, err, errlen, &entry, &ans,
                 &lockfd);
  if(rc < 0) {
    /* Whatever the server echoed, no secret leaves in the message. */
    redact(err, errlen, cfg->client_secret);
    redact(err, errlen, cfg->refresh_token);
    redact(err, errlen, entry.refresh_token);
    redact(err, errlen, entry.access_token);
    oauth_token_free(*token_r);
    *token_r = NULL;
  }
  entry_wipe(&entry);
  answer_wipe(&ans);
  if(lockfd >= 0)
    close(lockfd); /* releases the flock */
  return rc;
}

void oauth_token_free(struct oauth_token *t)
{
  if(!t)
    return;
  wipe_free(t->access_token);
  wipe_free(t->token_type);
  free(t);
}

int oauth_parse_token_answer(long status, const char *body, size_t len,
                             const char *shown, int64_t now,
                             struct oauth_token **token_r, char **refresh_r,
                             char *err, size_t errlen)
{
  struct endpoint ep;
  struct answer ans;
  struct buf b = { .data = (char *)body, .len = body ? len : 0 };

  *token_r = NULL;
  *refresh_r = NULL;
  memset(&ep, 0, sizeof(ep));
  snprintf(ep.shown, sizeof(ep.shown), "%s", shown ? shown : "");
  if(parse_answer(&ep, status, &b, &ans, err, errlen) < 0)
    return -1;
  *token_r = token_new(ans.access_token, ans.token_type,
                       expires_at(now, ans.expires_in), false);
  if(!*token_r) {
    seterr(err, errlen, "out of memory");
    answer_wipe(&ans);
    return -1;
  }
  *refresh_r = ans.refresh_token;
  ans.refresh_token = NULL;
  answer_wipe(&ans);
  return 0;
}
