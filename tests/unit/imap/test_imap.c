/*
 * The IMAP client against a real Dovecot seeded by seed.sh (INBOX: UIDs
 * 1-100 plain, 101 multipart with zip + message/rfc822, 102 dots; folder
 * Rapports/Février with 2), and against the fake servers for the hostile
 * cases (wrong tag, garbage, huge SEARCH, huge literal, BYE).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imap.h"
#include "buf.h"
#include "test_servers.h"

#define SEEDED 102

static void assert_contains(const char *hay, const char *needle)
{
  if(!strstr(hay, needle))
    fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static struct imap_opts opts_for(enum imap_tls tls)
{
  struct imap_opts o;
  memset(&o, 0, sizeof(o));
  o.conn.host = "127.0.0.1";
  o.conn.port = tenv_port(tls == IMAP_TLS_IMPLICIT ? "DOVETEST_IMAPS_PORT"
                                                   : "DOVETEST_IMAP_PORT");
  o.conn.ca_file = tenv("DOVETEST_CA");
  o.conn.io_timeout_ms = 10000;
  o.tls = tls;
  return o;
}

static struct imap *connect_ok(const struct imap_opts *o)
{
  char err[CONN_ERR_LEN];
  struct imap *im = imap_connect(o, err, sizeof(err));
  if(!im)
    fail_msg("connect: %s", err);
  return im;
}

static struct imap *login_examine(const char *mailbox,
                                  struct imap_mailbox_status *st)
{
  struct imap_opts o = opts_for(IMAP_TLS_IMPLICIT);
  struct imap *im = connect_ok(&o);
  if(imap_login(im, tenv("DOVETEST_USER"), tenv("DOVETEST_PASS")) != 0)
    fail_msg("%s", imap_error(im));
  if(imap_examine(im, mailbox, st) != 0)
    fail_msg("%s", imap_error(im));
  return im;
}

/* ------------------------------------------------------------ login */

static void test_login_good_and_bad(void **state)
{
  struct imap_opts o = opts_for(IMAP_TLS_IMPLICIT);
  struct imap *im = connect_ok(&o);
  char want[80];
  (void)state;
  assert_true(imap_is_verified(im));
  assert_true(imap_has_capability(im, "IMAP4rev1"));
  assert_int_equal(imap_get_state(im), IMAP_STATE_NOT_AUTH);
  assert_int_equal(imap_login(im, tenv("DOVETEST_USER"), "wrong \"pass\" \\"),
                   -1);
  snprintf(want, sizeof(want), "LOGIN failed at 127.0.0.1:%u: NO ",
           (unsigned)o.conn.port);
  assert_contains(imap_error(im), want);
  assert_contains(imap_error(im), "AUTHENTICATIONFAILED");
  assert_int_equal(imap_get_state(im), IMAP_STATE_NOT_AUTH);
  /* the session survives a NO */
  if(imap_login(im, tenv("DOVETEST_USER"), tenv("DOVETEST_PASS")) != 0)
    fail_msg("%s", imap_error(im));
  assert_int_equal(imap_get_state(im), IMAP_STATE_AUTH);
  /* LOGIN is a not-authenticated-state command */
  assert_int_equal(imap_login(im, "a", "b"), -1);
  assert_contains(imap_error(im), "LOGIN not allowed");
  assert_int_equal(imap_logout(im), 0);
  assert_int_equal(imap_get_state(im), IMAP_STATE_LOGOUT);
  imap_free(im);
}

/* 8-bit password: sent as a literal; still just a NO. */
static void test_login_literal_password(void **state)
{
  struct imap_opts o = opts_for(IMAP_TLS_IMPLICIT);
  struct imap *im = connect_ok(&o);
  (void)state;
  assert_int_equal(
      imap_login(im, tenv("DOVETEST_USER"), "p\xc3\xa4ss\r\nA1 LOGOUT"), -1);
  assert_contains(imap_error(im), "LOGIN failed");
  assert_int_equal(imap_get_state(im), IMAP_STATE_NOT_AUTH);
  if(imap_login(im, tenv("DOVETEST_USER"), tenv("DOVETEST_PASS")) != 0)
    fail_msg("%s", imap_error(im));
  imap_free(im);
}

