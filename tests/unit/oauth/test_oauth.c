/*
 * oauth tests: the token client against tests/lib/oauth_server.py (plain
 * HTTP and HTTPS on 127.0.0.1), and the end-to-end path token ->
 * AUTHENTICATE XOAUTH2 against a Dovecot whose oauth2 passdb asks the same
 * server's introspection endpoint.  run_oauth_tests.sh starts both and
 * exports OAUTH_PORT, OAUTH_TLS_PORT, OAUTH_CA, OAUTH_CLIENT_ID,
 * OAUTH_CLIENT_SECRET, OAUTH_REFRESH_TOKEN, OAUTH_TMP and DOVETEST_*.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "imap.h"
#include "oauth.h"
#include "buf.h"
#include "log.h"

static const char *tenv(const char *name)
{
  const char *v = getenv(name);
  if(!v || !*v) {
    fprintf(stderr, "%s not set: run via run_oauth_tests.sh\n", name);
    exit(1);
  }
  return v;
}

/* --------------------------------------------- talking to the test server */

static size_t collect(char *p, size_t size, size_t nmemb, void *ctx)
{
  struct buf *b = ctx;
  return buf_append(b, p, size * nmemb) == 0 ? size * nmemb : 0;
}

/* GET (body NULL) or POST to the test server; returns the parsed JSON. */
static cJSON *server_call(const char *path, const char *body)
{
  char url[256];
  struct buf b;
  CURL *c = curl_easy_init();
  cJSON *doc;

  assert_non_null(c);
  buf_init(&b, 1 << 20);
  snprintf(url, sizeof(url), "http://127.0.0.1:%s%s", tenv("OAUTH_PORT"), path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  if(body)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  curl_easy_cleanup(c);
  doc = cJSON_Parse(b.data ? b.data : "");
  buf_free(&b);
  assert_non_null(doc);
  return doc;
}

static void control(const char *json)
{
  cJSON_Delete(server_call("/control", json));
}

static int stat_int(const char *name)
{
  cJSON *d = server_call("/stats", NULL);
  const cJSON *v = cJSON_GetObjectItem(d, name);
  int n = cJSON_IsNumber(v) ? v->valueint : -1;
  cJSON_Delete(d);
  return n;
}

static int stat_grant(const char *grant)
{
  cJSON *d = server_call("/stats", NULL);
  const cJSON *v =
      cJSON_GetObjectItem(cJSON_GetObjectItem(d, "by_grant"), grant);
  int n = cJSON_IsNumber(v) ? v->valueint : 0;
  cJSON_Delete(d);
  return n;
}

static char *stat_str(const char *name)
{
  cJSON *d = server_call("/stats", NULL);
  const cJSON *v = cJSON_GetObjectItem(d, name);
  char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
  cJSON_Delete(d);
  return s;
}

/* ------------------------------------------------------------- fixtures */

struct fx {
  char dir[PATH_MAX / 2]; /* private temp dir for the cache */
  char cache[PATH_MAX];
  char url[128];
  struct oauth_config cfg;
  char err[512];
};

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof(*f));
  const char *tmp = getenv("OAUTH_TMP") ? getenv("OAUTH_TMP") : "/tmp";

  snprintf(f->dir, sizeof(f->dir), "%s/t.XXXXXX", tmp);
  if(!mkdtemp(f->dir))
    return -1;
  snprintf(f->cache, sizeof(f->cache), "%s/token-cache.json", f->dir);
  snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%s/token",
           tenv("OAUTH_PORT"));
  f->cfg.grant = OAUTH_GRANT_CLIENT_CREDENTIALS;
  f->cfg.token_url = f->url;
  f->cfg.client_id = tenv("OAUTH_CLIENT_ID");
  f->cfg.client_secret = tenv("OAUTH_CLIENT_SECRET");
  f->cfg.timeout_ms = 10000;
  control("{\"reset\":true}");
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  DIR *d = opendir(f->dir);
  struct dirent *e;
  char p[PATH_MAX + 300];

  while(d && (e = readdir(d)) != NULL) {
    if(e->d_name[0] == '.')
      continue;
    snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
    unlink(p);
  }
  if(d)
    closedir(d);
  rmdir(f->dir);
  free(f);
  return 0;
}

static struct oauth_token *get_ok(struct fx *f, bool force)
{
  struct oauth_token *t = (struct oauth_token *)1;
  int rc = oauth_get_token(&f->cfg, force, &t, f->err, sizeof(f->err));
  if(rc != 0)
    fail_msg("oauth_get_token failed: %s", f->err);
  assert_non_null(t);
  return t;
}

