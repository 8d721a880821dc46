/*
 * Secrets an input keeps in splunkd's storage/passwords instead of in
 * inputs.conf (see splunk.h).  One GET with the session key splunkd
 * handed the input; the entries that come back hold clear passwords, so
 * every copy made here is wiped before it is freed.
 */
#include "splunk.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define SECRET_MAX_RESPONSE (4u << 20)
#define SECRET_TIMEOUT_MS   30000

bool splunk_secret_masked(const char *v)
{
  return v && *v && strspn(v, "*") == strlen(v);
}

static void wipe_tree(cJSON *entries)
{
  const cJSON *e;
  cJSON_ArrayForEach(e, entries)
  {
    cJSON *cp = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(e, "content"), "clear_password");
    if(cJSON_IsString(cp) && cp->valuestring)
      explicit_bzero(cp->valuestring, strlen(cp->valuestring));
  }
}

/* The secret in a clear_password: the member `field` of a JSON object (the
 * UCC convention), else the whole value. */
static char *pick(const char *clear, const char *field)
{
  cJSON *o;
  char *s = NULL;

  if(*clear == '{' && (o = cJSON_Parse(clear)) != NULL) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if(cJSON_IsString(v) && v->valuestring)
      s = strdup(v->valuestring);
    if(cJSON_IsString(v) && v->valuestring)
      explicit_bzero(v->valuestring, strlen(v->valuestring));
    cJSON_Delete(o);
    return s;
  }
  return strdup(clear);
}

char *splunk_secret_get(const struct splunk_config *cfg, const char *name,
                        const char *field, char *err, size_t errlen)
{
  static const char *const path =
      "/servicesNS/nobody/" SPLUNK_SECRET_APP "/storage/passwords"
      "?output_mode=json&count=0&search=realm%3D" SPLUNK_SECRET_REALM;
  char url[2048], auth[2048], host[256] = "";
  const char *hdrs[] = { auth, "Accept: application/json", NULL };
  struct http_request rq;
  struct buf body;
  cJSON *root = NULL;
  char *secret = NULL;
  long status = 0;
  CURLU *u;
  char *h = NULL;

  *err = '\0';
  if(!cfg->server_uri || !*cfg->server_uri || !cfg->session_key ||
     !*cfg->session_key) {
    snprintf(err, errlen,
             "the secret of %s is kept in storage/passwords, "
             "but splunkd gave no server_uri and session key",
             name);
    return NULL;
  }
  if((size_t)snprintf(url, sizeof(url), "%s%s", cfg->server_uri, path) >=
         sizeof(url) ||
     (size_t)snprintf(auth, sizeof(auth), "Authorization: Splunk %s",
                      cfg->session_key) >= sizeof(auth)) {
    snprintf(err, errlen, "server_uri or session key too long");
    return NULL;
  }
  /* splunkd's management port has a self-signed certificate by default:
   * it is trusted on the loopback (the session key does not leave the
   * machine) and verified anywhere else. */
  if((u = curl_url()) &&
     curl_url_set(u, CURLUPART_URL, cfg->server_uri, 0) == CURLUE_OK &&
     curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK)
    snprintf(host, sizeof(host), "%s", h);
  curl_free(h);
  curl_url_cleanup(u);
  memset(&rq, 0, sizeof(rq));
  rq.url = url;
  rq.what = "storage/passwords request";
  rq.shown = cfg->server_uri;
  rq.headers = hdrs;
  rq.no_verify = http_is_loopback_host(host);
  rq.timeout_ms = SECRET_TIMEOUT_MS;
  rq.user_agent = "ta-dmarc-c/1";
  buf_init(&body, SECRET_MAX_RESPONSE);
  if(http_perform(&rq, &status, &body, err, errlen))
    goto out;
  if(status == 401 || status == 403) {
    snprintf(err, errlen,
             "splunkd at %s refused the session key for "
             "storage/passwords (HTTP %ld)",
             cfg->server_uri, status);
    goto out;
  }
  if(status != 200 || !body.data ||
     !(root = cJSON_ParseWithLength(body.data, body.len))) {
    snprintf(err, errlen,
             "splunkd at %s answered storage/passwords with "
             "HTTP %ld%s",
             cfg->server_uri, status, status == 200 ? " and no JSON" : "");
    goto out;
  }
  const cJSON *e, *entries = cJSON_GetObjectItemCaseSensitive(root, "entry");
  cJSON_ArrayForEach(e, entries)
  {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
    const char *realm =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "realm"));
    const char *user =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "username"));
    const char *clear = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(c, "clear_password"));
    if(realm && user && clear && !strcmp(realm, SPLUNK_SECRET_REALM) &&
       !strcmp(user, name)) {
      if(!(secret = pick(clear, field)) && *clear != '{')
        snprintf(err, errlen, "out of memory");
      break;
    }
  }
  /* not there: err stays "" (the caller says what to create) */
out:
  if(root) {
    wipe_tree(cJSON_GetObjectItemCaseSensitive(root, "entry"));
    cJSON_Delete(root);
  }
  if(body.data)
    explicit_bzero(body.data, body.len);
  buf_free(&body);
  explicit_bzero(auth, sizeof(auth));
  return secret;
}