static void test_plaintext_refused(void **state)
{
  struct imap_opts o = opts_for(IMAP_TLS_NONE);
  struct imap *im = connect_ok(&o);
  (void)state;
  assert_false(imap_is_verified(im));
  assert_int_equal(imap_login(im, tenv("DOVETEST_USER"), tenv("DOVETEST_PASS")),
                   -1);
  assert_contains(imap_error(im), "not protected by verified TLS");
  imap_free(im);
  o.allow_plaintext_auth = true;
  im = connect_ok(&o);
  if(imap_login(im, tenv("DOVETEST_USER"), tenv("DOVETEST_PASS")) != 0)
    fail_msg("%s", imap_error(im));
  imap_free(im);
}

static void test_starttls(void **state)
{
  struct imap_opts o = opts_for(IMAP_TLS_STARTTLS);
  struct imap *im = connect_ok(&o);
  (void)state;
  assert_true(imap_is_verified(im));
  assert_false(imap_has_capability(im, "STARTTLS")); /* asked again over TLS */
  if(imap_authenticate_plain(im, tenv("DOVETEST_USER"),
                             tenv("DOVETEST_PASS")) != 0)
    fail_msg("%s", imap_error(im));
  assert_int_equal(imap_get_state(im), IMAP_STATE_AUTH);
  imap_free(im);
}

static void test_starttls_wrong_name(void **state)
{
  struct imap_opts o = opts_for(IMAP_TLS_STARTTLS);
  char err[CONN_ERR_LEN];
  (void)state;
  o.conn.verify_name = "wronghost";
  assert_null(imap_connect(&o, err, sizeof(err)));
  assert_contains(err, "certificate verify failed");
}

static void test_xoauth2(void **state)
{
  struct imap_opts o = opts_for(IMAP_TLS_IMPLICIT);
  struct imap *im = connect_ok(&o);
  (void)state;
  assert_int_equal(
      imap_authenticate_xoauth2(im, tenv("DOVETEST_USER"), "not-the-token"),
      -1);
  assert_contains(imap_error(im), "AUTHENTICATE XOAUTH2 failed at 127.0.0.1:");
  assert_contains(imap_error(im), "NO");
  /* the JSON challenge Dovecot sends before the NO */
  assert_contains(imap_error(im), "server challenge: {\"status\":\"401\"");
  assert_int_equal(imap_get_state(im), IMAP_STATE_NOT_AUTH);
  if(imap_authenticate_xoauth2(im, tenv("DOVETEST_USER"),
                               tenv("DOVETEST_TOKEN")) != 0)
    fail_msg("%s", imap_error(im));
  assert_int_equal(imap_get_state(im), IMAP_STATE_AUTH);
  imap_free(im);
}

/* ------------------------------------------------------------ mailbox */

static void test_examine_inbox(void **state)
{
  struct imap_mailbox_status st;
  struct imap *im = login_examine("INBOX", &st);
  (void)state;
  assert_int_equal(st.exists, SEEDED);
  assert_true(st.uidvalidity > 0);
  assert_int_equal(st.uidnext, SEEDED + 1);
  assert_true(st.read_only);
  assert_int_equal(imap_get_state(im), IMAP_STATE_EXAMINED);
  /* a missing mailbox: NO, and the state drops back to authenticated */
  assert_int_equal(imap_examine(im, "Nope", &st), -1);
  assert_contains(imap_error(im), "EXAMINE failed at 127.0.0.1:");
  assert_int_equal(imap_get_state(im), IMAP_STATE_AUTH);
  imap_free(im);
}

struct names {
  char list[1024];
};

static int on_list(void *ctx, const struct imap_list_entry *e)
{
  struct names *n = ctx;
  size_t l = strlen(n->list);
  snprintf(n->list + l, sizeof(n->list) - l, "[%s|%s|%c]", e->name, e->raw,
           e->delimiter);
  return 0;
}

static void test_utf7_folder(void **state)
{
  struct imap_opts o = opts_for(IMAP_TLS_IMPLICIT);
  struct imap *im = connect_ok(&o);
  struct names n = { "" };
  struct imap_mailbox_status st;
  (void)state;
  assert_int_equal(imap_login(im, tenv("DOVETEST_USER"), tenv("DOVETEST_PASS")),
                   0);
  if(imap_list(im, "", "*", on_list, &n) != 0)
    fail_msg("%s", imap_error(im));
  assert_contains(n.list, "[INBOX|INBOX|/]");
  assert_contains(n.list, "[Rapports/F\xc3\xa9vrier|Rapports/F&AOk-vrier|/]");
  /* a pattern in UTF-8 is encoded too */
  n.list[0] = '\0';
  assert_int_equal(imap_list(im, "", "Rapports/F\xc3\xa9*", on_list, &n), 0);
  assert_string_equal(n.list,
                      "[Rapports/F\xc3\xa9vrier|Rapports/F&AOk-vrier|/]");
  if(imap_examine(im, "Rapports/F\xc3\xa9vrier", &st) != 0)
    fail_msg("%s", imap_error(im));
  assert_int_equal(st.exists, 2);
  imap_free(im);
}