static void get_fails(struct fx *f, bool force)
{
  struct oauth_token *t = (struct oauth_token *)1;
  assert_int_equal(oauth_get_token(&f->cfg, force, &t, f->err, sizeof(f->err)),
                   -1);
  assert_null(t);
  assert_true(f->err[0] != '\0');
}

static void assert_contains(const char *hay, const char *needle)
{
  if(!hay)
    fail_msg("'%s' not found in NULL", needle);
  else if(!strstr(hay, needle))
    fail_msg("'%s' not found in '%s'", needle, hay);
}

/* Never prints the secret itself when it fails. */
static void assert_no_secret(const char *hay, const char *secret,
                             const char *what)
{
  if(strstr(hay, secret))
    fail_msg("a secret (%s) appears in: %.60s...", what, hay);
}

static cJSON *read_cache(const char *path)
{
  FILE *fp = fopen(path, "r");
  char data[70000];
  size_t n;
  cJSON *doc;

  assert_non_null(fp);
  n = fread(data, 1, sizeof(data) - 1, fp);
  fclose(fp);
  data[n] = '\0';
  doc = cJSON_Parse(data);
  assert_non_null(doc);
  return doc;
}

static char *cache_str(const char *path, const char *name)
{
  cJSON *d = read_cache(path);
  const cJSON *v = cJSON_GetObjectItem(d, name);
  char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
  cJSON_Delete(d);
  return s;
}

/* ----------------------------------------------------- client credentials */

static void test_client_credentials_ok(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t = get_ok(f, false);
  int64_t now = (int64_t)time(NULL);
  char *scope;

  assert_memory_equal(t->access_token, "at-", 3);
  assert_string_equal(t->token_type, "Bearer");
  assert_false(t->from_cache);
  assert_true(t->expires_at >= now + 3590 && t->expires_at <= now + 3601);
  oauth_token_free(t);
  assert_int_equal(stat_grant("client_credentials"), 1);
  /* No scope configured: the Exchange Online default is sent. */
  scope = stat_str("last_scope");
  assert_non_null(scope);
  assert_string_equal(scope, OAUTH_M365_DEFAULT_SCOPE);
  free(scope);

  /* A configured scope is sent as is. */
  f->cfg.scope = "https://example.test/.default other";
  t = get_ok(f, false);
  oauth_token_free(t);
  scope = stat_str("last_scope");
  assert_string_equal(scope, "https://example.test/.default other");
  free(scope);
}

static void test_authority_form(void **state)
{
  struct fx *f = *state;
  char auth[160], ep[256], want[256];
  struct oauth_token *t;

  snprintf(auth, sizeof(auth), "http://127.0.0.1:%s/contoso-tenant-id/",
           tenv("OAUTH_PORT"));
  snprintf(want, sizeof(want),
           "http://127.0.0.1:%s/contoso-tenant-id/oauth2/v2.0/token",
           tenv("OAUTH_PORT"));
  f->cfg.token_url = NULL;
  f->cfg.authority = auth;
  assert_int_equal(
      oauth_token_endpoint(&f->cfg, ep, sizeof(ep), f->err, sizeof(f->err)), 0);
  assert_string_equal(ep, want);
  t = get_ok(f, false);
  oauth_token_free(t);
  assert_int_equal(stat_int("token_requests"), 1);
  /* Without either, a clear error. */
  f->cfg.authority = NULL;
  get_fails(f, false);
  assert_contains(f->err, "no OAuth token URL or authority");
}

static void test_wrong_secret(void **state)
{
  struct fx *f = *state;
  const char *bad = "Wr0ng-Secret-Value-GRUE-77";

  f->cfg.client_secret = bad;
  get_fails(f, false);
  /* names the endpoint, the HTTP status and the OAuth error code */
  assert_contains(f->err, f->url);
  assert_contains(f->err, "HTTP 401");
  assert_contains(f->err, "invalid_client");
  assert_contains(f->err, "Invalid client secret provided.");
  assert_no_secret(f->err, bad, "wrong client secret");

  /* Unknown client id: same code. */
  f->cfg.client_secret = tenv("OAUTH_CLIENT_SECRET");
  f->cfg.client_id = "no-such-client";
  get_fails(f, false);
  assert_contains(f->err, "invalid_client");
  assert_no_secret(f->err, tenv("OAUTH_CLIENT_SECRET"), "client secret");
}

