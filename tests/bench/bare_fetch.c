/*
 * bare_fetch: the reference for bench_imap.py.  Logs in over TLS, opens a
 * folder and reads every message with one pipelined-by-the-server
 * "UID FETCH 1:* BODY.PEEK[]", discarding the bytes: the least work any
 * IMAP input must do to see all the mail.
 *
 * Usage: bare_fetch HOST PORT CAFILE USER PASSWORD-FILE FOLDER
 * Prints "messages=N bytes=B" on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"

struct count {
  unsigned long long bytes, messages;
};

static int on_body(void *ctx, const struct imap_message *m, const void *d,
                   size_t len)
{
  struct count *c = ctx;
  (void)m;
  (void)d;
  c->bytes += len;
  return 0;
}

static int on_message(void *ctx, struct imap_message *m)
{
  struct count *c = ctx;
  if(m->have & IMAP_FETCH_BODY)
    c->messages++;
  return 0;
}

int main(int argc, char **argv)
{
  struct imap_opts o;
  struct imap *im;
  struct imap_mailbox_status st;
  struct imap_fetch_req req = { IMAP_FETCH_BODY, "" };
  struct count c = { 0, 0 };
  struct imap_fetch_handler h = { on_body, on_message, &c };
  char err[512], pw[512];
  FILE *f;

  if(argc != 7) {
    fprintf(stderr, "usage: bare_fetch HOST PORT CAFILE USER PWFILE FOLDER\n");
    return 2;
  }
  f = fopen(argv[5], "r");
  if(!f || !fgets(pw, sizeof(pw), f)) {
    fprintf(stderr, "cannot read %s\n", argv[5]);
    return 2;
  }
  fclose(f);
  pw[strcspn(pw, "\r\n")] = '\0';
  memset(&o, 0, sizeof(o));
  o.conn.host = argv[1];
  o.conn.port = (uint16_t)atoi(argv[2]);
  o.conn.ca_file = argv[3];
  o.tls = IMAP_TLS_IMPLICIT;
  o.max_body = 1ull << 32;
  im = imap_connect(&o, err, sizeof(err));
  if(!im) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  if(imap_login(im, argv[4], pw) || imap_examine(im, argv[6], &st) ||
     imap_uid_fetch(im, "1:*", &req, &h)) {
    fprintf(stderr, "%s\n", imap_error(im));
    imap_free(im);
    return 1;
  }
  imap_logout(im);
  imap_free(im);
  printf("messages=%llu bytes=%llu\n", c.messages, c.bytes);
  return 0;
}
