/*
 * fuzz_pop3_response: what a POP3 server sends, read by common/mail/pop3.
 *
 * The input after byte 0 is the server's side of a whole session, served
 * by fuzz_server.h (see there why that is repeatable): the greeting, the
 * CAPA listing, then the replies to USER/PASS (or AUTH XOAUTH2 with its
 * challenge), STAT, UIDL, LIST, RETR 1, RETR 2 and QUIT, each command run
 * only while the session is not broken.  Byte 0 picks the variants:
 *   bit 0  AUTH XOAUTH2 instead of USER/PASS
 *   bit 1  max_message 128 bytes (the "larger than" path of RETR)
 *   bit 2  the UIDL and LIST callbacks stop after two entries
 *   bit 3  the RETR callback aborts on its third piece
 * Checks: UIDs are 1..70 printable bytes, message numbers are not 0, a
 * retrieved message has CRLF line ends only and stays within max_message.
 * STLS is not driven, for the reason fuzz_imap_response gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pop3.h"
#include "buf.h"
#include "log.h"
#include "fuzz_common.h"
#include "fuzz_server.h"

static struct fuzz_server server;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  log_set_level(LOG_WARN);
  fuzz_server_listen(&server);
  return 0;
}

struct session {
  unsigned flags;
  unsigned entries;
  unsigned pieces;
  struct buf msg;
};

static int on_uidl(void *ctx, uint32_t msgno, const char *uid)
{
  struct session *s = ctx;
  size_t n = strlen(uid);

  FUZZ_CHECK(msgno != 0);
  FUZZ_CHECK(n >= 1 && n <= POP3_MAX_UID_LEN);
  for(size_t i = 0; i < n; i++)
    FUZZ_CHECK(uid[i] >= 0x21 && uid[i] <= 0x7e);
  return (s->flags & 4) && ++s->entries >= 2;
}

static int on_list(void *ctx, uint32_t msgno, uint64_t size)
{
  struct session *s = ctx;

  FUZZ_CHECK(msgno != 0);
  (void)size;
  return (s->flags & 4) && ++s->entries >= 2;
}

static int on_data(void *ctx, const void *data, size_t len)
{
  struct session *s = ctx;

  FUZZ_CHECK(len > 0);
  if(buf_append(&s->msg, data, len) < 0)
    return 1;
  return (s->flags & 8) && ++s->pieces >= 3;
}

static void retr(struct pop3 *p, struct session *s, uint32_t msgno,
                 uint64_t max)
{
  buf_reset(&s->msg);
  s->pieces = 0;
  if(pop3_retr(p, msgno, on_data, s) != 0)
    return;
  const char *m = s->msg.data ? s->msg.data : "";
  size_t n = s->msg.len;
  FUZZ_CHECK(n <= max);
  /* Every line ends in CRLF: no bare LF, and the last line is closed. */
  FUZZ_CHECK(n == 0 || (n >= 2 && m[n - 2] == '\r' && m[n - 1] == '\n'));
  for(const char *lf = memchr(m, '\n', n); lf;
      lf = memchr(lf + 1, '\n', n - (size_t)(lf + 1 - m)))
    FUZZ_CHECK(lf > m && lf[-1] == '\r');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pop3_opts o;
  struct pop3 *p;
  struct session s;
  char err[CONN_ERR_LEN + 64];
  uint32_t count;
  uint64_t total;
  unsigned flags;

  if(size < 1)
    return 0;
  flags = data[0];
  memset(&o, 0, sizeof(o));
  o.conn.host = "127.0.0.1";
  o.conn.port = server.port;
  o.conn.connect_timeout_ms = o.conn.io_timeout_ms = FUZZ_SERVER_WAIT_MS;
  o.tls = POP3_TLS_NONE;
  o.allow_plaintext_auth = true;
  o.max_message = (flags & 2) ? 128 : 0;

  fuzz_server_start(&server, data + 1, size - 1);
  p = pop3_connect(&o, err, sizeof(err));
  if(!p) {
    FUZZ_CHECK(err[0] != '\0');
    fuzz_server_join(&server);
    return 0;
  }
  s.flags = flags;
  s.entries = s.pieces = 0;
  buf_init(&s.msg, (size_t)1 << 20);
  (void)pop3_has_capa(p, "UIDL");
  (void)pop3_has_sasl(p, "XOAUTH2");
  if(flags & 1)
    (void)pop3_auth_xoauth2(p, "fuzz@example.com", "token");
  else
    (void)pop3_login(p, "fuzz", "pass");
  if(pop3_get_state(p) == POP3_STATE_TRANSACTION) {
    (void)pop3_stat(p, &count, &total);
    (void)pop3_uidl(p, on_uidl, &s);
    s.entries = 0;
    (void)pop3_list(p, on_list, &s);
    retr(p, &s, 1, o.max_message ? o.max_message : POP3_DEFAULT_MAX_MESSAGE);
    retr(p, &s, 2, o.max_message ? o.max_message : POP3_DEFAULT_MAX_MESSAGE);
  }
  FUZZ_CHECK(pop3_get_state(p) != POP3_STATE_BROKEN || pop3_error(p)[0]);
  (void)pop3_quit(p);
  pop3_free(p);
  fuzz_server_join(&server);
  buf_free(&s.msg);
  return 0;
}