/* A careless server that echoes what it got: the message is scrubbed. */
static void test_echoing_server_redacted(void **state)
{
  struct fx *f = *state;
  const char *bad = "Echoed-Secret-Value-FROTZ-42";

  control("{\"echo_secret\":true}");
  f->cfg.client_secret = bad;
  get_fails(f, false);
  assert_contains(f->err, "invalid_client");
  assert_contains(f->err, "[redacted]");
  assert_no_secret(f->err, bad, "echoed client secret");

  control("{\"fail\":{\"status\":400,\"error\":\"invalid_grant\"}}");
  f->cfg.client_secret = tenv("OAUTH_CLIENT_SECRET");
  f->cfg.grant = OAUTH_GRANT_REFRESH_TOKEN;
  f->cfg.refresh_token = tenv("OAUTH_REFRESH_TOKEN");
  get_fails(f, false);
  assert_contains(f->err, "invalid_grant");
  assert_contains(f->err, "HTTP 400");
  assert_no_secret(f->err, tenv("OAUTH_REFRESH_TOKEN"), "refresh token");
  assert_no_secret(f->err, tenv("OAUTH_CLIENT_SECRET"), "client secret");
}

/* A secret that occurs inside the redaction mark itself must not make the
 * scrubbing loop forever. */
static void test_redact_mark_overlap(void **state)
{
  struct fx *f = *state;

  control("{\"echo_secret\":true}");
  f->cfg.client_secret = "redacted";
  get_fails(f, false);
  assert_contains(f->err, "invalid_client");
  assert_contains(f->err, "(received: [redacted])");
}

static void test_timeout(void **state)
{
  struct fx *f = *state;
  int64_t t0;

  control("{\"delay_ms\":3000}");
  f->cfg.timeout_ms = 500;
  t0 = (int64_t)time(NULL);
  get_fails(f, false);
  assert_true((int64_t)time(NULL) - t0 <= 2);
  assert_contains(f->err, f->url);
  assert_contains(f->err, "timed out");
}

static void test_bad_answers(void **state)
{
  struct fx *f = *state;

  control("{\"not_json\":true}");
  get_fails(f, false);
  assert_contains(f->err, "HTTP 502 (answer is not JSON)");

  control("{\"reset\":true, \"fail\":{\"status\":500,"
          "\"error\":\"temporarily_unavailable\",\"description\":"
          "\"line one\\nERROR forged line\"}}");
  get_fails(f, false);
  assert_contains(f->err, "HTTP 500: temporarily_unavailable: line one?ERROR");
  assert_null(strchr(f->err, '\n'));

  control("{\"reset\":true, \"token_type\":\"mac\"}");
  get_fails(f, false);
  assert_contains(f->err, "token_type 'mac' is not Bearer");
}

static void test_expires_in_forms(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t;
  int64_t now = (int64_t)time(NULL);

  f->cfg.cache_path = f->cache;
  control("{\"expires_in\":1800, \"expires_in_string\":true}");
  t = get_ok(f, false);
  assert_true(t->expires_at >= now + 1790 && t->expires_at <= now + 1801);
  oauth_token_free(t);

  /* No lifetime: the token is returned but never reused from the cache. */
  control("{\"reset\":true, \"omit_expires_in\":true}");
  t = get_ok(f, true);
  assert_int_equal(t->expires_at, 0);
  oauth_token_free(t);
  t = get_ok(f, false);
  assert_false(t->from_cache);
  oauth_token_free(t);
  assert_int_equal(stat_int("token_requests"), 2);
}

/* ------------------------------------------------------------------ cache */

static void test_cache_hit(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t1, *t2;

  f->cfg.cache_path = f->cache;
  t1 = get_ok(f, false);
  assert_false(t1->from_cache);
  assert_int_equal(stat_int("token_requests"), 1);
  t2 = get_ok(f, false);
  assert_true(t2->from_cache);
  assert_string_equal(t1->access_token, t2->access_token);
  assert_int_equal(t1->expires_at, t2->expires_at);
  /* no HTTP request for the second one */
  assert_int_equal(stat_int("token_requests"), 1);
  oauth_token_free(t1);
  oauth_token_free(t2);

  /* Another client id must not be served this client's token. */
  f->cfg.client_id = "other-client";
  get_fails(f, false);
  assert_contains(f->err, "invalid_client");
  assert_int_equal(stat_int("token_requests"), 2);
}

