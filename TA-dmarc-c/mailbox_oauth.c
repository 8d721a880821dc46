/*
 * mailbox_oauth: the XOAUTH2 token source of the mail inputs (see
 * mailbox_oauth.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mailbox_oauth.h"

#include "buf.h"
#include "log.h"

/* A secret file holds one line; anything longer than a token can be is not
 * a secret file we understand. */
#define SECRET_FILE_MAX (OAUTH_MAX_TOKEN_LEN + 2)

/* First line of path (CR/LF stripped), malloc'd; what is read is wiped from
 * our buffer whatever happens.  what names the secret in errors. */
static char *read_secret(const char *path, const char *what, char *err,
                         size_t errlen)
{
  char *buf = malloc(SECRET_FILE_MAX + 1), *out = NULL;
  size_t n;
  FILE *f;

  if(!buf) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  f = fopen(path, "r");
  if(!f) {
    snprintf(err, errlen, "cannot read the %s file %s: %s", what, path,
             strerror(errno));
    free(buf);
    return NULL;
  }
  n = fread(buf, 1, SECRET_FILE_MAX, f);
  fclose(f);
  buf[n] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  if(!*buf)
    snprintf(err, errlen, "the %s file %s is empty", what, path);
  else if(strlen(buf) > OAUTH_MAX_TOKEN_LEN)
    snprintf(err, errlen, "the %s file %s: first line longer than %d bytes",
             what, path, OAUTH_MAX_TOKEN_LEN);
  else if(!(out = strdup(buf)))
    snprintf(err, errlen, "out of memory");
  OPENSSL_cleanse(buf, SECRET_FILE_MAX + 1);
  free(buf);
  return out;
}

static void wipe_free(char **s)
{
  if(*s) {
    OPENSSL_cleanse(*s, strlen(*s));
    free(*s);
    *s = NULL;
  }
}

static bool set(const char *s)
{
  return s && *s;
}

int mailbox_oauth_check(const struct mailbox_oauth *o, char *err, size_t errlen)
{
  bool refresh = set(o->refresh_token_file) || set(o->refresh_token);

  if(!set(o->client_id))
    snprintf(err, errlen, "an OAuth2 client id is required");
  else if(refresh && !set(o->token_url))
    snprintf(err, errlen,
             "a refresh token needs the token URL of its "
             "provider");
  else if(!refresh && !set(o->client_secret_file) && !set(o->client_secret))
    snprintf(err, errlen,
             "an OAuth2 client secret (client credentials) or "
             "a refresh token is required");
  else if(!refresh && !set(o->authority) && !set(o->token_url))
    snprintf(err, errlen,
             "the client-credentials grant needs an authority "
             "(https://login.microsoftonline.com/<tenant>) or a token URL");
  else {
    struct oauth_config c;
    char ep[2048];
    memset(&c, 0, sizeof(c));
    c.token_url = set(o->token_url) ? o->token_url : NULL;
    c.authority = c.token_url ? NULL : o->authority;
    return oauth_token_endpoint(&c, ep, sizeof(ep), err, errlen);
  }
  return -1;
}

/* The default cache file: one per (grant, endpoint, client, scope). */
static char *cache_name(const char *dir, const struct oauth_config *c,
                        const char *endpoint)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  struct buf key;
  char *path = NULL;
  size_t plen;

  buf_init(&key, 16 * 1024);
  buf_printf(&key, "%s\n%s\n%s\n%s", oauth_grant_name(c->grant), endpoint,
             c->client_id, c->scope ? c->scope : "");
  if(key.data &&
     EVP_Digest(key.data, key.len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
     mdlen >= 8) {
    plen = strlen(dir) + sizeof(MAILBOX_OAUTH_CACHE_PREFIX) + 32;
    if((path = malloc(plen)))
      snprintf(path, plen,
               "%s/" MAILBOX_OAUTH_CACHE_PREFIX
               "%02x%02x%02x%02x%02x%02x%02x%02x.json",
               dir, md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7]);
  }
  buf_free(&key);
  return path;
}

int mailbox_oauth_prepare(struct mailbox_oauth *o, const char *checkpoint_dir,
                          char *err, size_t errlen)
{
  struct oauth_config *c = &o->cfg;
  char ep[2048];

  if(mailbox_oauth_check(o, err, errlen))
    return -1;
  if(set(o->client_secret_file)) {
    wipe_free(&o->client_secret);
    o->client_secret =
        read_secret(o->client_secret_file, "client secret", err, errlen);
    if(!o->client_secret)
      return -1;
  }
  if(set(o->refresh_token_file)) {
    wipe_free(&o->refresh_token);
    o->refresh_token =
        read_secret(o->refresh_token_file, "refresh token", err, errlen);
    if(!o->refresh_token)
      return -1;
  }
  memset(c, 0, sizeof(*c));
  c->grant = o->refresh_token ? OAUTH_GRANT_REFRESH_TOKEN
                              : OAUTH_GRANT_CLIENT_CREDENTIALS;
  c->token_url = set(o->token_url) ? o->token_url : NULL;
  c->authority = c->token_url ? NULL : o->authority;
  c->client_id = o->client_id;
  c->client_secret = o->client_secret;
  c->refresh_token = o->refresh_token;
  c->scope = set(o->scope) ? o->scope : NULL;
  c->ca_file = set(o->ca_file) ? o->ca_file : NULL;
  if(oauth_token_endpoint(c, ep, sizeof(ep), err, errlen))
    return -1;
  free(o->cache_path);
  o->cache_path = NULL;
  if(set(o->token_cache))
    o->cache_path = strdup(o->token_cache);
  else if(set(checkpoint_dir))
    o->cache_path = cache_name(checkpoint_dir, c, ep);
  else
    log_info("no checkpoint directory and no token cache: a new OAuth2 "
             "token is requested on every run");
  if((set(o->token_cache) || set(checkpoint_dir)) && !o->cache_path) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  c->cache_path = o->cache_path;
  return 0;
}

char *mailbox_oauth_token(void *ud, int refresh, char *err, size_t errlen)
{
  struct mailbox_oauth *o = ud;
  struct oauth_token *t = NULL;
  char *s;

  if(oauth_get_token(&o->cfg, refresh != 0, &t, err, errlen))
    return NULL;
  if(t->from_cache)
    log_info("OAuth2 access token for client %s from the cache",
             o->cfg.client_id);
  else
    log_info("OAuth2 access token for client %s: a new one (%s grant)",
             o->cfg.client_id, oauth_grant_name(o->cfg.grant));
  s = strdup(t->access_token);
  oauth_token_free(t);
  if(!s)
    snprintf(err, errlen, "out of memory");
  return s;
}

void mailbox_oauth_free(struct mailbox_oauth *o)
{
  wipe_free(&o->client_secret);
  wipe_free(&o->refresh_token);
  free(o->cache_path);
  o->cache_path = NULL;
  memset(&o->cfg, 0, sizeof(o->cfg));
}
