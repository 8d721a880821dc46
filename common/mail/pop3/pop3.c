/*
 * pop3: read-only POP3 client.  RFC 1939 (POP3), RFC 2449 (CAPA),
 * RFC 2595 (STLS), RFC 5034 (AUTH with initial response), XOAUTH2.
 */
#include "pop3.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "base64.h"
#include "buf.h"
#include "log.h"

#define POP3_MAX_CAPA 8192

struct pop3 {
  struct conn *c;
  enum pop3_state state;
  bool allow_plaintext_auth;
  uint64_t max_message;
  bool retr_too_large; /* the last RETR was over max_message */
  char *capa;          /* "\nUIDL\nSASL PLAIN XOAUTH2\n...": one per line */
  char err[CONN_ERR_LEN];
};

static const char *const state_names[] = {
  [POP3_STATE_AUTHORIZATION] = "authorization",
  [POP3_STATE_TRANSACTION] = "transaction",
  [POP3_STATE_QUIT] = "quit",
  [POP3_STATE_BROKEN] = "broken",
};

/* The only place the state changes. */
static void pop3_set_state(struct pop3 *p, enum pop3_state s)
{
  if(p->state == s || p->state == POP3_STATE_BROKEN)
    return;
  log_debug("pop3 %s: %s -> %s", conn_peer(p->c), state_names[p->state],
            state_names[s]);
  p->state = s;
}

static void pop3_seterr(struct pop3 *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void pop3_seterr(struct pop3 *p, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, sizeof(p->err), fmt, ap);
  va_end(ap);
}

static int pop3_io_fail(struct pop3 *p)
{
  pop3_seterr(p, "%s", conn_error(p->c));
  pop3_set_state(p, POP3_STATE_BROKEN);
  return -1;
}

