/*
 * oauth: an OAuth 2.0 token client (RFC 6749) for XOAUTH2 mail logins.
 *
 * Two grants are supported, the two our mail inputs need:
 *  - client credentials (RFC 6749 4.4), as Microsoft 365 does it for a
 *    confidential application: POST to <authority>/oauth2/v2.0/token with
 *    client_id, client_secret and scope (default the Exchange Online
 *    ".default" scope);
 *  - refresh token (RFC 6749 6), as Gmail does it: POST to a token URL
 *    with client_id, client_secret (optional for public clients),
 *    refresh_token and optionally scope.  A server may rotate the refresh
 *    token; a new one in the answer replaces the old one in the cache and
 *    is the one used next time.
 * The IMAP and POP3 clients build the XOAUTH2 SASL string themselves
 * (imap_authenticate_xoauth2, pop3_auth_xoauth2): this module only
 * obtains the access token.
 *
 * Tokens are cached in a file (optional) until expiry_margin_s before
 * they expire.  The file is JSON, mode 0600, replaced atomically (temp
 * file in the same directory, fsync, rename, fsync of the directory), and
 * bound to the configuration that produced it: a cache written for
 * another token URL, client id, scope, grant or initial refresh token is
 * ignored.  Concurrent callers sharing a cache file are serialised with
 * flock() on "<cache_path>.lock", so a rotated refresh token is never
 * used twice.  A cache file that is not a regular file owned by us with
 * mode 0600 (no group/other bits) is ignored and replaced.
 *
 * Callers are expected to retry once on an authentication failure:
 * oauth_get_token(cfg, false) -> login fails -> oauth_get_token(cfg, true)
 * -> login again.  A cached token can have been revoked early.
 *
 * Transport: libcurl.  TLS is always verified (system trust store, plus
 * ca_file when given).  Plain http:// is refused unless the host is
 * 127.0.0.1, ::1 or localhost (local test servers).  Redirects are not
 * followed (the request body carries the secret).  Proxies come from
 * libcurl's usual environment variables (https_proxy, no_proxy).  The
 * answer is read into a buffer capped at OAUTH_MAX_RESPONSE.
 *
 * Secrets (client secret, refresh tokens, access tokens) are never put in
 * an error message or a log line, never on a command line, and are wiped
 * from our own memory before it is freed (best effort: libcurl and
 * OpenSSL keep their own copies of the request while it is sent).  An
 * error text from the server is cut short and scrubbed of the secrets
 * before it is shown.
 *
 * Errors: functions return 0 or -1 with one line in err naming the
 * endpoint and the reason, e.g. "token request to
 * https://login.microsoftonline.com/t/oauth2/v2.0/token failed: HTTP 401:
 * invalid_client: AADSTS7000215: Invalid client secret provided."
 */
#ifndef OAUTH_OAUTH_H
#define OAUTH_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OAUTH_DEFAULT_TIMEOUT_MS      30000
#define OAUTH_DEFAULT_EXPIRY_MARGIN_S 300
#define OAUTH_MAX_RESPONSE            (64 * 1024) /* one token endpoint answer */
#define OAUTH_MAX_CACHE_FILE          (64 * 1024) /* a bigger cache file is ignored */
#define OAUTH_MAX_TOKEN_LEN           (16 * 1024) /* one access or refresh token */
#define OAUTH_MAX_LIFETIME_S          (366L * 24 * 3600) /* longer expires_in is cut */
#define OAUTH_MAX_SERVER_TEXT         300 /* error_description shown, in bytes */

/* Microsoft identity platform v2.0: token_url = authority + this path. */
#define OAUTH_M365_TOKEN_PATH "/oauth2/v2.0/token"
/* Default scope for the client-credentials grant (Exchange Online IMAP). */
#define OAUTH_M365_DEFAULT_SCOPE "https://outlook.office365.com/.default"