static void test_near_expiry(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t1, *t2;

  f->cfg.cache_path = f->cache;
  /* 100 s left is inside the default 300 s margin: ask again. */
  control("{\"expires_in\":100}");
  t1 = get_ok(f, false);
  t2 = get_ok(f, false);
  assert_false(t2->from_cache);
  assert_string_not_equal(t1->access_token, t2->access_token);
  assert_int_equal(stat_int("token_requests"), 2);
  oauth_token_free(t1);
  oauth_token_free(t2);

  /* With a 30 s margin the same lifetime is good enough. */
  f->cfg.expiry_margin_s = 30;
  t1 = get_ok(f, false);
  assert_true(t1->from_cache);
  oauth_token_free(t1);
  assert_int_equal(stat_int("token_requests"), 2);

  /* Really expired (expires_in 1, no margin): a new request. */
  control("{\"expires_in\":1}");
  f->cfg.expiry_margin_s = -1;
  t1 = get_ok(f, true);
  sleep(2);
  t2 = get_ok(f, false);
  assert_false(t2->from_cache);
  assert_string_not_equal(t1->access_token, t2->access_token);
  assert_int_equal(stat_int("token_requests"), 4);
  oauth_token_free(t1);
  oauth_token_free(t2);
}

static void test_force_refresh(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t1, *t2, *t3;

  f->cfg.cache_path = f->cache;
  t1 = get_ok(f, false);
  t2 = get_ok(f, true);
  assert_false(t2->from_cache);
  assert_string_not_equal(t1->access_token, t2->access_token);
  assert_int_equal(stat_int("token_requests"), 2);
  /* the forced token replaced the cached one */
  t3 = get_ok(f, false);
  assert_true(t3->from_cache);
  assert_string_equal(t3->access_token, t2->access_token);
  assert_int_equal(stat_int("token_requests"), 2);
  oauth_token_free(t1);
  oauth_token_free(t2);
  oauth_token_free(t3);
}

static void list_dir(const char *dir, char *out, size_t outlen)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t n = 0;

  out[0] = '\0';
  assert_non_null(d);
  while((e = readdir(d)) != NULL) {
    if(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? " " : "", e->d_name);
    assert_true(n < outlen);
  }
  closedir(d);
}

