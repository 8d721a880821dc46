/*
 * fuzz_oauth_token: the token endpoint's answer (RFC 6749 5.1 / 5.2) as
 * common/mail/oauth reads it, through oauth_parse_token_answer: the same
 * code oauth_get_token runs on what it received, for either grant (the
 * answer is read the same way; a rotated refresh token only matters to the
 * refresh grant, and is returned here).
 *
 * Byte 0 picks the HTTP status, byte 1 the clock the lifetime counts from
 * (far past and far future included, for the expiry arithmetic); the rest
 * is the body.
 * Checks: on success the access token and a rotated refresh token are
 * 1..OAUTH_MAX_TOKEN_LEN printable bytes without spaces, the type is Bearer
 * (any case), expires_at is 0 or now plus at most OAUTH_MAX_LIFETIME_S; on
 * failure nothing is returned and err is one printable line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oauth.h"
#include "log.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  log_set_level(LOG_ERROR);
  return 0;
}

static void check_token_chars(const char *s)
{
  size_t n = strlen(s);

  FUZZ_CHECK(n >= 1 && n <= OAUTH_MAX_TOKEN_LEN);
  for(size_t i = 0; i < n; i++)
    FUZZ_CHECK((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const long statuses[8] = { 200, 400, 401, 302, 500, 201, 204, 0 };
  static const int64_t clocks[8] = {
    1764806400, /* December 2025 */
    0,
    INT64_MAX,
    INT64_MAX - OAUTH_MAX_LIFETIME_S,
    -1,
    INT64_MIN,
    4102444800,   /* 2100 */
    253402300799, /* the last second of 9999 */
  };
  struct oauth_token *t = NULL;
  char *rt = NULL, err[512];
  long status;
  int64_t now;
  int rc;

  if(size < 2)
    return 0;
  status = statuses[data[0] % 8];
  now = clocks[data[1] % 8];
  err[0] = '\0';
  rc = oauth_parse_token_answer(status, (const char *)data + 2, size - 2,
                                "http://127.0.0.1/token", now, &t, &rt, err,
                                sizeof(err));
  FUZZ_CHECK(rc == 0 || rc == -1);
  if(rc < 0) {
    FUZZ_CHECK(t == NULL && rt == NULL);
    FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
    for(const char *p = err; *p; p++)
      FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    return 0;
  }
  FUZZ_CHECK(status == 200 && t != NULL);
  check_token_chars(t->access_token);
  FUZZ_CHECK(strcasecmp(t->token_type, "bearer") == 0);
  FUZZ_CHECK(!t->from_cache);
  if(t->expires_at != 0) {
    __int128 d = (__int128)t->expires_at - now;
    FUZZ_CHECK(d >= 0 && d <= OAUTH_MAX_LIFETIME_S);
  }
  if(rt) {
    check_token_chars(rt);
    explicit_bzero(rt, strlen(rt));
    free(rt);
  }
  oauth_token_free(t);
  return 0;
}
