/*
 * fuzz_imap_response: what an IMAP server sends, read by common/mail/imap.
 *
 * Modes (byte 0 % 8):
 *   0-4  a whole session against fuzz_server.h: the rest of the input after
 *        byte 1 is the server's side of the conversation (greeting,
 *        CAPABILITY, tagged replies to A0001, A0002, ..., untagged LIST,
 *        EXISTS, SEARCH, FETCH with literals and BODYSTRUCTURE).  The client
 *        runs connect, an authentication, LIST, EXAMINE, UID SEARCH, UID
 *        FETCH (single or pipelined) and LOGOUT, each only while the session
 *        is not broken.  Byte 1 picks the variants:
 *          bits 0-1  LOGIN quoted / LOGIN with a literal / AUTHENTICATE
 *                    PLAIN / AUTHENTICATE XOAUTH2
 *          bit 2     small limits (max_response 2 KB, max_body 256 B)
 *          bit 3     pipelined UID FETCH of three sets
 *          bit 4     UID SEARCH through the callback, stopping after 3
 *          bit 5     on_message takes the BODYSTRUCTURE tree
 *          bit 6     on_body aborts on the second chunk
 *          bit 7     no LIST
 *   5    imap_bodystructure_parse(rest after byte 0)
 *   6    modified UTF-7: decode then re-encode, and encode then decode
 *   7    imap_parse_internaldate(rest after byte 0)
 * STARTTLS is not driven: whether the bytes after "OK Begin TLS" are
 * already buffered depends on timing, and the run must be repeatable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "log.h"
#include "fuzz_common.h"
#include "fuzz_server.h"

static struct fuzz_server server;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  /* Warnings are still formatted (they quote the server); the many
   * INFO/DEBUG lines would only slow the run. */
  log_set_level(LOG_WARN);
  fuzz_server_listen(&server);
  return 0;
}

static bool lower_ok(const char *s)
{
  for(; s && *s; s++)
    if(*s >= 'A' && *s <= 'Z')
      return false;
  return true;
}

/* Check a BODYSTRUCTURE tree against imap.h; returns its part count. */
static size_t check_tree(const struct imap_bodypart *root,
                         const struct imap_bodypart *b, unsigned depth)
{
  size_t n = 1;

  FUZZ_CHECK(b->depth == depth && depth <= IMAP_BODY_MAX_DEPTH);
  FUZZ_CHECK(memchr(b->section, '\0', sizeof(b->section)) != NULL);
  FUZZ_CHECK(b->type && b->subtype && lower_ok(b->type) &&
             lower_ok(b->subtype));
  FUZZ_CHECK(lower_ok(b->encoding) && lower_ok(b->disposition));
  for(size_t i = 0; i < b->nparams; i++)
    FUZZ_CHECK(b->params[i].name && b->params[i].value &&
               lower_ok(b->params[i].name));
  for(size_t i = 0; i < b->ndisp_params; i++)
    FUZZ_CHECK(b->disp_params[i].name && b->disp_params[i].value &&
               lower_ok(b->disp_params[i].name));
  (void)fuzz_touch(b->id, b->id ? strlen(b->id) : 0);
  (void)fuzz_touch(b->description, b->description ? strlen(b->description) : 0);
  (void)fuzz_touch(b->filename, b->filename ? strlen(b->filename) : 0);
  (void)fuzz_touch(b->charset, b->charset ? strlen(b->charset) : 0);
  (void)fuzz_touch(b->boundary, b->boundary ? strlen(b->boundary) : 0);
  const struct imap_bodypart *f = imap_bodypart_find(root, b->section);
  FUZZ_CHECK(f != NULL && strcmp(f->section, b->section) == 0);
  for(size_t i = 0; i < b->nchildren; i++) {
    FUZZ_CHECK(b->children[i]->parent == b);
    n += check_tree(root, b->children[i], depth + 1);
  }
  return n;
}

/* ---- a session ------------------------------------------------------- */