static void test_cache_file_safety(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t;
  struct stat st;
  char names[1024];
  mode_t old = umask(0); /* a careless umask must not matter */
  int fd;

  f->cfg.cache_path = f->cache;
  t = get_ok(f, false);
  umask(old);
  assert_int_equal(stat(f->cache, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  /* only the cache and its lock file: no temporary file left behind */
  list_dir(f->dir, names, sizeof(names));
  if(strcmp(names, "token-cache.json token-cache.json.lock") != 0 &&
     strcmp(names, "token-cache.json.lock token-cache.json") != 0)
    fail_msg("unexpected files in the cache dir: %s", names);
  assert_int_equal(stat(f->dir, &st), 0);
  {
    char lock[PATH_MAX + 8];
    snprintf(lock, sizeof(lock), "%s.lock", f->cache);
    assert_int_equal(stat(lock, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    assert_int_equal(st.st_size, 0);
  }
  {
    char *at = cache_str(f->cache, "access_token");
    assert_string_equal(at, t->access_token);
    free(at);
  }
  oauth_token_free(t);

  /* A cache others can read is not trusted: a new token, file made 0600. */
  assert_int_equal(chmod(f->cache, 0644), 0);
  t = get_ok(f, false);
  assert_false(t->from_cache);
  oauth_token_free(t);
  assert_int_equal(stat(f->cache, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);

  /* A corrupt cache is ignored and replaced. */
  fd = open(f->cache, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "{\"version\":1,", 13), 13);
  close(fd);
  t = get_ok(f, false);
  assert_false(t->from_cache);
  oauth_token_free(t);
  t = get_ok(f, false);
  assert_true(t->from_cache);
  oauth_token_free(t);

  /* A symlink in place of the cache is not followed. */
  unlink(f->cache);
  assert_int_equal(symlink("/etc/passwd", f->cache), 0);
  t = get_ok(f, false);
  assert_false(t->from_cache);
  oauth_token_free(t);
  assert_int_equal(lstat(f->cache, &st), 0);
  assert_true(S_ISREG(st.st_mode)); /* replaced by rename */
  assert_int_equal(stat_int("token_requests"), 4);
}

/* ------------------------------------------------------------ refresh grant */

static void test_refresh_rotation(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t;
  char *rt1, *rt2;
  const char *orig = tenv("OAUTH_REFRESH_TOKEN");

  f->cfg.grant = OAUTH_GRANT_REFRESH_TOKEN;
  f->cfg.refresh_token = orig;
  f->cfg.cache_path = f->cache;
  t = get_ok(f, false);
  assert_false(t->from_cache);
  oauth_token_free(t);
  assert_int_equal(stat_grant("refresh_token"), 1);
  /* the rotated refresh token is in the cache, not the original */
  rt1 = cache_str(f->cache, "refresh_token");
  assert_non_null(rt1);
  assert_string_not_equal(rt1, orig);
  assert_memory_equal(rt1, "rt-", 3);

  /* A forced refresh must use the rotated token: the server invalidated
   * the original one when it rotated it. */
  t = get_ok(f, true);
  oauth_token_free(t);
  assert_int_equal(stat_grant("refresh_token"), 2);
  rt2 = cache_str(f->cache, "refresh_token");
  assert_string_not_equal(rt2, rt1);

  /* Proof that the original is dead: without the cache it fails. */
  f->cfg.cache_path = NULL;
  get_fails(f, false);
  assert_contains(f->err, "invalid_grant");
  assert_no_secret(f->err, orig, "refresh token");

  /* The cache still works (rotation chain intact). */
  f->cfg.cache_path = f->cache;
  t = get_ok(f, true);
  oauth_token_free(t);

  /* A different configured refresh token: the cache (and its rotated
   * token) belongs to the old one and is not used. */
  f->cfg.refresh_token = "a-newly-configured-refresh-token";
  get_fails(f, false);
  assert_contains(f->err, "invalid_grant");
  assert_int_equal(stat_grant("refresh_token"), 5);
  free(rt1);
  free(rt2);
}

/* A server that does not rotate: the token in use stays in the cache. */
static void test_refresh_no_rotation(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t;
  char *rt;

  control("{\"rotate\":false}");
  f->cfg.grant = OAUTH_GRANT_REFRESH_TOKEN;
  f->cfg.refresh_token = tenv("OAUTH_REFRESH_TOKEN");
  f->cfg.cache_path = f->cache;
  t = get_ok(f, false);
  oauth_token_free(t);
  t = get_ok(f, true);
  oauth_token_free(t);
  rt = cache_str(f->cache, "refresh_token");
  assert_string_equal(rt, tenv("OAUTH_REFRESH_TOKEN"));
  free(rt);
  assert_int_equal(stat_grant("refresh_token"), 2);
}

/* Two processes sharing one cache and a rotating server: the lock keeps
 * them from using the same refresh token twice (the second use would be
 * invalid_grant). */
static void test_concurrent_rotation(void **state)
{
  struct fx *f = *state;
  pid_t pids[2];
  int i, st;

  f->cfg.grant = OAUTH_GRANT_REFRESH_TOKEN;
  f->cfg.refresh_token = tenv("OAUTH_REFRESH_TOKEN");
  f->cfg.cache_path = f->cache;
  for(i = 0; i < 2; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if(pids[i] == 0) {
      char err[512];
      for(int k = 0; k < 6; k++) {
        struct oauth_token *t;
        if(oauth_get_token(&f->cfg, true, &t, err, sizeof(err)) != 0) {
          fprintf(stderr, "child: %s\n", err);
          _exit(1);
        }
        oauth_token_free(t);
      }
      _exit(0);
    }
  }
  for(i = 0; i < 2; i++) {
    assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
  }
  assert_int_equal(stat_grant("refresh_token"), 12);
  assert_int_equal(stat_int("errors"), 0);
}

/* ----------------------------------------------------------- URL policy */

static void test_url_policy(void **state)
{
  struct fx *f = *state;
  static const char *const refused[] = {
    "http://192.0.2.10/token", /* plain http, not loopback */
    "http://localhost.example.net/token",
    "http://127.0.0.1.example.net/token",
    "ftp://127.0.0.1/token",
    "file:///etc/passwd",
    "not a url",
  };
  char ep[256];

  for(size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    f->cfg.token_url = refused[i];
    get_fails(f, false);
    assert_int_equal(
        oauth_token_endpoint(&f->cfg, ep, sizeof(ep), f->err, sizeof(f->err)),
        -1);
  }
  f->cfg.token_url = "http://192.0.2.10/token";
  get_fails(f, false);
  assert_contains(f->err, "refusing plain http:// token URL "
                          "http://192.0.2.10/token");
  /* a password in the URL is refused and not repeated */
  f->cfg.token_url = "https://user:Url-Pass-Secret-99@127.0.0.1/token";
  get_fails(f, false);
  assert_contains(f->err, "must not contain a user name or password");
  assert_no_secret(f->err, "Url-Pass-Secret-99", "URL password");
  f->cfg.token_url = "https://user:Url-Pass-Secret-99@127.0.0.1:x/token";
  get_fails(f, false);
  assert_contains(f->err, "not a valid URL");
  assert_no_secret(f->err, "Url-Pass-Secret-99", "URL password");
  f->cfg.token_url = NULL;
  f->cfg.authority = "https://u:Url-Pass-Secret-99@127.0.0.1/t?x";
  get_fails(f, false);
  assert_contains(f->err, "not a base URL");
  assert_no_secret(f->err, "Url-Pass-Secret-99", "URL password");
  f->cfg.authority = NULL;
  /* none of these made a request */
  assert_int_equal(stat_int("token_requests"), 0);

  /* loopback names are fine for http */
  snprintf(f->url, sizeof(f->url), "http://localhost:%s/token",
           tenv("OAUTH_PORT"));
  f->cfg.token_url = f->url;
  oauth_token_free(get_ok(f, false));
  assert_int_equal(stat_int("token_requests"), 1);
}

static void test_oversized_answer(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t;
  char want[64];

  snprintf(want, sizeof(want), "response larger than %d bytes",
           OAUTH_MAX_RESPONSE);
  /* with Content-Length (refused from the header) */
  control("{\"oversize\":100000}");
  get_fails(f, false);
  assert_contains(f->err, want);
  assert_contains(f->err, f->url);
  /* chunked: no length announced, cut while reading */
  control("{\"oversize\":100000, \"chunked\":true}");
  get_fails(f, false);
  assert_contains(f->err, want);
  /* a padded answer below the limit is fine */
  control("{\"oversize\":30000, \"chunked\":true}");
  t = get_ok(f, false);
  oauth_token_free(t);
}

/* ------------------------------------------------------------------- TLS */

static void test_https_extra_ca(void **state)
{
  struct fx *f = *state;
  char url[128];
  struct oauth_token *t;

  snprintf(url, sizeof(url), "https://127.0.0.1:%s/token",
           tenv("OAUTH_TLS_PORT"));
  f->cfg.token_url = url;
  /* self-signed test CA, not in the system store: refused */
  get_fails(f, false);
  assert_contains(f->err, url);
  assert_contains(f->err, "certificate");
  /* added as an extra trust anchor: accepted, by IP and by name */
  f->cfg.ca_file = tenv("OAUTH_CA");
  t = get_ok(f, false);
  oauth_token_free(t);
  snprintf(url, sizeof(url), "https://localhost:%s/token",
           tenv("OAUTH_TLS_PORT"));
  t = get_ok(f, false);
  oauth_token_free(t);
  assert_int_equal(stat_int("token_requests"), 2);
  /* a CA file that does not exist is an error, not "trust nothing extra" */
  f->cfg.ca_file = "/nonexistent/ca.pem";
  get_fails(f, false);
  /* a system without a CA bundle (no ca-certificates): the given file is
   * used alone; without one, one line naming the paths tried */
  setenv("SSL_CERT_FILE", "/nonexistent/bundle.pem", 1);
  setenv("SSL_CERT_DIR", "/nonexistent/certs", 1);
  f->cfg.ca_file = tenv("OAUTH_CA");
  t = get_ok(f, false);
  oauth_token_free(t);
  f->cfg.ca_file = NULL;
  get_fails(f, false);
  assert_contains(f->err, "no trusted CA certificates");
  assert_contains(f->err, "/nonexistent/bundle.pem");
  assert_contains(f->err, "/nonexistent/certs");
  assert_null(strchr(f->err, '\n'));
  unsetenv("SSL_CERT_FILE");
  unsetenv("SSL_CERT_DIR");
}

/* --------------------------------------------------------- secrets in logs */

static void test_secrets_never_logged(void **state)
{
  struct fx *f = *state;
  char logpath[PATH_MAX + 16], *logtext, *rt;
  const char *secret = tenv("OAUTH_CLIENT_SECRET");
  const char *refresh = tenv("OAUTH_REFRESH_TOKEN");
  struct oauth_token *t;
  char tokens[4][200];
  int saved, fd;
  FILE *fp;
  long n;

  snprintf(logpath, sizeof(logpath), "%s/stderr.log", f->dir);
  fflush(stderr);
  saved = dup(2);
  fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(saved >= 0 && fd >= 0);
  dup2(fd, 2);
  close(fd);
  log_set_level(LOG_DEBUG);

  f->cfg.cache_path = f->cache;
  t = get_ok(f, false); /* new token: INFO line */
  snprintf(tokens[0], sizeof(tokens[0]), "%s", t->access_token);
  oauth_token_free(t);
  t = get_ok(f, false); /* cache hit: DEBUG line */
  oauth_token_free(t);
  chmod(f->cache, 0640); /* WARN: unsafe cache */
  t = get_ok(f, false);
  snprintf(tokens[1], sizeof(tokens[1]), "%s", t->access_token);
  oauth_token_free(t);
  f->cfg.grant = OAUTH_GRANT_REFRESH_TOKEN; /* other binding: INFO */
  f->cfg.refresh_token = refresh;
  t = get_ok(f, false);
  snprintf(tokens[2], sizeof(tokens[2]), "%s", t->access_token);
  oauth_token_free(t);
  rt = cache_str(f->cache, "refresh_token");
  f->cfg.cache_path = NULL; /* WARN: rotation not kept */
  f->cfg.refresh_token = rt;
  t = get_ok(f, false);
  snprintf(tokens[3], sizeof(tokens[3]), "%s", t->access_token);
  oauth_token_free(t);
  f->cfg.refresh_token = refresh; /* invalid_grant now */
  get_fails(f, false);
  fprintf(stderr, "ERROR %s\n", f->err); /* as a caller would log it */
  f->cfg.grant = OAUTH_GRANT_CLIENT_CREDENTIALS;
  control("{\"echo_secret\":true, \"fail\":{\"status\":401,"
          "\"error\":\"invalid_client\"}}");
  get_fails(f, false);
  fprintf(stderr, "ERROR %s\n", f->err);
  control("{\"reset\":true}");
  f->cfg.cache_path = "/nonexistent-dir/cache.json"; /* lock fails */
  get_fails(f, false);
  fprintf(stderr, "ERROR %s\n", f->err);

  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  log_set_level(LOG_INFO);

  fp = fopen(logpath, "r");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  rewind(fp);
  logtext = calloc(1, (size_t)n + 1);
  assert_non_null(logtext);
  assert_int_equal(fread(logtext, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  /* the log did record what happened ... */
  assert_contains(logtext, "INFO oauth: new access token for client");
  assert_contains(logtext, "DEBUG oauth: using cached token");
  assert_contains(logtext, "WARN oauth: token cache");
  assert_contains(logtext, "rotated the refresh token but no token cache");
  assert_contains(logtext, "invalid_grant");
  assert_contains(logtext, "[redacted]");
  /* ... and no secret of any kind */
  assert_no_secret(logtext, secret, "client secret");
  assert_no_secret(logtext, refresh, "configured refresh token");
  assert_no_secret(logtext, rt, "rotated refresh token");
  for(int i = 0; i < 4; i++)
    assert_no_secret(logtext, tokens[i], "access token");
  free(logtext);
  free(rt);
}

/* ------------------------------------------------- end to end with Dovecot */

static struct imap *imap_open(void)
{
  struct imap_opts o;
  char err[512];
  struct imap *im;

  memset(&o, 0, sizeof(o));
  o.conn.host = "127.0.0.1";
  o.conn.port = (uint16_t)atoi(tenv("DOVETEST_IMAPS_PORT"));
  o.conn.ca_file = tenv("DOVETEST_CA");
  o.conn.io_timeout_ms = 10000;
  o.tls = IMAP_TLS_IMPLICIT;
  im = imap_connect(&o, err, sizeof(err));
  if(!im)
    fail_msg("imap_connect: %s", err);
  assert_true(imap_has_capability(im, "AUTH=XOAUTH2"));
  return im;
}

static int xoauth2_login(const char *token)
{
  struct imap *im = imap_open();
  int rc = imap_authenticate_xoauth2(im, tenv("DOVETEST_USER"), token);
  if(rc == 0)
    assert_int_equal(imap_get_state(im), IMAP_STATE_AUTH);
  else
    assert_int_equal(imap_get_state(im), IMAP_STATE_NOT_AUTH);
  imap_free(im);
  return rc;
}

static void test_e2e_dovecot(void **state)
{
  struct fx *f = *state;
  struct oauth_token *t, *t2;
  int before;

  if(strcmp(tenv("DOVETEST_OAUTH"), "introspect") != 0)
    fail_msg("Dovecot must run with DOVETEST_OAUTH=introspect");
  f->cfg.cache_path = f->cache;
  t = get_ok(f, false);
  before = stat_int("introspect_active");
  assert_int_equal(xoauth2_login(t->access_token), 0);
  /* Dovecot really asked our server */
  assert_true(stat_int("introspect_active") > before);

  /* unknown token */
  assert_int_equal(xoauth2_login("at-0000000000000000000000000000000000000000"),
                   -1);

  /* revoked early: login fails; the caller's one forced refresh fixes it */
  control("{\"revoke\":true}");
  t2 = get_ok(f, false);
  assert_true(t2->from_cache);
  assert_int_equal(xoauth2_login(t2->access_token), -1);
  oauth_token_free(t2);
  t2 = get_ok(f, true);
  assert_false(t2->from_cache);
  assert_int_equal(xoauth2_login(t2->access_token), 0);
  oauth_token_free(t2);
  oauth_token_free(t);

  /* expired token */
  control("{\"expires_in\":1}");
  t = get_ok(f, true);
  sleep(2);
  assert_int_equal(xoauth2_login(t->access_token), -1);
  oauth_token_free(t);

  /* refresh grant too */
  control("{\"reset\":true}");
  f->cfg.grant = OAUTH_GRANT_REFRESH_TOKEN;
  f->cfg.refresh_token = tenv("OAUTH_REFRESH_TOKEN");
  t = get_ok(f, false);
  assert_int_equal(xoauth2_login(t->access_token), 0);
  oauth_token_free(t);
}

/* ------------------------------------------------------------ arguments */

static void test_config_checks(void **state)
{
  struct fx *f = *state;

  f->cfg.client_secret = "";
  get_fails(f, false);
  assert_contains(f->err, "client secret is empty");
  f->cfg.client_secret = tenv("OAUTH_CLIENT_SECRET");
  f->cfg.client_id = NULL;
  get_fails(f, false);
  assert_contains(f->err, "client id is empty");
  f->cfg.client_id = tenv("OAUTH_CLIENT_ID");
  f->cfg.grant = OAUTH_GRANT_REFRESH_TOKEN;
  get_fails(f, false);
  assert_contains(f->err, "refresh token is empty");
  assert_int_equal(stat_int("token_requests"), 0);
  oauth_token_free(NULL);
  assert_string_equal(oauth_grant_name(OAUTH_GRANT_CLIENT_CREDENTIALS),
                      "client_credentials");
}

/* oauth_parse_token_answer reads an answer as oauth_get_token does; the
 * lifetime saturates at INT64_MAX instead of overflowing (a clock that far
 * out is the fuzz harness's, regress-expiry-overflow). */
static void test_parse_token_answer(void **state)
{
  static const char ok[] = "{\"access_token\":\"abc\",\"token_type\":"
                           "\"bearer\",\"expires_in\":\"3599\","
                           "\"refresh_token\":\"rt2\"}";
  static const char bad[] = "{\"error\":\"invalid_grant\","
                            "\"error_description\":\"x\\ny\"}";
  struct oauth_token *t;
  char *rt, err[256];

  (void)state;
  assert_int_equal(oauth_parse_token_answer(200, ok, sizeof(ok) - 1,
                                            "http://127.0.0.1/t", 1000, &t, &rt,
                                            err, sizeof(err)),
                   0);
  assert_string_equal(t->access_token, "abc");
  assert_string_equal(t->token_type, "bearer");
  assert_int_equal(t->expires_at, 1000 + 3599);
  assert_false(t->from_cache);
  assert_string_equal(rt, "rt2");
  free(rt);
  oauth_token_free(t);

  assert_int_equal(oauth_parse_token_answer(200, ok, sizeof(ok) - 1, "e",
                                            INT64_MAX - 10, &t, &rt, err,
                                            sizeof(err)),
                   0);
  assert_true(t->expires_at == INT64_MAX);
  free(rt);
  oauth_token_free(t);

  assert_int_equal(oauth_parse_token_answer(400, bad, sizeof(bad) - 1,
                                            "http://127.0.0.1/t", 0, &t, &rt,
                                            err, sizeof(err)),
                   -1);
  assert_null(t);
  assert_null(rt);
  assert_string_equal(err, "token request to http://127.0.0.1/t failed: "
                           "HTTP 400: invalid_grant: x?y");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_client_credentials_ok, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_authority_form, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wrong_secret, setup, teardown),
    cmocka_unit_test_setup_teardown(test_echoing_server_redacted, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(test_redact_mark_overlap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_answers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_expires_in_forms, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cache_hit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_near_expiry, setup, teardown),
    cmocka_unit_test_setup_teardown(test_force_refresh, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cache_file_safety, setup, teardown),
    cmocka_unit_test_setup_teardown(test_refresh_rotation, setup, teardown),
    cmocka_unit_test_setup_teardown(test_refresh_no_rotation, setup, teardown),
    cmocka_unit_test_setup_teardown(test_concurrent_rotation, setup, teardown),
    cmocka_unit_test_setup_teardown(test_url_policy, setup, teardown),
    cmocka_unit_test_setup_teardown(test_oversized_answer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_https_extra_ca, setup, teardown),
    cmocka_unit_test_setup_teardown(test_secrets_never_logged, setup, teardown),
    cmocka_unit_test_setup_teardown(test_config_checks, setup, teardown),
    cmocka_unit_test_setup_teardown(test_e2e_dovecot, setup, teardown),
    cmocka_unit_test(test_parse_token_answer),
  };
  int rc;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
