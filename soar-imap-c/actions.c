#include "actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "imap.h"
#include "buf.h"
#include "log.h"
#include "util.h"

#define SOAR_IO_TIMEOUT_MS     60000 /* socket.setdefaulttimeout(60) */
#define SOAR_FETCH_MAX_LITERAL (2ull * 1024 * 1024 * 1024)

/* ---- results ----------------------------------------------------------- */

static cJSON *result_new(const cJSON *param)
{
  cJSON *r = cJSON_CreateObject();
  if(!r)
    return NULL;
  cJSON_AddStringToObject(r, "status", "failed");
  cJSON_AddStringToObject(r, "message", "");
  cJSON_AddItemToObject(
      r, "parameter", param ? cJSON_Duplicate(param, 1) : cJSON_CreateObject());
  cJSON_AddArrayToObject(r, "data");
  cJSON_AddObjectToObject(r, "summary");
  return r;
}

static cJSON *result_set(cJSON *r, bool ok, const char *msg)
{
  if(!r)
    return NULL;
  cJSON_ReplaceItemInObjectCaseSensitive(
      r, "status", cJSON_CreateString(ok ? "success" : "failed"));
  cJSON_ReplaceItemInObjectCaseSensitive(r, "message", cJSON_CreateString(msg));
  if(ok)
    log_info("%s", msg);
  else
    log_error("%s", msg);
  return r;
}

cJSON *soar_result_failed(const cJSON *param, const char *msg)
{
  return result_set(result_new(param), false, msg);
}

/* ---- config ------------------------------------------------------------ */

static const char *cfg_str(const cJSON *cfg, const char *key, const char *def)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
  const char *s = cJSON_GetStringValue(v);
  return (s && *s) ? s : def;
}

static bool cfg_bool(const cJSON *cfg, const char *key, bool def)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
  if(cJSON_IsBool(v))
    return cJSON_IsTrue(v);
  if(cJSON_IsString(v))
    return !strcasecmp(v->valuestring, "true") || !strcmp(v->valuestring, "1");
  if(cJSON_IsNumber(v))
    return v->valuedouble != 0;
  return def;
}