/* ------------------------------------------------------------ search */

static int count_uid(void *ctx, uint32_t uid)
{
  uint64_t *sum = ctx;
  sum[0]++;
  sum[1] += uid;
  return 0;
}

static void test_uid_search(void **state)
{
  struct imap_mailbox_status st;
  struct imap *im = login_examine("INBOX", &st);
  uint32_t *uids;
  size_t n;
  uint64_t sum[2] = { 0, 0 };
  (void)state;
  if(imap_uid_search_array(im, "ALL", 1000, &uids, &n) != 0)
    fail_msg("%s", imap_error(im));
  assert_int_equal(n, SEEDED);
  for(size_t i = 0; i < n; i++)
    assert_int_equal(uids[i], i + 1);
  free(uids);
  /* over the cap: error, nothing returned, session fine */
  assert_int_equal(imap_uid_search_array(im, "ALL", 50, &uids, &n), -1);
  assert_null(uids);
  assert_contains(imap_error(im), "more than 50 UIDs");
  assert_int_equal(imap_get_state(im), IMAP_STATE_EXAMINED);
  assert_int_equal(
      imap_uid_search(im, "SUBJECT \"Test message 1\"", count_uid, sum), 0);
  assert_int_equal(sum[0], 12); /* 1, 10-19, 100 */
  assert_int_equal(imap_uid_search_array(im, "UID 101:*", 10, &uids, &n), 0);
  assert_int_equal(n, 2);
  free(uids);
  /* a NO/BAD answer is reported with the server's text */
  assert_int_equal(imap_uid_search(im, "NOSUCHKEY", count_uid, sum), -1);
  assert_contains(imap_error(im), "UID SEARCH failed at 127.0.0.1:");
  assert_contains(imap_error(im), "BAD");
  assert_int_equal(imap_uid_search(im, "ALL\r\nA1 LOGOUT", count_uid, sum), -1);
  assert_int_equal(imap_get_state(im), IMAP_STATE_EXAMINED);
  imap_free(im);
}

/* ------------------------------------------------------------ fetch */

struct got {
  size_t messages;
  uint32_t uids[256];
  unsigned flags[256];
  struct imap_bodypart *bs;
  struct buf body[256]; /* by UID */
  uint64_t size[256];
  char section[IMAP_SECTION_MAX];
  bool bad;
};

static int got_body(void *ctx, const struct imap_message *m, const void *d,
                    size_t n)
{
  struct got *g = ctx;
  if(m->uid == 0 || m->uid > 255 || m->body_offset != g->body[m->uid].len) {
    g->bad = true;
    return 1;
  }
  snprintf(g->section, sizeof(g->section), "%s", m->section);
  return buf_append(&g->body[m->uid], d, n);
}

static int got_message(void *ctx, struct imap_message *m)
{
  struct got *g = ctx;
  if(g->messages < 256) {
    g->uids[g->messages] = m->uid;
    g->flags[g->messages] = m->flags;
  }
  g->messages++;
  if(m->uid < 256)
    g->size[m->uid] = m->size;
  if(m->bodystructure && !g->bs) {
    g->bs = m->bodystructure; /* take ownership */
    m->bodystructure = NULL;
  }
  return 0;
}

static struct got *got_new(void)
{
  struct got *g = calloc(1, sizeof(*g));
  for(int i = 0; i < 256; i++)
    buf_init(&g->body[i], 1 << 20);
  return g;
}

static void got_free(struct got *g)
{
  for(int i = 0; i < 256; i++)
    buf_free(&g->body[i]);
  imap_bodystructure_free(g->bs);
  free(g);
}