static int pop3_proto_fail(struct pop3 *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int pop3_proto_fail(struct pop3 *p, const char *fmt, ...)
{
  char msg[CONN_ERR_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  conn_fail(p->c, "%s", msg);
  return pop3_io_fail(p);
}

static int pop3_require(struct pop3 *p, enum pop3_state s, const char *cmd)
{
  if(p->state == POP3_STATE_BROKEN)
    return -1;
  if(p->state != s) {
    pop3_seterr(p, "%s not allowed at %s in state %s", cmd, conn_peer(p->c),
                state_names[p->state]);
    return -1;
  }
  return 0;
}

static bool arg_ok(const char *s)
{
  return strpbrk(s, "\r\n") == NULL;
}

/* Send a command line; `shown` is what errors call it (never a secret). */
static int send_line(struct pop3 *p, const char *line)
{
  if(conn_write_str(p->c, line) < 0 || conn_write(p->c, "\r\n", 2) < 0)
    return pop3_io_fail(p);
  return 0;
}

/* Read a status line.  Returns 1 for +OK, 0 for -ERR (error set, naming
 * cmd), 2 for a "+ " continuation, -1 on error.  *text_r points after the
 * status word (valid until the next read). */
static int read_status(struct pop3 *p, const char *cmd, const char **text_r)
{
  const char *line;
  size_t n;
  if(conn_read_line(p->c, &line, &n) < 0)
    return pop3_io_fail(p);
  if(n >= 3 && strncmp(line, "+OK", 3) == 0 && (n == 3 || line[3] == ' ')) {
    if(text_r)
      *text_r = n > 3 ? line + 4 : "";
    return 1;
  }
  if(n >= 4 && strncmp(line, "-ERR", 4) == 0 && (n == 4 || line[4] == ' ')) {
    pop3_seterr(p, "%s failed at %s: %.*s", cmd, conn_peer(p->c),
                (int)(n > 300 ? 300 : n), line);
    if(text_r)
      *text_r = n > 4 ? line + 5 : "";
    return 0;
  }
  if(n >= 1 && line[0] == '+' && (n == 1 || line[1] == ' ')) {
    if(text_r)
      *text_r = n > 2 ? line + 2 : "";
    return 2;
  }
  return pop3_proto_fail(p, "bad reply to %s from %s: %.60s", cmd,
                         conn_peer(p->c), line);
}

static int simple_cmd(struct pop3 *p, const char *line, const char *cmd,
                      const char **text_r)
{
  int r;
  if(send_line(p, line) < 0)
    return -1;
  r = read_status(p, cmd, text_r);
  if(r == 2)
    return pop3_proto_fail(p, "unexpected continuation after %s from %s", cmd,
                           conn_peer(p->c));
  return r == 1 ? 0 : -1;
}

/* Read the lines of a multi-line response after its +OK, dot-unstuffed,
 * each passed whole to fn (lines must fit POP3_LINE_CHUNK). */
static int read_multiline(struct pop3 *p, const char *cmd,
                          int (*fn)(struct pop3 *p, void *ctx, char *line,
                                    size_t n),
                          void *ctx)
{
  int failed = 0;
  for(;;) {
    const char *line;
    size_t n;
    if(conn_read_line(p->c, &line, &n) < 0)
      return pop3_io_fail(p);
    if(n == 1 && line[0] == '.')
      break;
    if(n > 0 && line[0] == '.') {
      line++;
      n--;
    }
    if(!failed) {
      int r = fn(p, ctx, (char *)line, n);
      if(r < 0)
        return -1; /* protocol error, already broken */
      if(r > 0)
        failed = 1;
    }
  }
  if(failed) {
    pop3_seterr(p, "%s at %s aborted by caller", cmd, conn_peer(p->c));
    return -1;
  }
  return 0;
}

static int capa_line(struct pop3 *p, void *ctx, char *line, size_t n)
{
  struct buf *b = ctx;
  (void)p;
  if(buf_append(b, line, n) < 0 || buf_putc(b, '\n') < 0)
    return 1;
  return 0;
}

static int do_capa(struct pop3 *p)
{
  struct buf b;
  int r;
  free(p->capa);
  p->capa = NULL;
  if(send_line(p, "CAPA") < 0)
    return -1;
  r = read_status(p, "CAPA", NULL);
  if(r < 0)
    return -1;
  if(r != 1)
    return 0; /* no CAPA support: nothing known */
  buf_init(&b, POP3_MAX_CAPA);
  buf_putc(&b, '\n');
  if(read_multiline(p, "CAPA", capa_line, &b) < 0) {
    buf_free(&b);
    return -1;
  }
  p->capa = buf_steal(&b);
  return 0;
}

/* The CAPA line whose first word is `capa`, or NULL. */
static const char *capa_find(const struct pop3 *p, const char *capa)
{
  size_t n = strlen(capa);
  const char *s = p->capa;
  if(!s)
    return NULL;
  while((s = strchr(s, '\n')) != NULL) {
    s++;
    if(strncasecmp(s, capa, n) == 0 && (s[n] == ' ' || s[n] == '\n'))
      return s + n;
  }
  return NULL;
}

bool pop3_has_capa(const struct pop3 *p, const char *capa)
{
  return capa_find(p, capa) != NULL;
}

bool pop3_has_sasl(const struct pop3 *p, const char *mech)
{
  const char *s = capa_find(p, "SASL");
  size_t n = strlen(mech);
  if(!s)
    return false;
  while(*s == ' ') {
    s++;
    if(strncasecmp(s, mech, n) == 0 && (s[n] == ' ' || s[n] == '\n'))
      return true;
    while(*s && *s != ' ' && *s != '\n')
      s++;
  }
  return false;
}

struct pop3 *pop3_connect(const struct pop3_opts *o, char *err, size_t errlen)
{
  struct pop3 *p;
  struct conn_opts co;
  int r;
  if(errlen > 0)
    err[0] = '\0';
  p = calloc(1, sizeof(*p));
  if(!p) {
    snprintf(err, errlen, "pop3: out of memory");
    return NULL;
  }
  p->allow_plaintext_auth = o->allow_plaintext_auth;
  p->max_message = o->max_message ? o->max_message : POP3_DEFAULT_MAX_MESSAGE;
  co = o->conn;
  co.tls = o->tls == POP3_TLS_IMPLICIT ? CONN_TLS_IMPLICIT : CONN_TLS_NONE;
  co.max_line = POP3_LINE_CHUNK;
  p->c = conn_connect(&co, err, errlen);
  if(!p->c) {
    free(p);
    return NULL;
  }
  r = read_status(p, "greeting", NULL);
  if(r != 1) {
    if(r == 0 || r == 2)
      pop3_seterr(p, "POP3 server %s refused the connection: %s",
                  conn_peer(p->c), p->err);
    goto fail;
  }
  if(do_capa(p) < 0)
    goto fail;
  if(o->tls == POP3_TLS_STLS) {
    if(!pop3_has_capa(p, "STLS")) {
      pop3_seterr(p, "POP3 server %s does not offer STLS", conn_peer(p->c));
      goto fail;
    }
    if(simple_cmd(p, "STLS", "STLS", NULL) < 0)
      goto fail;
    if(conn_starttls(p->c) < 0) {
      pop3_io_fail(p);
      goto fail;
    }
    if(do_capa(p) < 0) /* the pre-TLS list may have been forged */
      goto fail;
  }
  return p;
fail:
  snprintf(err, errlen, "%s", p->err[0] ? p->err : "POP3 connect failed");
  pop3_free(p);
  return NULL;
}

void pop3_free(struct pop3 *p)
{
  if(!p)
    return;
  conn_close(p->c);
  free(p->capa);
  free(p);
}

int pop3_quit(struct pop3 *p)
{
  int r;
  if(p->state == POP3_STATE_BROKEN || p->state == POP3_STATE_QUIT)
    return -1;
  r = simple_cmd(p, "QUIT", "QUIT", NULL);
  pop3_set_state(p, POP3_STATE_QUIT);
  return r;
}

const char *pop3_error(const struct pop3 *p)
{
  return p->err;
}
enum pop3_state pop3_get_state(const struct pop3 *p)
{
  return p->state;
}
bool pop3_is_verified(const struct pop3 *p)
{
  return conn_is_verified(p->c);
}
bool pop3_timed_out(const struct pop3 *p)
{
  return conn_timed_out(p->c);
}

static int auth_allowed(struct pop3 *p, const char *what)
{
  if(pop3_require(p, POP3_STATE_AUTHORIZATION, what) < 0)
    return -1;
  if(!conn_is_verified(p->c) && !p->allow_plaintext_auth) {
    pop3_seterr(p,
                "refusing %s at %s: the connection is not protected by "
                "verified TLS",
                what, conn_peer(p->c));
    return -1;
  }
  return 0;
}

static void wipe(struct buf *b)
{
  if(b->data)
    memset(b->data, 0, b->cap);
  buf_free(b);
}

int pop3_login(struct pop3 *p, const char *user, const char *pass)
{
  struct buf line;
  int r;
  if(auth_allowed(p, "USER/PASS") < 0)
    return -1;
  if(!arg_ok(user) || !arg_ok(pass)) {
    pop3_seterr(p, "USER/PASS: CR or LF in user name or password");
    return -1;
  }
  buf_init(&line, 4096);
  if(buf_printf(&line, "USER %s", user) < 0) {
    buf_free(&line);
    pop3_seterr(p, "USER: user name too long");
    return -1;
  }
  r = simple_cmd(p, line.data, "USER", NULL);
  buf_reset(&line);
  if(r == 0) {
    if(buf_printf(&line, "PASS %s", pass) < 0) {
      wipe(&line);
      pop3_seterr(p, "PASS: password too long");
      return -1;
    }
    r = simple_cmd(p, line.data, "PASS", NULL);
  }
  wipe(&line);
  if(r == 0)
    pop3_set_state(p, POP3_STATE_TRANSACTION);
  return r;
}

int pop3_auth_xoauth2(struct pop3 *p, const char *user, const char *token)
{
  struct buf msg, line;
  const char *text;
  char challenge[512] = "";
  int r;
  if(auth_allowed(p, "AUTH XOAUTH2") < 0)
    return -1;
  if(p->capa && !pop3_has_sasl(p, "XOAUTH2")) {
    pop3_seterr(p, "AUTH XOAUTH2 at %s: server does not list XOAUTH2 in SASL",
                conn_peer(p->c));
    return -1;
  }
  buf_init(&msg, 64 * 1024);
  if(strpbrk(user, "\001\r\n") || strpbrk(token, "\001\r\n") ||
     buf_printf(&msg, "user=%s\001auth=Bearer %s\001\001", user, token) < 0) {
    buf_free(&msg);
    pop3_seterr(p, "XOAUTH2: bad or too long user name or token");
    return -1;
  }
  buf_init(&line, 128 * 1024);
  r = buf_puts(&line, "AUTH XOAUTH2 ");
  if(r == 0)
    r = base64_encode(&line, msg.data, msg.len);
  wipe(&msg);
  if(r < 0) {
    wipe(&line);
    pop3_seterr(p, "AUTH XOAUTH2: token too long");
    return -1;
  }
  r = send_line(p, line.data);
  wipe(&line);
  if(r < 0)
    return -1;
  r = read_status(p, "AUTH XOAUTH2", &text);
  if(r == 2) {
    /* Failure details as base64 JSON; an empty answer gets the -ERR. */
    unsigned char dec[512];
    size_t tl = strlen(text);
    if(tl > 0 && tl < 4 * sizeof(dec) / 3) {
      int dl = EVP_DecodeBlock(dec, (const unsigned char *)text, (int)tl);
      size_t o = 0;
      for(int i = 0; i < dl && o + 1 < sizeof(challenge); i++)
        if(dec[i] >= 0x20 && dec[i] < 0x7f)
          challenge[o++] = (char)dec[i];
      challenge[o] = '\0';
    }
    if(send_line(p, "") < 0)
      return -1;
    r = read_status(p, "AUTH XOAUTH2", NULL);
    if(r == 2)
      return pop3_proto_fail(p, "AUTH XOAUTH2 at %s: second challenge",
                             conn_peer(p->c));
  }
  if(r < 0)
    return -1;
  if(r == 0) {
    if(challenge[0]) {
      size_t l = strlen(p->err);
      snprintf(p->err + l, sizeof(p->err) - l, " (server challenge: %s)",
               challenge);
    }
    return -1;
  }
  pop3_set_state(p, POP3_STATE_TRANSACTION);
  return 0;
}

/* Parse "<number>" in [1, max] from s, ending at a space or the end. */
static int parse_num(const char **s, uint64_t max, uint64_t *v_r)
{
  uint64_t v = 0;
  const char *p = *s;
  if(!isdigit((unsigned char)*p))
    return -1;
  while(isdigit((unsigned char)*p)) {
    unsigned d = (unsigned)(*p - '0');
    if(v > (max - d) / 10)
      return -1;
    v = v * 10 + d;
    p++;
  }
  *s = p;
  *v_r = v;
  return 0;
}

int pop3_stat(struct pop3 *p, uint32_t *count_r, uint64_t *size_r)
{
  const char *t;
  uint64_t cnt, size;
  if(pop3_require(p, POP3_STATE_TRANSACTION, "STAT") < 0)
    return -1;
  if(simple_cmd(p, "STAT", "STAT", &t) < 0)
    return -1;
  if(parse_num(&t, UINT32_MAX, &cnt) < 0 || *t++ != ' ' ||
     parse_num(&t, UINT64_MAX / 2, &size) < 0)
    return pop3_proto_fail(p, "malformed STAT reply from %s", conn_peer(p->c));
  *count_r = (uint32_t)cnt;
  *size_r = size;
  return 0;
}

struct listing {
  pop3_uidl_fn *uidl;
  pop3_list_fn *list;
  void *ctx;
};

static int uidl_line(struct pop3 *p, void *ctx, char *line, size_t n)
{
  struct listing *l = ctx;
  const char *s = line;
  uint64_t num;
  size_t ul;
  if(parse_num(&s, UINT32_MAX, &num) < 0 || num == 0 || *s != ' ')
    goto bad;
  while(*s == ' ')
    s++;
  ul = n - (size_t)(s - line);
  if(ul == 0 || ul > POP3_MAX_UID_LEN)
    goto bad;
  for(size_t i = 0; i < ul; i++)
    if((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
      goto bad;
  return l->uidl && l->uidl(l->ctx, (uint32_t)num, s) != 0 ? 1 : 0;
bad:
  return pop3_proto_fail(p, "malformed UIDL line from %s: %.60s",
                         conn_peer(p->c), line);
}

static int list_line(struct pop3 *p, void *ctx, char *line, size_t n)
{
  struct listing *l = ctx;
  const char *s = line;
  uint64_t num, size;
  (void)n;
  if(parse_num(&s, UINT32_MAX, &num) < 0 || num == 0 || *s++ != ' ' ||
     parse_num(&s, UINT64_MAX / 2, &size) < 0)
    return pop3_proto_fail(p, "malformed LIST line from %s: %.60s",
                           conn_peer(p->c), line);
  return l->list && l->list(l->ctx, (uint32_t)num, size) != 0 ? 1 : 0;
}

int pop3_uidl(struct pop3 *p, pop3_uidl_fn *fn, void *ctx)
{
  struct listing l = { fn, NULL, ctx };
  if(pop3_require(p, POP3_STATE_TRANSACTION, "UIDL") < 0)
    return -1;
  if(simple_cmd(p, "UIDL", "UIDL", NULL) < 0)
    return -1;
  return read_multiline(p, "UIDL", uidl_line, &l);
}

int pop3_list(struct pop3 *p, pop3_list_fn *fn, void *ctx)
{
  struct listing l = { NULL, fn, ctx };
  if(pop3_require(p, POP3_STATE_TRANSACTION, "LIST") < 0)
    return -1;
  if(simple_cmd(p, "LIST", "LIST", NULL) < 0)
    return -1;
  return read_multiline(p, "LIST", list_line, &l);
}

bool pop3_retr_too_large(const struct pop3 *p)
{
  return p->retr_too_large;
}

int pop3_retr(struct pop3 *p, uint32_t msgno, pop3_data_fn *fn, void *ctx)
{
  char line[32];
  uint64_t total = 0, dropped = 0;
  bool at_start = true, too_large = false;
  p->retr_too_large = false;
  if(pop3_require(p, POP3_STATE_TRANSACTION, "RETR") < 0)
    return -1;
  if(msgno == 0) {
    pop3_seterr(p, "RETR: message numbers start at 1");
    return -1;
  }
  snprintf(line, sizeof(line), "RETR %u", msgno);
  if(simple_cmd(p, line, "RETR", NULL) < 0)
    return -1;
  for(;;) {
    const char *s;
    size_t n;
    bool eol;
    if(conn_read_line_chunk(p->c, &s, &n, &eol) < 0)
      return pop3_io_fail(p);
    if(at_start) {
      /* A line start chunk holds the whole line or POP3_LINE_CHUNK bytes,
       * so a lone "." is always seen whole. */
      if(eol && n == 1 && s[0] == '.')
        break;
      if(n > 0 && s[0] == '.') {
        s++;
        n--;
      }
    }
    at_start = eol;
    if(too_large) {
      dropped += n + (eol ? 2 : 0);
      if(dropped > POP3_MAX_DRAIN) {
        conn_fail(p->c,
                  "RETR %u from %s: message larger than %llu bytes and "
                  "still going after %llu more; connection dropped",
                  msgno, conn_peer(p->c), (unsigned long long)p->max_message,
                  (unsigned long long)POP3_MAX_DRAIN);
        return pop3_io_fail(p);
      }
      continue;
    }
    if(total + n + (eol ? 2 : 0) > p->max_message) {
      too_large = p->retr_too_large = true;
      continue;
    }
    total += n + (eol ? 2 : 0);
    if(fn &&
       ((n > 0 && fn(ctx, s, n) != 0) || (eol && fn(ctx, "\r\n", 2) != 0))) {
      conn_fail(p->c, "RETR %u from %s aborted by caller", msgno,
                conn_peer(p->c));
      return pop3_io_fail(p);
    }
  }
  if(too_large) {
    pop3_seterr(p, "RETR %u at %s: message larger than %llu bytes, dropped",
                msgno, conn_peer(p->c), (unsigned long long)p->max_message);
    return -1;
  }
  return 0;
}
