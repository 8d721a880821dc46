/*
 * imap_auth: the CAPABILITY command, STARTTLS and logging in (LOGIN,
 * AUTHENTICATE PLAIN and XOAUTH2 with or without SASL-IR).  Credentials are
 * never sent over a connection that is not verified TLS unless the caller
 * allowed it, and every buffer that held one is zeroed before it is freed.
 */
#include "imap.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "imap_private.h"
#include "base64.h"

/* ------------------------------------------------------------ capabilities */

/* Free a buffer that held a secret, zeroed over its whole capacity. */
static void wipe(struct buf *b)
{
  if(b->data)
    memset(b->data, 0, b->cap);
  buf_free(b);
}

int imap_capability_cmd(struct imap *im)
{
  int r = imap_run_simple(im, "CAPABILITY");
  if(r == 0 && !im->caps_known) {
    imap_seterr(im, "no CAPABILITY from %s", conn_peer(im->c));
    return -1;
  }
  return r;
}

int imap_starttls(struct imap *im)
{
  if(im->state != IMAP_STATE_NOT_AUTH) {
    imap_seterr(im, "STARTTLS impossible at %s: session is preauthenticated",
                conn_peer(im->c));
    return -1;
  }
  if(!imap_has_capability(im, "STARTTLS")) {
    imap_seterr(im, "IMAP server %s does not offer STARTTLS", conn_peer(im->c));
    return -1;
  }
  if(imap_run_simple(im, "STARTTLS") < 0)
    return -1;
  if(conn_starttls(im->c) < 0)
    return imap_io_fail(im);
  /* Anything learnt before TLS may have been forged (RFC 3501 6.2.1). */
  free(im->caps);
  im->caps = NULL;
  im->caps_known = false;
  return imap_capability_cmd(im);
}

/* ------------------------------------------------------------ auth */

static int auth_allowed(struct imap *im, const char *what)
{
  if(imap_require(im, ST(IMAP_STATE_NOT_AUTH), what) < 0)
    return -1;
  if(!conn_is_verified(im->c) && !im->allow_plaintext_auth) {
    imap_seterr(im,
                "refusing %s at %s: the connection is not protected by "
                "verified TLS",
                what, conn_peer(im->c));
    return -1;
  }
  return 0;
}

/* After a successful login.  Capabilities may change (RFC 3501 6.2.3);
 * servers normally put the new list in the OK, which imap_handle_resp_code
 * already took. */
static int after_login(struct imap *im)
{
  imap_set_state(im, IMAP_STATE_AUTH);
  return 0;
}

int imap_login(struct imap *im, const char *user, const char *pass)
{
  struct buf cmd;
  int r;
  if(auth_allowed(im, "LOGIN") < 0)
    return -1;
  if(imap_has_capability(im, "LOGINDISABLED")) {
    imap_seterr(im, "LOGIN at %s: server advertises LOGINDISABLED",
                conn_peer(im->c));
    return -1;
  }
  im->cmd_failed = false;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "LOGIN");
  if(r == 0 && (imap_put_astring(im, &cmd, user) < 0 ||
                imap_put_astring(im, &cmd, pass) < 0)) {
    wipe(&cmd);
    if(im->ntags == 0)
      return -1; /* the server already answered (NO) */
    return imap_abandon(im);
  }
  if(r == 0)
    r = imap_run(im, &cmd);
  wipe(&cmd);
  if(r == 0)
    return after_login(im);
  return -1;
}

/* Decode the challenge after "+ " into im->sasl_msg (printable only). */
static void keep_challenge(struct imap *im)
{
  const char *p = im->resp.data + 1;
  size_t n = im->resp.len - 1, o = 0;
  unsigned char *dec;
  int dl;
  while(n > 0 && *p == ' ') {
    p++;
    n--;
  }
  im->sasl_msg[0] = '\0';
  if(n == 0 || n > 4 * IMAP_MAX_SASL_CHALLENGE / 3)
    return;
  dec = malloc(n + 1);
  if(!dec)
    return;
  dl = EVP_DecodeBlock(dec, (const unsigned char *)p, (int)n);
  if(dl > 0) {
    /* EVP_DecodeBlock counts padding as zero bytes. */
    if(n >= 1 && p[n - 1] == '=')
      dl--;
    if(n >= 2 && p[n - 2] == '=')
      dl--;
    for(int i = 0; i < dl && o < IMAP_MAX_SASL_CHALLENGE; i++)
      if(dec[i] >= 0x20 && dec[i] < 0x7f)
        im->sasl_msg[o++] = (char)dec[i];
    im->sasl_msg[o] = '\0';
  }
  free(dec);
}

