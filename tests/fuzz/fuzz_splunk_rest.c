/*
 * fuzz_splunk_rest: splunkd's answer to the storage/passwords listing, as
 * common/splunk reads it (splunk_secret_get): the HTTP answer through
 * libcurl and common/mail/http, the JSON listing, the entry picked by realm
 * and user name, and the secret inside its clear_password (whole, or a
 * member of a JSON object).
 *
 * The answer is served by fuzz_server.h on 127.0.0.1 (server_uri
 * http://127.0.0.1:PORT; a loopback splunkd is what the inputs talk to).
 * Byte 0:
 *   bit 0     raw: the rest is the whole HTTP answer, status line included;
 *             else the rest is the body of a 200 answer sent with chunked
 *             transfer coding, cut into chunks of 1..2^(bits 4-7 % 14)
 *             bytes (sizes seeded by byte 1), so the body arrives split
 *   bits 1-2  the secret asked for: password, client_secret, refresh_token,
 *             or a member no entry has
 *   bit 3     the input asked about is dmarc_pop3://b instead of
 *             dmarc_imap://corp
 * Checks: a secret comes back with err "", and a NULL with err a line or
 * "" (no such entry); the secret is a string that was in the body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "splunk.h"
#include "buf.h"
#include "log.h"
#include "fuzz_common.h"
#include "fuzz_server.h"

static struct fuzz_server server;
static char uri[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  log_set_level(LOG_ERROR);
  fuzz_server_listen(&server);
  snprintf(uri, sizeof(uri), "http://127.0.0.1:%u", (unsigned)server.port);
  return 0;
}

/* The body as a chunked 200 answer. */
static int chunked(struct buf *out, const uint8_t *body, size_t len,
                   uint8_t seed, uint8_t max_log2)
{
  static const char head[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: application/json\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n";
  struct fuzz_chunker ch;
  char line[32];

  fuzz_chunker_init(&ch, seed, max_log2);
  if(buf_append(out, head, sizeof(head) - 1) < 0)
    return -1;
  for(size_t i = 0, n; i < len; i += n) {
    n = fuzz_chunker_next(&ch, len - i);
    snprintf(line, sizeof(line), "%zx\r\n", n);
    if(buf_append(out, line, strlen(line)) < 0 ||
       buf_append(out, body + i, n) < 0 || buf_append(out, "\r\n", 2) < 0)
      return -1;
  }
  return buf_append(out, "0\r\n\r\n", 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const fields[4] = { "password", "client_secret",
                                         "refresh_token", "no_such_member" };
  struct splunk_config cfg;
  struct buf script;
  const uint8_t *body;
  char err[512], *secret;

  if(size < 2)
    return 0;
  buf_init(&script, 16u << 20);
  body = data + 2;
  if(data[0] & 1) {
    if(buf_append(&script, body, size - 2) < 0)
      goto out;
  }
  else if(chunked(&script, body, size - 2, data[1], (uint8_t)(data[0] >> 4)) <
          0)
    goto out;
  memset(&cfg, 0, sizeof(cfg));
  cfg.server_uri = uri;
  cfg.session_key = (char *)"fuzz-session-key";
  fuzz_server_start(&server, (const uint8_t *)script.data, script.len);
  strcpy(err, "unset");
  secret = splunk_secret_get(
      &cfg, (data[0] & 8) ? "dmarc_pop3://b" : "dmarc_imap://corp",
      fields[(data[0] >> 1) & 3], err, sizeof(err));
  fuzz_server_join(&server);
  FUZZ_CHECK(strcmp(err, "unset") != 0 || secret != NULL);
  if(secret) {
    (void)fuzz_touch(secret, strlen(secret));
    free(secret);
  }
  else
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
out:
  buf_free(&script);
  return 0;
}