int soar_config_parse(const cJSON *cfg, struct soar_config *c, char *err,
                      size_t errlen)
{
  memset(c, 0, sizeof(*c));
  if(!cJSON_IsObject(cfg)) {
    snprintf(err, errlen, "The action JSON has no \"config\" object");
    return -1;
  }
  const char *server = cfg_str(cfg, "server", NULL);
  c->username = cfg_str(cfg, "username", NULL);
  c->password = cfg_str(cfg, "password", NULL);
  c->auth_type = cfg_str(cfg, "auth_type", "Basic");
  if(!server) {
    snprintf(err, errlen,
             "ERROR: server is a required parameter, please specify one.");
    return -1;
  }
  if(!strcmp(c->auth_type, "Basic")) {
    const char *miss = !c->username   ? "username"
                       : !c->password ? "password"
                                      : NULL;
    if(miss) {
      snprintf(err, errlen,
               "ERROR: %s is a required parameter for Basic "
               "Authentication, please specify one.",
               miss);
      return -1;
    }
  }
  else if(!strcmp(c->auth_type, "OAuth")) {
    static const char *const keys[] = { "client_id", "client_secret" };
    for(int i = 0; i < 2; i++)
      if(!cfg_str(cfg, keys[i], NULL)) {
        snprintf(err, errlen,
                 "ERROR: %s is a required parameter for OAuth "
                 "Authentication, please specify one.",
                 keys[i]);
        return -1;
      }
  }
  else {
    snprintf(err, errlen,
             "Please provide a valid authentication mechanism to use");
    return -1;
  }
  if(!c->username) {
    snprintf(err, errlen,
             "ERROR: username is a required parameter, please specify one.");
    return -1;
  }
  /* server: host, host:port, [v6]:port */
  const char *colon = strrchr(server, ':'), *hs = server, *he;
  if(server[0] == '[') {
    const char *rb = strchr(server, ']');
    if(!rb) {
      snprintf(err, errlen, "Please provide a valid server: %s", server);
      return -1;
    }
    hs = server + 1;
    he = rb;
    colon = rb[1] == ':' ? rb + 1 : NULL;
    if(rb[1] && !colon) {
      snprintf(err, errlen, "Please provide a valid server: %s", server);
      return -1;
    }
  }
  else if(colon && strchr(server, ':') == colon)
    he = colon;
  else {
    he = server + strlen(server);
    colon = NULL; /* a bare IPv6 address, or no port */
  }
  if(colon) {
    uint64_t port;
    if(util_parse_u64(colon + 1, 1, 65535, &port)) {
      snprintf(err, errlen, "Please provide a valid port in server: %s",
               server);
      return -1;
    }
    c->port = (uint16_t)port;
  }
  if((size_t)(he - hs) >= sizeof(c->host) || he == hs) {
    snprintf(err, errlen, "Please provide a valid server: %s", server);
    return -1;
  }
  memcpy(c->host, hs, (size_t)(he - hs));
  c->folder = cfg_str(cfg, "folder", "inbox");
  c->use_ssl = cfg_bool(cfg, "use_ssl", true);
  c->verify_server_cert = cfg_bool(cfg, "verify_server_cert", true);
  c->ca_file = cfg_str(cfg, "ca_file", NULL);
  c->extract_attachments = cfg_bool(cfg, "extract_attachments", true);
  c->extract_urls = cfg_bool(cfg, "extract_urls", true);
  c->extract_ips = cfg_bool(cfg, "extract_ips", true);
  c->extract_domains = cfg_bool(cfg, "extract_domains", true);
  c->extract_hashes = cfg_bool(cfg, "extract_hashes", true);
  /* Ours: the Python app had a fixed 60 s socket timeout. */
  c->timeout_ms = SOAR_IO_TIMEOUT_MS;
  const cJSON *to = cJSON_GetObjectItem(cfg, "timeout");
  if(to) {
    double t = cJSON_IsNumber(to)   ? to->valuedouble
               : cJSON_IsString(to) ? strtod(to->valuestring, NULL)
                                    : -1;
    if(!(t >= 1 && t <= 3600)) {
      snprintf(err, errlen,
               "Please provide a valid timeout in seconds "
               "(1 to 3600)");
      return -1;
    }
    c->timeout_ms = (int)(t * 1000);
  }
  return 0;
}

int soar_action_doc_parse(const char *text, size_t len,
                          struct soar_action_doc *d, char *err, size_t errlen)
{
  memset(d, 0, sizeof(*d));
  d->root = cJSON_ParseWithLength(text, len);
  if(!cJSON_IsObject(d->root)) {
    const char *at = cJSON_GetErrorPtr();
    snprintf(err, errlen, "Invalid action JSON: %s near byte %ld",
             d->root ? "not an object" : "parse error",
             (!d->root && at && at >= text && at <= text + len)
                 ? (long)(at - text)
                 : 0L);
    return -1;
  }
  d->identifier =
      cJSON_GetStringValue(cJSON_GetObjectItem(d->root, "identifier"));
  d->params = cJSON_GetObjectItem(d->root, "parameters");
  d->asset_id = cJSON_GetStringValue(cJSON_GetObjectItem(d->root, "asset_id"));
  if(!d->identifier || !*d->identifier) {
    snprintf(err, errlen, "Invalid action JSON: \"identifier\" is missing");
    return -1;
  }
  if(d->params && !cJSON_IsArray(d->params)) {
    snprintf(err, errlen, "Invalid action JSON: \"parameters\" is not a list");
    return -1;
  }
  d->cfg_ok = !soar_config_parse(cJSON_GetObjectItem(d->root, "config"),
                                 &d->cfg, d->cfg_err, sizeof(d->cfg_err));
  return 0;
}