enum oauth_grant {
  OAUTH_GRANT_CLIENT_CREDENTIALS = 0,
  OAUTH_GRANT_REFRESH_TOKEN,
};

struct oauth_config {
  enum oauth_grant grant;
  const char *token_url;     /* the token endpoint; or NULL and: */
  const char *authority;     /* e.g. https://login.microsoftonline.com/<tenant>
                                (trailing "/" allowed): the endpoint is then
                                authority + OAUTH_M365_TOKEN_PATH */
  const char *client_id;     /* required */
  const char *client_secret; /* required for client credentials; optional
                                (public client) for refresh token */
  const char *scope;         /* space separated.  NULL: client credentials
                                send OAUTH_M365_DEFAULT_SCOPE, refresh token
                                sends none (the grant's original scope) */
  const char *refresh_token; /* refresh grant: the configured token; a
                                rotated one from the cache takes precedence
                                while the configuration stays the same */
  const char *ca_file;       /* PEM file of extra trust anchors, added to
                                the system store; NULL = system store only */
  int timeout_ms;            /* whole request; 0 = OAUTH_DEFAULT_TIMEOUT_MS.
                                Also bounds the wait for the cache lock */
  const char *cache_path;    /* token cache file; NULL = no cache (every
                                call asks the server, rotation is lost) */
  int expiry_margin_s;       /* a cached token is reused only while it is
                                valid for more than this many seconds;
                                0 = OAUTH_DEFAULT_EXPIRY_MARGIN_S, <0 = none */
};

struct oauth_token {
  char *access_token; /* printable ASCII, no spaces */
  char *token_type;   /* as sent, normally "Bearer" */
  int64_t expires_at; /* Unix time (s); 0 = the server gave no
                         lifetime (such a token is never reused) */
  bool from_cache;    /* true when no request was made */
};

/* Get an access token: the cached one while it is valid for more than the
 * margin and force_refresh is false, else a new one from the token
 * endpoint (the new token, and a rotated refresh token, are then written
 * to the cache).  A failure to write the cache is logged as a warning and
 * does not fail the call.  Returns 0 and a token to free with
 * oauth_token_free, or -1 with the reason in err (never containing a
 * secret; always NUL-terminated when errlen > 0) and *token_r = NULL. */
int oauth_get_token(const struct oauth_config *cfg, bool force_refresh,
                    struct oauth_token **token_r, char *err, size_t errlen);

/* Wipe the token strings and free.  NULL is a no-op. */
void oauth_token_free(struct oauth_token *t);

/* The token endpoint cfg resolves to (token_url, or authority + path),
 * after the URL checks (scheme, loopback rule for http, no user name or
 * password in the URL).  Writes it to out and returns 0, or -1 with the
 * reason in err.  Makes no request. */
int oauth_token_endpoint(const struct oauth_config *cfg, char *out,
                         size_t outlen, char *err, size_t errlen);

/* How oauth_get_token reads a token endpoint's answer, with no request and
 * no cache: for the fuzz harness (tests/fuzz/fuzz_oauth_token.c) and the
 * unit tests; oauth_get_token runs the same code on what it received.
 * status: the HTTP status; body[0..len): the answer as received (not
 * NUL-terminated); shown: the endpoint as named in messages; now: the Unix
 * time the lifetime counts from.  Returns 0 with *token_r (expires_at is
 * now + expires_in, cut to OAUTH_MAX_LIFETIME_S, or 0 when the answer gave
 * no lifetime; free with oauth_token_free) and *refresh_r the refresh token
 * the answer rotated to, or NULL (wipe it, then free()); or -1 with the
 * reason in err (never a secret) and both NULL. */
int oauth_parse_token_answer(long status, const char *body, size_t len,
                             const char *shown, int64_t now,
                             struct oauth_token **token_r, char **refresh_r,
                             char *err, size_t errlen);

/* Name of a grant as sent in grant_type ("client_credentials",
 * "refresh_token"). */
const char *oauth_grant_name(enum oauth_grant g);

#endif