static void test_bodystructure(void **state)
{
  struct imap_mailbox_status st;
  struct imap *im = login_examine("INBOX", &st);
  struct got *g = got_new();
  struct imap_fetch_handler h = { got_body, got_message, g };
  struct imap_fetch_req req = {
    IMAP_FETCH_BODYSTRUCTURE | IMAP_FETCH_INTERNALDATE, NULL
  };
  const struct imap_bodypart *p;
  (void)state;
  if(imap_uid_fetch(im, "101", &req, &h) != 0)
    fail_msg("%s", imap_error(im));
  assert_int_equal(g->messages, 1);
  assert_int_equal(g->uids[0], 101);
  assert_non_null(g->bs);
  assert_string_equal(g->bs->type, "multipart");
  assert_string_equal(g->bs->subtype, "mixed");
  assert_int_equal(g->bs->nchildren, 3);
  p = imap_bodypart_find(g->bs, "1");
  assert_string_equal(p->type, "text");
  assert_string_equal(p->charset, "us-ascii");
  p = imap_bodypart_find(g->bs, "2");
  assert_string_equal(p->type, "application");
  assert_string_equal(p->subtype, "zip");
  assert_string_equal(p->encoding, "base64");
  assert_string_equal(p->disposition, "attachment");
  assert_string_equal(p->filename, "report.zip");
  p = imap_bodypart_find(g->bs, "3");
  assert_string_equal(p->type, "message");
  assert_string_equal(p->subtype, "rfc822");
  assert_string_equal(p->filename, "fwd.eml");
  assert_int_equal(p->nchildren, 1);
  assert_string_equal(p->children[0]->subtype, "alternative");
  assert_string_equal(imap_bodypart_find(g->bs, "3.1")->subtype, "plain");
  assert_string_equal(imap_bodypart_find(g->bs, "3.2")->subtype, "html");
  assert_string_equal(imap_bodypart_find(g->bs, "3.2")->charset, "utf-8");
  got_free(g);
  imap_free(im);
}

static void test_body_peek_part(void **state)
{
  struct imap_mailbox_status st;
  struct imap *im = login_examine("INBOX", &st);
  struct got *g = got_new();
  struct imap_fetch_handler h = { got_body, got_message, g };
  struct imap_fetch_req req = { IMAP_FETCH_BODY, "2" };
  char path[512];
  size_t elen;
  char *expect;
  (void)state;
  snprintf(path, sizeof(path), "%s/expected/part2.expected",
           tenv("DOVETEST_DIR"));
  expect = slurp(path, &elen);
  assert_non_null(expect);
  if(imap_uid_fetch(im, "101", &req, &h) != 0)
    fail_msg("%s", imap_error(im));
  assert_false(g->bad);
  assert_string_equal(g->section, "2");
  assert_int_equal(g->body[101].len, elen);
  assert_memory_equal(g->body[101].data, expect, elen);
  free(expect);
  /* sections are validated before anything is sent */
  req.section = "1 FLAGS";
  assert_int_equal(imap_uid_fetch(im, "101", &req, &h), -1);
  assert_contains(imap_error(im), "invalid section");
  assert_int_equal(imap_uid_fetch(im, "1:2 BODY[]", &req, &h), -1);
  assert_contains(imap_error(im), "invalid UID set");
  assert_int_equal(imap_get_state(im), IMAP_STATE_EXAMINED);
  got_free(g);
  imap_free(im);
}

static void check_hundred(struct got *g)
{
  assert_false(g->bad);
  assert_int_equal(g->messages, 100);
  for(uint32_t uid = 1; uid <= 100; uid++) {
    char want[64];
    struct buf *b = &g->body[uid];
    snprintf(want, sizeof(want), "This is test message number %u.\r\n", uid);
    assert_non_null(b->data);
    assert_non_null(strstr(b->data, want));
    assert_int_equal(b->len, g->size[uid]);
  }
}

static void test_fetch_hundred_pipelined(void **state)
{
  struct imap_mailbox_status st;
  struct imap *im = login_examine("INBOX", &st);
  struct got *g = got_new();
  struct imap_fetch_handler h = { got_body, got_message, g };
  struct imap_fetch_req req = {
    IMAP_FETCH_BODY | IMAP_FETCH_SIZE | IMAP_FETCH_FLAGS, ""
  };
  const char *sets[10] = { "1:10",  "11:20", "21:30", "31:40", "41:50",
                           "51:60", "61:70", "71:80", "81:90", "91:100" };
  (void)state;
  if(imap_uid_fetch_pipelined(im, sets, 10, &req, &h) != 0)
    fail_msg("%s", imap_error(im));
  check_hundred(g);
  got_free(g);

  /* the same as one UID set */
  g = got_new();
  h.ctx = g;
  if(imap_uid_fetch(im, "1:100", &req, &h) != 0)
    fail_msg("%s", imap_error(im));
  check_hundred(g);
  got_free(g);
  imap_free(im);
}