struct session {
  unsigned flags;
  uint32_t hash;
  unsigned chunks;
  unsigned uids;
};

static int on_list(void *ctx, const struct imap_list_entry *e)
{
  struct session *s = ctx;

  FUZZ_CHECK(e->name && e->raw && e->attributes);
  s->hash ^= fuzz_touch(e->name, strlen(e->name)) ^
             fuzz_touch(e->attributes, strlen(e->attributes));
  return 0;
}

static int on_uid(void *ctx, uint32_t uid)
{
  struct session *s = ctx;

  FUZZ_CHECK(uid != 0);
  return ++s->uids >= 3;
}

static int on_body(void *ctx, const struct imap_message *m, const void *data,
                   size_t len)
{
  struct session *s = ctx;

  FUZZ_CHECK(m->body_offset + len <= m->body_len);
  FUZZ_CHECK(!m->body_too_large);
  s->hash ^= fuzz_touch(data, len);
  return (s->flags & 0x40) && ++s->chunks >= 2;
}

static int on_message(void *ctx, struct imap_message *m)
{
  struct session *s = ctx;

  FUZZ_CHECK(m->seq != 0);
  FUZZ_CHECK(!(m->have & IMAP_FETCH_BODYSTRUCTURE) || m->bodystructure);
  if(m->bodystructure) {
    size_t n = check_tree(m->bodystructure, m->bodystructure, 0);
    FUZZ_CHECK(n <= IMAP_BODY_MAX_PARTS);
    if(s->flags & 0x20) {
      imap_bodystructure_free(m->bodystructure);
      m->bodystructure = NULL;
    }
  }
  FUZZ_CHECK(memchr(m->internaldate_str, '\0', sizeof(m->internaldate_str)));
  return 0;
}

static void session(const uint8_t *script, size_t len, unsigned flags)
{
  struct imap_opts o;
  struct imap *im;
  struct session s = { flags, 0, 0, 0 };
  char err[CONN_ERR_LEN + 64];
  struct imap_mailbox_status st;
  const struct imap_fetch_req req = {
    IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_SIZE |
        IMAP_FETCH_BODYSTRUCTURE | IMAP_FETCH_BODY,
    (flags & 8) ? "1.2" : ""
  };
  const struct imap_fetch_handler h = { on_body, on_message, &s };

  memset(&o, 0, sizeof(o));
  o.conn.host = "127.0.0.1";
  o.conn.port = server.port;
  o.conn.connect_timeout_ms = o.conn.io_timeout_ms = FUZZ_SERVER_WAIT_MS;
  o.tls = IMAP_TLS_NONE;
  o.allow_plaintext_auth = true;
  if(flags & 4) {
    o.max_response = 2048;
    o.max_body = 256;
  }
  fuzz_server_start(&server, script, len);
  im = imap_connect(&o, err, sizeof(err));
  if(!im) {
    FUZZ_CHECK(err[0] != '\0');
    fuzz_server_join(&server);
    return;
  }
  switch(flags & 3) {
  case 0: (void)imap_login(im, "fuzz", "p\"a\\ss"); break;
  case 1: (void)imap_login(im, "f\xc3\xbcz", "pass"); break;
  case 2: (void)imap_authenticate_plain(im, "fuzz", "pass"); break;
  default:
    (void)imap_authenticate_xoauth2(im, "fuzz@example.com", "tok");
    break;
  }
  if(!(flags & 0x80) && imap_get_state(im) != IMAP_STATE_BROKEN)
    (void)imap_list(im, "", "*", on_list, &s);
  if(imap_get_state(im) != IMAP_STATE_BROKEN &&
     imap_examine(im,
                  (flags & 8) ? "Entw\xc3\xbc"
                                "rfe/\xe6\x97\xa5"
                              : "INBOX",
                  &st) == 0)
    FUZZ_CHECK(imap_get_state(im) == IMAP_STATE_EXAMINED);
  if(imap_get_state(im) != IMAP_STATE_BROKEN) {
    if(flags & 0x10)
      (void)imap_uid_search(im, "UID 1:*", on_uid, &s);
    else {
      uint32_t *uids = NULL;
      size_t n = 0;
      if(imap_uid_search_array(im, "ALL", 64, &uids, &n) == 0) {
        struct buf set;
        FUZZ_CHECK(n <= 64 && (n == 0 || uids));
        buf_init(&set, 4096);
        if(n && imap_uid_set_format(uids, n, &set) == 0)
          FUZZ_CHECK(set.len > 0 && strlen(set.data) == set.len);
        buf_free(&set);
      }
      free(uids);
    }
  }
  if(imap_get_state(im) != IMAP_STATE_BROKEN) {
    if(flags & 8) {
      static const char *const sets[] = { "1", "2:4", "7,9" };
      (void)imap_uid_fetch_pipelined(im, sets, 3, &req, &h);
    }
    else
      (void)imap_uid_fetch(im, "1:*", &req, &h);
  }
  (void)fuzz_touch(imap_capabilities(im), strlen(imap_capabilities(im)));
  (void)imap_has_capability(im, "IMAP4rev1");
  FUZZ_CHECK(imap_get_state(im) != IMAP_STATE_BROKEN || imap_error(im)[0]);
  if(imap_get_state(im) != IMAP_STATE_BROKEN)
    (void)imap_logout(im);
  imap_free(im);
  fuzz_server_join(&server);
}

