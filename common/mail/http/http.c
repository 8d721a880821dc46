/*
 * http: libcurl set up the same way for every REST call (see http.h).
 */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conn.h"

struct sink {
  struct buf *body;
  bool too_big;
};

static void init_once(void)
{
  static bool done;

  /* Debian's libcurl is built "threadsafe" (7.84+), so a second, racing
   * call is harmless; the flag only avoids the reference counting. */
  if(!done) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    done = true;
  }
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ctx)
{
  struct sink *s = ctx;
  size_t n = size * nmemb;

  if(buf_append(s->body, p, n) < 0) {
    s->too_big = true;
    return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
  }
  return n;
}

/* Add the extra trust anchors to the store libcurl set up from the system
 * bundle: CURLOPT_CAINFO would replace the system store instead. */
static CURLcode ssl_ctx_cb(CURL *curl, void *sslctx, void *userp)
{
  const char *file = userp;
  X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)sslctx);

  (void)curl;
  if(!store || X509_STORE_load_file(store, file) != 1)
    return CURLE_SSL_CACERT_BADFILE;
  return CURLE_OK;
}

/* The CAs libcurl verifies against: the system's bundle or certificate
 * directory wherever this system keeps them (libcurl's compiled-in path
 * is Debian's, and a minimal system has none), plus rq->ca_file.  A given
 * CA file without any system store is used alone; neither is an error
 * naming the paths tried. */
static int set_trust(CURL *curl, const struct http_request *rq, char *err,
                     size_t errlen)
{
  const char *bundle = conn_system_ca_file(), *dir = conn_system_ca_dir();
  bool extra = rq->ca_file && *rq->ca_file;

  if(!bundle && !dir) {
    if(!extra) {
      char msg[512];
      conn_no_system_ca_error(msg, sizeof(msg), rq->shown);
      snprintf(err, errlen, "%s to %s", rq->what, msg);
      return -1;
    }
    curl_easy_setopt(curl, CURLOPT_CAINFO, rq->ca_file);
    curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
    return 0;
  }
  curl_easy_setopt(curl, CURLOPT_CAINFO, bundle);
  curl_easy_setopt(curl, CURLOPT_CAPATH, dir);
  if(!extra)
    return 0;
  /* the store is built per handle, so the file is read each time */
  curl_easy_setopt(curl, CURLOPT_CA_CACHE_TIMEOUT, 0L);
  if(curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb) != CURLE_OK) {
    snprintf(err, errlen, "%s to %s: this libcurl cannot add a CA file",
             rq->what, rq->shown);
    return -1;
  }
  curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, (void *)rq->ca_file);
  return 0;
}

int http_perform(const struct http_request *rq, long *status_r,
                 struct buf *body, char *err, size_t errlen)
{
  char cerr[CURL_ERROR_SIZE];
  struct curl_slist *hdrs = NULL;
  struct sink sink = { body, false };
  CURL *curl;
  CURLcode res;
  int rc = -1;

  init_once();
  if(!(curl = curl_easy_init())) {
    snprintf(err, errlen, "%s to %s: cannot create a libcurl handle", rq->what,
             rq->shown);
    return -1;
  }
  for(const char *const *h = rq->headers; h && *h; h++) {
    struct curl_slist *n = curl_slist_append(hdrs, *h);
    if(!n) {
      snprintf(err, errlen, "out of memory");
      goto out;
    }
    hdrs = n;
  }
  curl_easy_setopt(curl, CURLOPT_URL, rq->url);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, rq->no_verify ? 0L : 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, rq->no_verify ? 0L : 2L);
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  if(!rq->no_verify && strncasecmp(rq->url, "https:", 6) == 0 &&
     set_trust(curl, rq, err, errlen))
    goto out;
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)rq->timeout_ms);
  if(rq->post) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, rq->post);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)rq->post_len);
  }
  if(hdrs)
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  if(rq->user_agent)
    curl_easy_setopt(curl, CURLOPT_USERAGENT, rq->user_agent);
  if(body->max < SIZE_MAX)
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body->max);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  cerr[0] = '\0';
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);

  res = curl_easy_perform(curl);
  if(sink.too_big || res == CURLE_FILESIZE_EXCEEDED) {
    snprintf(err, errlen, "%s to %s: response larger than %zu bytes", rq->what,
             rq->shown, body->max);
    goto out;
  }
  if(res != CURLE_OK) {
    snprintf(err, errlen, "%s to %s failed: %s", rq->what, rq->shown,
             cerr[0] ? cerr : curl_easy_strerror(res));
    goto out;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status_r);
  rc = 0;
out:
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(curl);
  return rc;
}

int http_form_add(struct buf *form, const char *name, const char *value)
{
  char *esc;
  int rc;

  init_once();
  /* libcurl 7.82+ ignores the handle argument */
  if(!(esc = curl_easy_escape(NULL, value, 0)))
    return -1;
  rc = buf_printf(form, "%s%s=%s", form->len ? "&" : "", name, esc);
  explicit_bzero(esc, strlen(esc));
  curl_free(esc);
  return rc;
}

bool http_is_loopback_host(const char *h)
{
  return strcmp(h, "127.0.0.1") == 0 || strcmp(h, "[::1]") == 0 ||
         strcmp(h, "::1") == 0 || strcasecmp(h, "localhost") == 0;
}