/* imap_uid_fetch_send / _finish: two commands with different items, one
 * asking for two sections of a message; nothing else may run between. */
struct sect_got {
  struct buf hdr, part;
  unsigned messages, structures;
  bool bad;
};

static int sect_body(void *ctx, const struct imap_message *m, const void *d,
                     size_t n)
{
  struct sect_got *g = ctx;
  struct buf *b = !strcmp(m->section, "HEADER") ? &g->hdr
                  : !strcmp(m->section, "2")    ? &g->part
                                                : NULL;
  if(!b || m->uid != 101 || m->body_offset != b->len) {
    g->bad = true;
    return 1;
  }
  return buf_append(b, d, n);
}

static int sect_message(void *ctx, struct imap_message *m)
{
  struct sect_got *g = ctx;
  g->messages++;
  if(m->have & IMAP_FETCH_BODYSTRUCTURE)
    g->structures++;
  if(m->uid == 101 && !(m->have & IMAP_FETCH_BODY))
    g->bad = true;
  return 0;
}

static void test_send_now_read_later(void **state)
{
  struct imap_mailbox_status st;
  struct imap *im = login_examine("INBOX", &st);
  struct sect_got g;
  struct imap_fetch_handler h = { sect_body, sect_message, &g };
  static const char *const two[] = { "HEADER", "2" };
  static const char *const bad[] = { "HEADER", "2 FLAGS" };
  struct imap_fetch_cmd cmds[2] = {
    { "101", IMAP_FETCH_BODY, two, 2 },
    { "1:3", IMAP_FETCH_BODYSTRUCTURE, NULL, 0 },
  };
  uint32_t *uids = NULL;
  size_t n = 0, elen;
  char path[512], *expect;
  (void)state;
  memset(&g, 0, sizeof(g));
  buf_init(&g.hdr, 1 << 20);
  buf_init(&g.part, 1 << 20);
  assert_false(imap_uid_fetch_is_pending(im));
  assert_int_equal(imap_uid_fetch_finish(im), -1); /* nothing sent */
  if(imap_uid_fetch_send(im, cmds, 2, &h) != 0)
    fail_msg("%s", imap_error(im));
  assert_true(imap_uid_fetch_is_pending(im));
  /* answers are on the wire: any other command is refused, harmlessly */
  assert_int_equal(imap_uid_search_array(im, "ALL", 1000, &uids, &n), -1);
  assert_contains(imap_error(im), "not finished");
  assert_int_equal(g.messages, 0);
  if(imap_uid_fetch_finish(im) != 0)
    fail_msg("%s", imap_error(im));
  assert_false(imap_uid_fetch_is_pending(im));
  assert_false(g.bad);
  assert_int_equal(g.messages, 4);
  assert_int_equal(g.structures, 3);
  /* the header ends with its blank line; part 2 is what BODY[2] gives */
  assert_true(g.hdr.len > 4);
  assert_memory_equal(g.hdr.data + g.hdr.len - 4, "\r\n\r\n", 4);
  assert_contains(g.hdr.data, "Subject:");
  snprintf(path, sizeof(path), "%s/expected/part2.expected",
           tenv("DOVETEST_DIR"));
  expect = slurp(path, &elen);
  assert_non_null(expect);
  assert_int_equal(g.part.len, elen);
  assert_memory_equal(g.part.data, expect, elen);
  free(expect);
  /* a bad section in any command: nothing is sent, nothing pending */
  cmds[0].sections = bad;
  assert_int_equal(imap_uid_fetch_send(im, cmds, 2, &h), -1);
  assert_contains(imap_error(im), "invalid section");
  assert_false(imap_uid_fetch_is_pending(im));
  /* and the session goes on */
  assert_int_equal(imap_uid_search_array(im, "ALL", 1000, &uids, &n), 0);
  assert_int_equal(n, SEEDED);
  free(uids);
  buf_free(&g.hdr);
  buf_free(&g.part);
  imap_free(im);
}