static int imap_sasl(struct imap *im, const char *mech, const char *cmdname,
                     const unsigned char *ir, size_t irlen)
{
  char cap[64];
  struct buf cmd;
  struct buf b64;
  int rounds = 0, r;

  if(auth_allowed(im, cmdname) < 0)
    return -1;
  snprintf(cap, sizeof(cap), "AUTH=%s", mech);
  if(!imap_has_capability(im, cap)) {
    imap_seterr(im, "%s at %s: server does not advertise %s", cmdname,
                conn_peer(im->c), cap);
    return -1;
  }
  buf_init(&b64, IMAP_CMD_MAX);
  if(base64_encode(&b64, ir, irlen) < 0) {
    imap_seterr(im, "%s at %s: initial response too long", cmdname,
                conn_peer(im->c));
    wipe(&b64);
    return -1;
  }
  im->sasl_msg[0] = '\0';
  im->cmd_failed = false;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, cmdname);
  if(r == 0 && imap_has_capability(im, "SASL-IR")) {
    if(buf_printf(&cmd, " %s", b64.len ? b64.data : "=") < 0)
      r = -1;
    if(r == 0)
      r = imap_send(im, &cmd);
  }
  else if(r == 0) {
    r = imap_send(im, &cmd);
    if(r == 0) {
      r = imap_wait(im, true);
      if(r == 1) {
        buf_reset(&cmd);
        if(buf_printf(&cmd, "%s\r\n", b64.len ? b64.data : "") < 0 ||
           conn_write(im->c, cmd.data, cmd.len) < 0)
          r = conn_is_broken(im->c) ? imap_io_fail(im) : -1;
        else
          r = 0;
      }
      else if(r == 0) {
        r = -1; /* answered without asking for the response */
      }
    }
  }
  wipe(&b64);
  wipe(&cmd);
  while(r == 0 && im->ntags > 0) {
    r = imap_wait(im, true);
    if(r == 1) {
      /* A challenge after our response means failure details (XOAUTH2
       * sends JSON); answer empty to get the final NO.  Cancel if the
       * server keeps asking. */
      keep_challenge(im);
      if(conn_write_str(im->c, rounds++ == 0 ? "\r\n" : "*\r\n") < 0)
        r = imap_io_fail(im);
      else
        r = 0;
    }
  }
  if(r < 0 || im->cmd_failed) {
    if(im->cmd_failed && im->sasl_msg[0]) {
      size_t l = strlen(im->err);
      snprintf(im->err + l, sizeof(im->err) - l, " (server challenge: %s)",
               im->sasl_msg);
    }
    return -1;
  }
  return after_login(im);
}

int imap_authenticate_plain(struct imap *im, const char *user, const char *pass)
{
  size_t ul = strlen(user), pl = strlen(pass);
  unsigned char *m = malloc(ul + pl + 2);
  int r;
  if(!m) {
    imap_seterr(im, "out of memory");
    return -1;
  }
  m[0] = '\0';
  memcpy(m + 1, user, ul);
  m[1 + ul] = '\0';
  memcpy(m + 2 + ul, pass, pl);
  r = imap_sasl(im, "PLAIN", "AUTHENTICATE PLAIN", m, ul + pl + 2);
  memset(m, 0, ul + pl + 2);
  free(m);
  return r;
}

int imap_authenticate_xoauth2(struct imap *im, const char *user,
                              const char *token)
{
  struct buf m;
  int r;
  buf_init(&m, 64 * 1024);
  if(strchr(user, '\001') || strchr(token, '\001') ||
     buf_printf(&m, "user=%s\001auth=Bearer %s\001\001", user, token) < 0) {
    buf_free(&m);
    imap_seterr(im, "XOAUTH2: bad or too long user name or token");
    return -1;
  }
  r = imap_sasl(im, "XOAUTH2", "AUTHENTICATE XOAUTH2",
                (const unsigned char *)m.data, m.len);
  wipe(&m);
  return r;
}