/* ---- the pure parsers ------------------------------------------------- */

static void bodystructure(const uint8_t *data, size_t size)
{
  struct imap_bodypart *root = NULL;
  char err[200] = "";

  if(imap_bodystructure_parse((const char *)data, size, &root, err,
                              sizeof(err)) < 0) {
    FUZZ_CHECK(root == NULL && err[0] != '\0');
    return;
  }
  FUZZ_CHECK(root != NULL);
  FUZZ_CHECK(check_tree(root, root, 0) <= IMAP_BODY_MAX_PARTS);
  imap_bodystructure_free(root);
}

static void utf7(const uint8_t *data, size_t size)
{
  struct buf a, b;

  /* The input as a mailbox name from the server. */
  buf_init(&a, 4 * size + 16);
  buf_init(&b, 8 * size + 16);
  if(imap_utf7_decode((const char *)data, size, &a) == 0) {
    FUZZ_CHECK(fuzz_utf8_ok(a.data ? a.data : "", a.len));
    if(a.len && imap_utf7_encode(a.data, a.len, &b) == 0) {
      struct buf c;
      buf_init(&c, 4 * b.len + 16);
      FUZZ_CHECK(imap_utf7_decode(b.data, b.len, &c) == 0);
      FUZZ_CHECK(c.len == a.len && memcmp(c.data, a.data, a.len) == 0);
      buf_free(&c);
    }
  }
  buf_reset(&a);
  buf_reset(&b);
  /* The input as a UTF-8 name of ours. */
  if(imap_utf7_encode((const char *)data, size, &a) == 0) {
    FUZZ_CHECK(fuzz_utf8_ok((const char *)data, size));
    if(size) {
      FUZZ_CHECK(imap_utf7_decode(a.data, a.len, &b) == 0);
      FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
    }
  }
  buf_free(&a);
  buf_free(&b);
}

static void internaldate(const uint8_t *data, size_t size)
{
  int64_t t;

  if(imap_parse_internaldate((const char *)data, size, &t) == 0)
    FUZZ_CHECK(size == 26);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1)
    return 0;
  switch(data[0] % 8) {
  case 5: bodystructure(data + 1, size - 1); break;
  case 6: utf7(data + 1, size - 1); break;
  case 7: internaldate(data + 1, size - 1); break;
  default:
    if(size >= 2)
      session(data + 2, size - 2, data[1]);
    break;
  }
  return 0;
}