void soar_action_doc_free(struct soar_action_doc *d)
{
  cJSON_Delete(d->root);
  memset(d, 0, sizeof(*d));
}

/* ---- IMAP -------------------------------------------------------------- */

/* Connect, (STARTTLS,) log in and EXAMINE folder.  NULL with the Python
 * app's message in err. */
static struct imap *open_folder(const struct soar_config *c, const char *folder,
                                bool list, char *err, size_t errlen)
{
  struct imap_opts o;
  char e[CONN_ERR_LEN + 64];
  struct imap *im;
  struct imap_mailbox_status st;

  if(strcmp(c->auth_type, "Basic")) {
    snprintf(err, errlen,
             "Error logging in to server. Details: OAuth assets "
             "need a token from the SOAR platform; this executable supports "
             "Basic authentication only");
    return NULL;
  }
  memset(&o, 0, sizeof(o));
  o.conn.host = c->host;
  o.conn.port = c->port ? c->port : (c->use_ssl ? 993 : 143);
  o.conn.connect_timeout_ms = o.conn.io_timeout_ms = c->timeout_ms;
  o.conn.ca_file = c->ca_file;
  o.conn.tls_no_verify = !c->verify_server_cert;
  o.tls = c->use_ssl ? IMAP_TLS_IMPLICIT : IMAP_TLS_STARTTLS;
  /* verify_server_cert false is the user's explicit opt-in */
  o.allow_plaintext_auth = !c->verify_server_cert;
  o.max_body = SOAR_FETCH_MAX_LITERAL;
  if(!(im = imap_connect(&o, e, sizeof(e)))) {
    if(!c->use_ssl && strstr(e, "STARTTLS"))
      snprintf(err, errlen, "Failed to establish STARTTLS before login: %s", e);
    else
      snprintf(err, errlen, "Error connecting to server. Details: %s", e);
    return NULL;
  }
  log_info("Initiated connection to server");
  if(imap_login(im, c->username, c->password)) {
    snprintf(err, errlen, "Error logging in to server. Details: %s",
             imap_error(im));
    imap_free(im);
    return NULL;
  }
  log_info("User logged in");
  if(list) {
    if(imap_list(im, "", "*", NULL, NULL) &&
       imap_get_state(im) == IMAP_STATE_BROKEN) {
      snprintf(err, errlen, "Error listing folders. Details: %s",
               imap_error(im));
      imap_free(im);
      return NULL;
    }
    log_info("Got folder listing");
  }
  if(imap_examine(im, folder, &st)) {
    snprintf(err, errlen, "Error selecting folder '%s'. Details: %s", folder,
             imap_error(im));
    imap_free(im);
    return NULL;
  }
  log_info("Selected folder '%s'", folder);
  return im;
}

struct fetch_ctx {
  uint32_t uid;
  struct buf body;
  size_t max;
  size_t total;
  bool found;
};

static int fetch_body(void *vctx, const struct imap_message *m,
                      const void *data, size_t len)
{
  struct fetch_ctx *f = vctx;
  if(m->uid && m->uid != f->uid)
    return 0;
  f->total += len;
  if(f->body.len < f->max) {
    size_t n = f->max - f->body.len < len ? f->max - f->body.len : len;
    if(buf_append(&f->body, data, n))
      return -1;
  }
  return 0;
}

static int fetch_message(void *vctx, struct imap_message *m)
{
  struct fetch_ctx *f = vctx;
  if(m->uid == f->uid && (m->have & IMAP_FETCH_BODY))
    f->found = true;
  return 0;
}

/* ---- actions ----------------------------------------------------------- */

static cJSON *test_connectivity(const struct soar_config *c, cJSON *r)
{
  char err[SOAR_ERR_LEN];
  struct imap *im = open_folder(c, c->folder, true, err, sizeof(err));

  if(!im) {
    log_error("Connectivity test failed");
    return result_set(r, false, err);
  }
  imap_logout(im);
  imap_free(im);
  return result_set(r, true, "Connectivity test passed");
}