/* Nothing above may have set \Seen: check from a second session. */
static void test_seen_unchanged(void **state)
{
  struct imap_mailbox_status st;
  struct imap *a = login_examine("INBOX", &st), *b;
  struct got *g = got_new();
  struct imap_fetch_handler h = { got_body, got_message, g };
  struct imap_fetch_req req = { IMAP_FETCH_BODY, "" };
  (void)state;
  if(imap_uid_fetch(a, "1:*", &req, &h) != 0)
    fail_msg("%s", imap_error(a));
  got_free(g);
  g = got_new();
  h.ctx = g;
  req.section = "1";
  if(imap_uid_fetch(a, "101", &req, &h) != 0)
    fail_msg("%s", imap_error(a));
  assert_string_equal(g->body[101].data, "See the attached report.");
  got_free(g);
  imap_free(a);

  b = login_examine("INBOX", &st);
  g = got_new();
  h.ctx = g;
  req.items = IMAP_FETCH_FLAGS;
  assert_int_equal(imap_uid_fetch(b, "1:*", &req, &h), 0);
  assert_int_equal(g->messages, SEEDED);
  for(size_t i = 0; i < g->messages; i++)
    assert_int_equal(g->flags[i] & IMAP_FLAG_SEEN, 0);
  got_free(g);
  imap_free(b);
}

static int got_date(void *ctx, struct imap_message *m)
{
  struct imap_message *out = ctx;
  *out = *m;
  out->bodystructure = NULL;
  return 0;
}

static void test_internaldate_fetch(void **state)
{
  struct imap_mailbox_status st;
  struct imap *im = login_examine("INBOX", &st);
  struct imap_message m;
  struct imap_fetch_handler h = { NULL, got_date, &m };
  struct imap_fetch_req req = { IMAP_FETCH_INTERNALDATE | IMAP_FETCH_SIZE,
                                NULL };
  int64_t t;
  (void)state;
  memset(&m, 0, sizeof(m));
  assert_int_equal(imap_uid_fetch(im, "5", &req, &h), 0);
  assert_int_equal(m.uid, 5);
  assert_true(m.have & IMAP_FETCH_INTERNALDATE);
  assert_true(m.have & IMAP_FETCH_SIZE);
  assert_int_equal(strlen(m.internaldate_str), 26);
  assert_int_equal(imap_parse_internaldate(m.internaldate_str, 26, &t), 0);
  assert_int_equal(t, m.internaldate);
  assert_true(m.internaldate > 1600000000);
  imap_free(im);
}

/* ------------------------------------------------------------ hostile */

static struct imap_opts fake_opts(const char *scenario)
{
  struct imap_opts o;
  memset(&o, 0, sizeof(o));
  o.conn.host = "127.0.0.1";
  o.conn.port = fake_port(scenario);
  o.conn.io_timeout_ms = 3000;
  o.tls = IMAP_TLS_NONE;
  o.allow_plaintext_auth = true;
  return o;
}

static void test_wrong_tag(void **state)
{
  struct imap_opts o = fake_opts("imap_badtag");
  struct imap *im = connect_ok(&o);
  (void)state;
  assert_int_equal(imap_login(im, "u", "p"), -1);
  assert_contains(imap_error(im), "unexpected tag from 127.0.0.1:");
  assert_int_equal(imap_get_state(im), IMAP_STATE_BROKEN);
  /* broken stays broken */
  assert_int_equal(imap_login(im, "u", "p"), -1);
  assert_contains(imap_error(im), "unexpected tag");
  imap_free(im);
}

static void test_garbage(void **state)
{
  struct imap_opts o = fake_opts("imap_garbage");
  struct imap *im = connect_ok(&o);
  (void)state;
  assert_int_equal(imap_login(im, "u", "p"), -1);
  assert_contains(imap_error(im), "garbage!!");
  assert_int_equal(imap_get_state(im), IMAP_STATE_BROKEN);
  imap_free(im);
}

static void test_no_then_ok(void **state)
{
  struct imap_opts o = fake_opts("imap_no_login");
  struct imap *im = connect_ok(&o);
  (void)state;
  assert_int_equal(imap_login(im, "u", "p"), -1);
  assert_contains(imap_error(im), "NO [AUTHENTICATIONFAILED] go away");
  assert_int_equal(imap_login(im, "u", "p"), 0);
  imap_free(im);
}

static void test_bye(void **state)
{
  struct imap_opts o = fake_opts("imap_bye");
  struct imap *im = connect_ok(&o);
  (void)state;
  assert_int_equal(imap_login(im, "u", "p"), -1);
  assert_contains(imap_error(im), "connection closed by 127.0.0.1:");
  assert_contains(imap_error(im), "shutting down for maintenance");
  imap_free(im);
}

/* A "* SEARCH" line is streamed, never assembled, so as the greeting it
 * left the response buffer without storage; the greeting check then did
 * arithmetic on NULL and quoted it with %s (found by fuzz_imap_response). */
static void test_search_as_greeting(void **state)
{
  struct imap_opts o = fake_opts("imap_search_greeting");
  char err[CONN_ERR_LEN + 64];
  (void)state;
  assert_null(imap_connect(&o, err, sizeof(err)));
  assert_contains(err, "not an IMAP greeting from 127.0.0.1:");
}

static int stop_early(void *ctx, uint32_t uid)
{
  (void)ctx;
  return uid == 10;
}

/* A million UIDs on one 6.9 MB line, far over max_response: streamed. */
static void test_huge_search(void **state)
{
  struct imap_opts o = fake_opts("imap_bigsearch");
  struct imap *im;
  struct imap_mailbox_status st;
  uint64_t sum[2] = { 0, 0 };
  uint32_t *uids;
  size_t n;
  (void)state;
  o.max_response = 64 * 1024;
  im = connect_ok(&o);
  assert_int_equal(imap_login(im, "u", "p"), 0);
  assert_int_equal(imap_examine(im, "INBOX", &st), 0);
  assert_int_equal(st.exists, 1000000);
  assert_int_equal(st.uidvalidity, 7);
  if(imap_uid_search(im, "ALL", count_uid, sum) != 0)
    fail_msg("%s", imap_error(im));
  assert_int_equal(sum[0], 1000000);
  assert_int_equal(sum[1], 500000500000ull);
  assert_int_equal(imap_uid_search_array(im, "ALL", 1000, &uids, &n), -1);
  assert_contains(imap_error(im), "more than 1000 UIDs");
  assert_int_equal(imap_get_state(im), IMAP_STATE_EXAMINED);
  assert_int_equal(imap_uid_search(im, "ALL", stop_early, NULL), -1);
  assert_contains(imap_error(im), "unexpected byte");
  assert_int_equal(imap_get_state(im), IMAP_STATE_BROKEN);
  imap_free(im);
}

static void test_huge_literal(void **state)
{
  struct imap_opts o = fake_opts("imap_hugeliteral");
  struct imap *im;
  struct imap_mailbox_status st;
  struct got *g = got_new();
  struct imap_fetch_handler h = { NULL, got_message, g };
  struct imap_fetch_req req = { IMAP_FETCH_BODY, "" };
  (void)state;
  o.max_body = 1000;
  im = connect_ok(&o);
  assert_int_equal(imap_login(im, "u", "p"), 0);
  assert_int_equal(imap_examine(im, "INBOX", &st), 0);
  /* 3000 > max_body: drained and flagged; the next message still arrives
   * (its UID comes after the body) */
  if(imap_uid_fetch(im, "11:12", &req, &h) != 0)
    fail_msg("%s", imap_error(im));
  assert_int_equal(g->messages, 2);
  assert_int_equal(g->uids[0], 11);
  assert_int_equal(g->uids[1], 12);
  /* 99999999999 bytes announced: refused before reading */
  assert_int_equal(imap_uid_fetch(im, "13", &req, &h), -1);
  assert_contains(imap_error(im),
                  "literal of 99999999999 bytes from 127.0.0.1:");
  assert_int_equal(imap_get_state(im), IMAP_STATE_BROKEN);
  got_free(g);
  imap_free(im);
}

struct flagged {
  bool too_large[3];
  uint32_t uid_during_body;
  char body[16];
};

static int fl_body(void *ctx, const struct imap_message *m, const void *d,
                   size_t n)
{
  struct flagged *f = ctx;
  f->uid_during_body = m->uid;
  if(n < sizeof(f->body))
    memcpy(f->body, d, n);
  return 0;
}

static int fl_msg(void *ctx, struct imap_message *m)
{
  struct flagged *f = ctx;
  if(m->seq <= 2)
    f->too_large[m->seq] = m->body_too_large;
  return 0;
}

static void test_huge_literal_flags(void **state)
{
  struct imap_opts o = fake_opts("imap_hugeliteral");
  struct imap *im;
  struct imap_mailbox_status st;
  struct flagged f;
  struct imap_fetch_handler h = { fl_body, fl_msg, &f };
  struct imap_fetch_req req = { IMAP_FETCH_BODY, "" };
  (void)state;
  memset(&f, 0, sizeof(f));
  o.max_body = 1000;
  im = connect_ok(&o);
  assert_int_equal(imap_login(im, "u", "p"), 0);
  assert_int_equal(imap_examine(im, "INBOX", &st), 0);
  assert_int_equal(imap_uid_fetch(im, "11:12", &req, &h), 0);
  assert_true(f.too_large[1]);
  assert_false(f.too_large[2]);
  assert_int_equal(f.uid_during_body, 0); /* UID came after the body */
  assert_string_equal(f.body, "hello");
  imap_free(im);
}