/* A positive integer in a parameter given as a number or a string. */
static int param_uint(const cJSON *v, uint64_t *out)
{
  if(cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if(d < 1 || d > 9007199254740992.0 || d != (double)(uint64_t)d)
      return -1;
    *out = (uint64_t)d;
    return 0;
  }
  if(cJSON_IsString(v))
    return util_parse_u64(v->valuestring, 1, UINT64_MAX, out);
  return -1;
}

/* Process raw as email `uid` and save it to the store. */
static int ingest(const struct soar_env *env, const struct soar_config *c,
                  const char *raw, size_t len, const char *folder,
                  const char *folder_hash, const char *uid, long long *id_r,
                  char *err, size_t errlen)
{
  struct sstore st;
  struct soar_email_opts o;
  struct soar_container ct;
  bool created;
  int rc;

  if(sstore_open(&st, env->store_dir, err, errlen))
    return -1;
  soar_email_opts_default(&o); /* get email forces every extract on */
  o.folder = folder;
  o.folder_hash = folder_hash;
  o.uid = uid;
  o.uid_is_string = true;
  o.vault_dir = st.vault;
  char sdi[300];
  if(folder_hash)
    snprintf(sdi, sizeof(sdi), "%.128s : %.32s", folder_hash, uid);
  else
    soar_sdi(folder, uid, sdi, sizeof(sdi));
  o.container_id = sstore_id_for(&st, sdi);
  (void)c;
  rc = soar_email_process(raw, len, &o, &ct, err, errlen);
  if(!rc) {
    rc = sstore_save(&st, &ct, id_r, &created, err, errlen);
    if(!rc)
      log_info("%s container %lld with %zu artifacts",
               created ? "Created" : "Updated duplicate", *id_r,
               soar_container_count(&ct));
    soar_container_free(&ct);
  }
  sstore_close(&st);
  return rc;
}