static int two_body(void *ctx, const struct imap_message *m, const void *d,
                    size_t n)
{
  struct flagged *f = ctx;
  /* on_body only ever sees a body that fits */
  f->too_large[0] |= m->body_too_large;
  if(n < sizeof(f->body))
    memcpy(f->body, d, n);
  return 0;
}

/* body_too_large of the first body in a FETCH was still set while the
 * second one streamed (found by fuzz_imap_response). */
static void test_too_large_then_small(void **state)
{
  struct imap_opts o = fake_opts("imap_two_bodies");
  struct imap *im;
  struct imap_mailbox_status st;
  struct flagged f;
  struct imap_fetch_handler h = { two_body, fl_msg, &f };
  struct imap_fetch_req req = { IMAP_FETCH_BODY, "1" };
  (void)state;
  memset(&f, 0, sizeof(f));
  o.max_body = 1000;
  im = connect_ok(&o);
  assert_int_equal(imap_login(im, "u", "p"), 0);
  assert_int_equal(imap_examine(im, "INBOX", &st), 0);
  assert_int_equal(imap_uid_fetch(im, "11", &req, &h), 0);
  assert_string_equal(f.body, "hello");
  assert_false(f.too_large[0]);
  assert_false(f.too_large[1]); /* the last body, as on_message sees it */
  imap_free(im);
}

static int bs_msg(void *ctx, struct imap_message *m)
{
  unsigned *have = ctx;
  /* the flag promises a tree: check the promise where it is made */
  if((m->have & IMAP_FETCH_BODYSTRUCTURE) && !m->bodystructure)
    fail_msg("BODYSTRUCTURE flagged without a tree");
  *have = m->have;
  return 0;
}

/* A second, malformed BODYSTRUCTURE in one FETCH freed the first tree but
 * left its flag set (found by fuzz_imap_response); INTERNALDATE alike. */
static void test_two_bodystructures(void **state)
{
  struct imap_opts o = fake_opts("imap_two_bodystructures");
  struct imap *im;
  struct imap_mailbox_status st;
  unsigned have = 0;
  struct imap_fetch_handler h = { NULL, bs_msg, &have };
  struct imap_fetch_req req = {
    IMAP_FETCH_BODYSTRUCTURE | IMAP_FETCH_INTERNALDATE, NULL
  };
  (void)state;
  im = connect_ok(&o);
  assert_int_equal(imap_login(im, "u", "p"), 0);
  assert_int_equal(imap_examine(im, "INBOX", &st), 0);
  /* the message is still delivered; the fetch reports the bad item */
  assert_int_equal(imap_uid_fetch(im, "11", &req, &h), -1);
  assert_contains(imap_error(im), "uid 11: BODYSTRUCTURE: bad media subtype");
  assert_int_equal(have & IMAP_FETCH_BODYSTRUCTURE, 0);
  assert_int_equal(have & IMAP_FETCH_INTERNALDATE, 0);
  imap_free(im);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_login_good_and_bad),
    cmocka_unit_test(test_login_literal_password),
    cmocka_unit_test(test_plaintext_refused),
    cmocka_unit_test(test_starttls),
    cmocka_unit_test(test_starttls_wrong_name),
    cmocka_unit_test(test_xoauth2),
    cmocka_unit_test(test_examine_inbox),
    cmocka_unit_test(test_utf7_folder),
    cmocka_unit_test(test_uid_search),
    cmocka_unit_test(test_bodystructure),
    cmocka_unit_test(test_body_peek_part),
    cmocka_unit_test(test_fetch_hundred_pipelined),
    cmocka_unit_test(test_send_now_read_later),
    cmocka_unit_test(test_seen_unchanged),
    cmocka_unit_test(test_internaldate_fetch),
    cmocka_unit_test(test_wrong_tag),
    cmocka_unit_test(test_garbage),
    cmocka_unit_test(test_no_then_ok),
    cmocka_unit_test(test_bye),
    cmocka_unit_test(test_search_as_greeting),
    cmocka_unit_test(test_too_large_then_small),
    cmocka_unit_test(test_two_bodystructures),
    cmocka_unit_test(test_huge_search),
    cmocka_unit_test(test_huge_literal),
    cmocka_unit_test(test_huge_literal_flags),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