static cJSON *get_email(const struct soar_config *c, const cJSON *param,
                        const struct soar_env *env, cJSON *r)
{
  char err[SOAR_ERR_LEN], msg[SOAR_ERR_LEN + 64];
  const cJSON *jid = cJSON_GetObjectItemCaseSensitive(param, "id");
  const cJSON *jcid = cJSON_GetObjectItemCaseSensitive(param, "container_id");
  const char *pfolder =
      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(param, "folder"));
  bool ingest_email = cfg_bool(param, "ingest_email", false);
  char uid[32], fhash[128];
  char *raw = NULL;
  size_t raw_len = 0;
  const char *folder = (pfolder && *pfolder) ? pfolder : c->folder;
  const char *folder_hash = NULL;
  cJSON *container = NULL;

  bool have_id =
      (cJSON_IsString(jid) && *jid->valuestring) || cJSON_IsNumber(jid);
  bool have_cid = !(jcid == NULL || cJSON_IsNull(jcid) ||
                    (cJSON_IsString(jcid) && !*jcid->valuestring));
  if(!have_id && !have_cid)
    return result_set(
        r, false, "Please specify either id or container_id to get the email");

  if(have_cid) {
    uint64_t cid;
    struct sstore st;
    if(param_uint(jcid, &cid))
      return result_set(
          r, false,
          "Please provide a valid integer value in the container_id parameter");
    if(sstore_open(&st, env->store_dir, err, sizeof(err)))
      return result_set(r, false, err);
    container = sstore_load(&st, (long long)cid, err, sizeof(err));
    sstore_close(&st);
    if(!container)
      return result_set(r, false, err);
    const char *rs = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(container, "data"), "raw_email"));
    const char *sdi = cJSON_GetStringValue(
        cJSON_GetObjectItem(container, "source_data_identifier"));
    if(!rs) {
      cJSON_Delete(container);
      return result_set(
          r, false,
          "Container does not seem to be created from an IMAP email, raw_email data not found.");
    }
    /* "<folder hash> : <uid>": first and last blank-separated tokens */
    const char *first_end = sdi ? strpbrk(sdi, " \t") : NULL;
    const char *last = sdi ? strrchr(sdi, ' ') : NULL;
    uint64_t u;
    if(!sdi || !first_end || !last ||
       (size_t)(first_end - sdi) >= sizeof(fhash) ||
       strlen(last + 1) >= sizeof(uid) ||
       util_parse_u64(last + 1, 0, UINT64_MAX, &u)) {
      cJSON_Delete(container);
      return result_set(
          r, false,
          "Container does not seem to be created from an IMAP email, email id not in proper format.");
    }
    memcpy(fhash, sdi, (size_t)(first_end - sdi));
    fhash[first_end - sdi] = '\0';
    snprintf(uid, sizeof(uid), "%s", last + 1);
    folder_hash = fhash;
    raw = (char *)rs;
    raw_len = strlen(rs);
  }
  else {
    uint64_t u;
    if(cJSON_IsNumber(jid)
           ? param_uint(jid, &u)
           : util_parse_u64(jid->valuestring, 1, UINT32_MAX, &u) ||
                 u > UINT32_MAX)
      return result_set(
          r, false, "Please provide a valid integer value in the id parameter");
    snprintf(uid, sizeof(uid), "%llu", (unsigned long long)u);
    struct imap *im = open_folder(c, folder, false, err, sizeof(err));
    if(!im)
      return result_set(r, false, err);
    struct fetch_ctx f = {
      (uint32_t)u, { 0 }, SOAR_DEFAULT_MAX_MESSAGE, 0, false
    };
    buf_init(&f.body, SOAR_DEFAULT_MAX_MESSAGE + 1);
    struct imap_fetch_req req = { IMAP_FETCH_INTERNALDATE | IMAP_FETCH_BODY,
                                  "" };
    struct imap_fetch_handler h = { fetch_body, fetch_message, &f };
    int frc = imap_uid_fetch(im, uid, &req, &h);
    if(frc || !f.found) {
      snprintf(msg, sizeof(msg), "Fetch for uuid: %s failed, reason: %s", uid,
               frc ? imap_error(im) : "no message with that UID in the folder");
      imap_free(im);
      buf_free(&f.body);
      return result_set(r, false, msg);
    }
    imap_logout(im);
    imap_free(im);
    if(f.total > f.body.len)
      log_warn("email %s is %zu bytes; only the first %zu are processed", uid,
               f.total, f.body.len);
    raw_len = f.body.len;
    raw = buf_steal(&f.body);
    buf_free(&f.body);
    if(!raw)
      return result_set(r, false, "out of memory");
  }

  cJSON *headers = soar_email_headers(raw ? raw : "", raw_len);
  if(headers)
    cJSON_AddItemToArray(cJSON_GetObjectItem(r, "data"), headers);
  if(!ingest_email)
    result_set(r, true, "Email not ingested.");
  else {
    long long id;
    if(ingest(env, c, raw, raw_len, folder, folder_hash, uid, &id, err,
              sizeof(err)))
      result_set(r, false, err);
    else {
      cJSON_AddNumberToObject(cJSON_GetObjectItem(r, "summary"), "container_id",
                              (double)id);
      snprintf(msg, sizeof(msg), "Container id: %lld", id);
      result_set(r, true, msg);
    }
  }
  if(container)
    cJSON_Delete(container); /* raw pointed into it */
  else
    free(raw);
  return r;
}

cJSON *soar_action_run(const char *identifier, const struct soar_config *cfg,
                       const cJSON *param, const struct soar_env *env)
{
  cJSON *r = result_new(param);
  char msg[256];

  if(!r)
    return NULL;
  if(!strcmp(identifier, "test_asset_connectivity") ||
     !strcmp(identifier, "test_connectivity"))
    return test_connectivity(cfg, r);
  if(!strcmp(identifier, "get_email"))
    return get_email(cfg, param, env, r);
  snprintf(msg, sizeof(msg), "Unsupported action: %.200s", identifier);
  return result_set(r, false, msg);
}
