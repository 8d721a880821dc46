/*
 * imap: read-only IMAP4rev1 client.  RFC 3501 (IMAP4rev1), RFC 9051
 * (IMAP4rev2, the shared subset), RFC 2595 (STARTTLS), RFC 4959 (SASL-IR),
 * RFC 4616 (PLAIN), RFC 7888 (LITERAL+), Google/Microsoft XOAUTH2.
 *
 * Structure:
 *  - imap_read_response() assembles one response: the line (read in
 *    chunks, capped at max_response) plus its literals.  Literals that are
 *    message bodies in a FETCH are streamed to the fetch handler instead and
 *    replaced by NIL in the assembled text; a "* SEARCH" line is parsed as
 *    it streams in and never assembled.
 *  - imap_wait() reads responses until every outstanding tag is answered
 *    (or a continuation arrives when one is wanted), dispatching untagged
 *    ones to the handlers of the running command.
 *  - imap_set_state() is the only place the session state changes.
 */
#include "imap/imap.h"

#include <ctype.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "imap/imap-private.h"
#include "util/log.h"
#include "util/util.h"

#define IMAP_TAG_LEN      16
#define IMAP_CMD_MAX      (256 * 1024)
#define IMAP_UIDSET_MAX   8192
#define IMAP_FETCH_SKIP_DEPTH (3 * IMAP_BODY_MAX_DEPTH + 10)

struct imap_tag {
  char tag[IMAP_TAG_LEN];
  const char *cmd;        /* static command name, for error messages */
};

enum rkind { R_UNTAGGED, R_TAGGED, R_CONT, R_CONSUMED };

struct imap {
  struct conn *c;
  enum imap_state state;
  bool allow_plaintext_auth;
  size_t max_response;
  uint64_t max_body;
  struct buf resp;            /* the response being assembled */
  char *caps;                 /* "IMAP4REV1 STARTTLS ..." upper-case */
  bool caps_known;
  unsigned tagno;
  struct imap_tag tags[IMAP_MAX_PIPELINE];
  size_t ntags;
  bool cmd_failed;            /* a tagged NO/BAD since the command began */
  char err[CONN_ERR_LEN];
  char bye[200];              /* text of an untagged BYE */

  /* handlers of the running command */
  struct imap_mailbox_status *mbox;
  bool mbox_read_write;
  imap_uid_fn *search_fn;
  void *search_ctx;
  bool search_stop;
  bool search_active;
  imap_list_fn *list_fn;
  void *list_ctx;
  bool list_stop;
  const struct imap_fetch_handler *fetch_h;
  bool fetch_pending;         /* imap_uid_fetch_send'd, not yet finished */
  bool fetch_stop;
  bool fetch_err_set;
  struct imap_message cur;    /* FETCH response being read */
  bool cur_active;
  char sasl_msg[IMAP_MAX_SASL_CHALLENGE + 1];
};

static const char *const state_names[] = {
  [IMAP_STATE_NOT_AUTH] = "not authenticated",
  [IMAP_STATE_AUTH] = "authenticated",
  [IMAP_STATE_EXAMINED] = "examined",
  [IMAP_STATE_LOGOUT] = "logged out",
  [IMAP_STATE_BROKEN] = "broken",
};

const char *imap_state_name(enum imap_state s)
{
  if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0]))
    return state_names[s];
  return "?";
}

/* The only place the state changes. */
static void imap_set_state(struct imap *im, enum imap_state s)
{
  if (im->state == s)
    return;
  if (im->state == IMAP_STATE_BROKEN)
    return;                 /* broken is final */
  log_debug("imap %s: %s -> %s", conn_peer(im->c), imap_state_name(im->state),
            imap_state_name(s));
  im->state = s;
}

static void imap_seterr(struct imap *im, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static void imap_seterr(struct imap *im, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(im->err, sizeof(im->err), fmt, ap);
  va_end(ap);
}

/* The connection failed (conn already holds the reason). */
static int imap_io_fail(struct imap *im)
{
  if (im->bye[0])
    imap_seterr(im, "%s (server said BYE: %s)", conn_error(im->c), im->bye);
  else
    imap_seterr(im, "%s", conn_error(im->c));
  imap_set_state(im, IMAP_STATE_BROKEN);
  return -1;
}

/* A protocol violation: the stream can no longer be trusted. */
static int imap_proto_fail(struct imap *im, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static int imap_proto_fail(struct imap *im, const char *fmt, ...)
{
  char msg[CONN_ERR_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  conn_fail(im->c, "%s", msg);
  return imap_io_fail(im);
}

/* Check that a command may run now.  Does not break the session. */
static int imap_require(struct imap *im, unsigned mask, const char *cmd)
{
  if (im->state == IMAP_STATE_BROKEN)
    return -1;                      /* keep the original error */
  if (im->fetch_pending) {
    /* Its answers are still on the wire ahead of ours. */
    imap_seterr(im, "%s at %s: a pipelined UID FETCH is not finished",
                cmd, conn_peer(im->c));
    return -1;
  }
  if (!(mask & (1u << im->state))) {
    imap_seterr(im, "%s not allowed at %s in state %s", cmd, conn_peer(im->c),
                imap_state_name(im->state));
    return -1;
  }
  return 0;
}

#define ST(s) (1u << (s))

/* ------------------------------------------------------------ capabilities */

static int set_caps(struct imap *im, const char *s, size_t n)
{
  char *c = malloc(n + 1);
  if (!c)
    return -1;
  for (size_t i = 0; i < n; i++)
    c[i] = (char)toupper((unsigned char)s[i]);
  c[n] = '\0';
  free(im->caps);
  im->caps = c;
  im->caps_known = true;
  return 0;
}

bool imap_has_capability(const struct imap *im, const char *cap)
{
  size_t n = strlen(cap);
  const char *p = im->caps;
  if (!p || n == 0)
    return false;
  while (*p) {
    const char *e = strchr(p, ' ');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && strncasecmp(p, cap, n) == 0)
      return true;
    if (!e)
      break;
    p = e + 1;
  }
  return false;
}

const char *imap_capabilities(const struct imap *im)
{
  return im->caps ? im->caps : "";
}

/* ----------------------------------------------------------- reading */

static int append_chunk(void *ctx, const void *data, size_t len)
{
  return buf_append(ctx, data, len);
}

/* Parse the "{N}" at the end of line [start, end); *brace_r = offset of
 * "{" in the response buffer. */
static bool line_literal(const struct buf *b, size_t line_start,
                         uint64_t *n_r, size_t *brace_r)
{
  size_t i = b->len, digits_end;
  uint64_t v = 0, mul = 1;
  if (i <= line_start || b->data[i - 1] != '}')
    return false;
  i--;
  digits_end = i;
  while (i > line_start && b->data[i - 1] >= '0' && b->data[i - 1] <= '9')
    i--;
  if (i == digits_end || i <= line_start || b->data[i - 1] != '{')
    return false;
  if (digits_end - i > 19)
    return false;           /* cannot be a sane length; caught as garbage */
  for (size_t k = digits_end; k > i; k--) {
    v += (uint64_t)(b->data[k - 1] - '0') * mul;
    mul *= 10;
  }
  *n_r = v;
  *brace_r = i - 1;
  return true;
}

/* Read the name of a FETCH item ("UID", "BODY[1.2]<0>", "BODY[HEADER.FIELDS
 * (A B)]"): up to a space or paren, with [...] taken whole. */
static int fetch_item_name(struct itok *t, const char **s_r, size_t *n_r)
{
  const char *start = t->p;
  while (t->p < t->end) {
    char c = *t->p;
    if (c == '[') {
      const char *close = memchr(t->p, ']', (size_t)(t->end - t->p));
      if (!close)
        return -1;
      t->p = close + 1;
      continue;
    }
    if (c == ' ' || c == '(' || c == ')' || c == '{' || c == '"')
      break;
    if ((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f)
      return -1;
    t->p++;
  }
  if (t->p == start)
    return -1;
  *s_r = start;
  *n_r = (size_t)(t->p - start);
  return 0;
}

/* Is this item name one whose value is message data we stream?  Puts the
 * section ("" for RFC822 / BODY[]) in sec. */
static bool body_item(const char *s, size_t n, char *sec, size_t seclen)
{
  const char *open, *close;
  if (imap_word_eq(s, n, "RFC822") || imap_word_eq(s, n, "RFC822.TEXT") ||
      imap_word_eq(s, n, "RFC822.HEADER")) {
    /* RFC822 = BODY[], RFC822.TEXT = BODY[TEXT], RFC822.HEADER = BODY[HEADER] */
    if (n > 7)
      snprintf(sec, seclen, "%.*s", (int)(n - 7), s + 7);
    else
      sec[0] = '\0';
    return true;
  }
  if (!(n > 5 && strncasecmp(s, "BODY[", 5) == 0) &&
      !(n > 7 && strncasecmp(s, "BINARY[", 7) == 0))
    return false;
  open = memchr(s, '[', n);
  close = memchr(s, ']', n);
  if (!open || !close || close < open)
    return false;
  snprintf(sec, seclen, "%.*s", (int)(close - open - 1), open + 1);
  return true;
}

/* "* <seq> FETCH (" at the start of the response?  Sets *items_r to the
 * offset after "(". */
static bool is_fetch_resp(const struct buf *b, uint32_t *seq_r,
                          size_t *items_r)
{
  struct itok t = { b->data, b->data + b->len };
  uint64_t seq;
  const char *w;
  size_t n;
  if (!itok_eat(&t, '*') || itok_sp(&t) < 0 ||
      itok_number(&t, UINT32_MAX, &seq) < 0 || seq == 0 ||
      itok_sp(&t) < 0 || itok_atom(&t, true, &w, &n) < 0 ||
      !imap_word_eq(w, n, "FETCH") || itok_sp(&t) < 0 || !itok_eat(&t, '('))
    return false;
  *seq_r = (uint32_t)seq;
  *items_r = (size_t)(t.p - b->data);
  return true;
}

/* Look for "UID n" among the items already read, before a streamed body. */
static uint32_t scan_uid(const char *p, const char *end)
{
  struct itok t = { p, end };
  for (;;) {
    const char *name;
    size_t n;
    uint64_t v;
    while (itok_eat(&t, ' '))
      ;
    if (fetch_item_name(&t, &name, &n) < 0 || itok_sp(&t) < 0)
      return 0;
    if (imap_word_eq(name, n, "UID")) {
      if (itok_number(&t, UINT32_MAX, &v) < 0)
        return 0;
      return (uint32_t)v;
    }
    if (itok_skip_value(&t, IMAP_FETCH_SKIP_DEPTH) < 0)
      return 0;
  }
}

static int body_chunk(void *ctx, const void *data, size_t len)
{
  struct imap *im = ctx;
  if (im->fetch_h->on_body &&
      im->fetch_h->on_body(im->fetch_h->ctx, &im->cur, data, len) != 0)
    return -1;
  im->cur.body_offset += len;
  return 0;
}

static void cur_begin(struct imap *im, uint32_t seq)
{
  if (im->cur_active)
    return;
  imap_bodystructure_free(im->cur.bodystructure);
  memset(&im->cur, 0, sizeof(im->cur));
  im->cur.seq = seq;
  im->cur_active = true;
}

/* The line in im->resp ends with "{n}" at offset brace.  If it is a body
 * literal of a FETCH we are running, stream it and return 1; return 0 to
 * have the caller buffer it; -1 on error. */
static int stream_body_literal(struct imap *im, size_t brace, uint64_t n)
{
  struct buf *b = &im->resp;
  uint32_t seq;
  size_t items, tok;
  char sec[IMAP_SECTION_MAX];

  if (!im->fetch_h || brace == 0 || b->data[brace - 1] != ' ')
    return 0;
  if (!is_fetch_resp(b, &seq, &items) || items > brace - 1)
    return 0;
  tok = brace - 1;
  while (tok > items && b->data[tok - 1] != ' ' && b->data[tok - 1] != '(')
    tok--;
  if (!body_item(b->data + tok, brace - 1 - tok, sec, sizeof(sec)))
    return 0;
  /* The token scan stops at spaces, so "BODY[HEADER.FIELDS (A B)]" is not
   * recognised here; we never ask for such sections. */
  cur_begin(im, seq);
  if (im->cur.seq != seq)
    return imap_proto_fail(im, "FETCH sequence changed inside a response from %s",
                           conn_peer(im->c));
  if (!im->cur.uid)
    im->cur.uid = scan_uid(b->data + items, b->data + tok);
  snprintf(im->cur.section, sizeof(im->cur.section), "%s", sec);
  im->cur.body_len = n;
  im->cur.body_offset = 0;
  im->cur.body_too_large = false;   /* it described an earlier body */
  b->len = brace;
  b->data[b->len] = '\0';
  if (buf_puts(b, "NIL") < 0)
    return imap_proto_fail(im, "response longer than %zu bytes from %s",
                           im->max_response, conn_peer(im->c));
  if (n > im->max_body) {
    log_warn("imap %s: message seq %u uid %u: body [%s] of %llu bytes exceeds "
             "the limit of %llu bytes, skipped", conn_peer(im->c), seq,
             im->cur.uid, sec, (unsigned long long)n,
             (unsigned long long)im->max_body);
    im->cur.body_too_large = true;
    if (conn_read_exact(im->c, n, NULL, NULL) < 0)
      return imap_io_fail(im);
    return 1;
  }
  if (n == 0) {
    if (im->fetch_h->on_body &&
        im->fetch_h->on_body(im->fetch_h->ctx, &im->cur, "", 0) != 0) {
      conn_fail(im->c, "reading from %s aborted by caller", conn_peer(im->c));
      return imap_io_fail(im);
    }
    return 1;
  }
  if (conn_read_exact(im->c, n, body_chunk, im) < 0)
    return imap_io_fail(im);
  return 1;
}

/* Stream the rest of a "* SEARCH" line: numbers separated by spaces. */
static int search_stream(struct imap *im, const char *p, size_t n, bool eol)
{
  uint64_t acc = 0;
  bool in_num = false;
  for (;;) {
    for (size_t i = 0; i < n; i++) {
      char ch = p[i];
      if (ch >= '0' && ch <= '9') {
        acc = acc * 10 + (uint64_t)(ch - '0');
        if (acc > UINT32_MAX)
          return imap_proto_fail(im, "UID out of range in SEARCH from %s",
                                 conn_peer(im->c));
        in_num = true;
      } else if (ch == ' ' || ch == '\r') {
        if (in_num) {
          if (acc == 0)
            return imap_proto_fail(im, "UID 0 in SEARCH from %s", conn_peer(im->c));
          if (im->search_active && !im->search_stop &&
              im->search_fn(im->search_ctx, (uint32_t)acc) != 0)
            im->search_stop = true;
        }
        acc = 0;
        in_num = false;
      } else {
        return imap_proto_fail(im, "unexpected byte 0x%02x in SEARCH from %s",
                               (unsigned char)ch, conn_peer(im->c));
      }
    }
    if (eol)
      break;
    if (conn_read_line_chunk(im->c, &p, &n, &eol) < 0)
      return imap_io_fail(im);
  }
  if (in_num) {
    if (acc == 0)
      return imap_proto_fail(im, "UID 0 in SEARCH from %s", conn_peer(im->c));
    if (im->search_active && !im->search_stop &&
        im->search_fn(im->search_ctx, (uint32_t)acc) != 0)
      im->search_stop = true;
  }
  return 0;
}

static bool is_search_start(const char *p, size_t n, bool eol)
{
  if (n < 8 || strncasecmp(p, "* SEARCH", 8) != 0)
    return false;
  return n == 8 ? eol : p[8] == ' ';
}

/* Read one complete response into im->resp (see the file comment). */
static int imap_read_response(struct imap *im, enum rkind *kind_r)
{
  struct buf *b = &im->resp;
  bool first = true;
  size_t line_start = 0;
  buf_reset(b);
  im->cur_active = false;
  for (;;) {
    const char *p;
    size_t n, brace;
    bool eol;
    uint64_t lit;
    int r;
    if (conn_read_line_chunk(im->c, &p, &n, &eol) < 0)
      return imap_io_fail(im);
    if (first) {
      first = false;
      if (is_search_start(p, n, eol)) {
        if (search_stream(im, p + 8, n - 8, eol) < 0)
          return -1;
        *kind_r = R_CONSUMED;
        return 0;
      }
    }
    if (b->len + n > im->max_response || buf_append(b, p, n) < 0)
      return imap_proto_fail(im, "response longer than %zu bytes from %s",
                             im->max_response, conn_peer(im->c));
    if (!eol)
      continue;
    if (!line_literal(b, line_start, &lit, &brace))
      break;
    if (lit > IMAP_HARD_MAX_LITERAL)
      return imap_proto_fail(im, "literal of %llu bytes from %s exceeds the "
                             "hard limit", (unsigned long long)lit,
                             conn_peer(im->c));
    r = stream_body_literal(im, brace, lit);
    if (r < 0)
      return -1;
    if (r == 0) {
      if (lit + 2 > im->max_response - b->len)
        return imap_proto_fail(im, "literal of %llu bytes from %s exceeds the "
                               "response limit of %zu bytes",
                               (unsigned long long)lit, conn_peer(im->c),
                               im->max_response);
      if (buf_puts(b, "\r\n") < 0 ||
          conn_read_exact(im->c, lit, append_chunk, b) < 0) {
        if (conn_is_broken(im->c))
          return imap_io_fail(im);
        return imap_proto_fail(im, "out of memory reading from %s", conn_peer(im->c));
      }
    }
    line_start = b->len;
  }
  if (b->len >= 1 && b->data[0] == '+')
    *kind_r = R_CONT;
  else if (b->len >= 2 && b->data[0] == '*' && b->data[1] == ' ')
    *kind_r = R_UNTAGGED;
  else
    *kind_r = R_TAGGED;     /* validated against outstanding tags later */
  return 0;
}

/* ------------------------------------------------------ untagged handling */

/* "[CODE args] text": act on the codes we use. */
static int handle_resp_code(struct imap *im, const char *p, const char *end)
{
  struct itok t = { p, end };
  const char *w;
  size_t n;
  uint64_t v;
  if (!itok_eat(&t, '['))
    return 0;
  if (itok_atom(&t, true, &w, &n) < 0)
    return 0;
  if (imap_word_eq(w, n, "CAPABILITY")) {
    const char *close;
    while (itok_eat(&t, ' '))
      ;
    close = memchr(t.p, ']', (size_t)(t.end - t.p));
    if (close && set_caps(im, t.p, (size_t)(close - t.p)) < 0)
      return imap_proto_fail(im, "out of memory");
  } else if (imap_word_eq(w, n, "UIDVALIDITY") && im->mbox) {
    if (itok_sp(&t) == 0 && itok_number(&t, UINT32_MAX, &v) == 0)
      im->mbox->uidvalidity = (uint32_t)v;
  } else if (imap_word_eq(w, n, "UIDNEXT") && im->mbox) {
    if (itok_sp(&t) == 0 && itok_number(&t, UINT32_MAX, &v) == 0)
      im->mbox->uidnext = (uint32_t)v;
  } else if (imap_word_eq(w, n, "READ-ONLY") && im->mbox) {
    im->mbox->read_only = true;
  } else if (imap_word_eq(w, n, "READ-WRITE") && im->mbox) {
    im->mbox_read_write = true;
  } else if (imap_word_eq(w, n, "ALERT")) {
    log_warn("imap %s: server alert: %.*s", conn_peer(im->c),
             (int)(end - p), p);
  }
  return 0;
}

static unsigned flag_bit(const char *s, size_t n)
{
  if (imap_word_eq(s, n, "\\Seen")) return IMAP_FLAG_SEEN;
  if (imap_word_eq(s, n, "\\Answered")) return IMAP_FLAG_ANSWERED;
  if (imap_word_eq(s, n, "\\Flagged")) return IMAP_FLAG_FLAGGED;
  if (imap_word_eq(s, n, "\\Deleted")) return IMAP_FLAG_DELETED;
  if (imap_word_eq(s, n, "\\Draft")) return IMAP_FLAG_DRAFT;
  if (imap_word_eq(s, n, "\\Recent")) return IMAP_FLAG_RECENT;
  return 0;
}

static const char *const months[12] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun",
  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int two(const char *s, unsigned *v)
{
  if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
    return -1;
  *v = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
  return 0;
}

int imap_parse_internaldate(const char *s, size_t len, int64_t *t_r)
{
  /* "dd-Mon-yyyy hh:mm:ss +hhmm", 26 bytes; day may be " d". */
  char d[27];
  unsigned day, mon = 0, hh, mm, ss, zh, zm, y1, y2;
  int64_t t;
  if (len != 26)
    return -1;
  memcpy(d, s, 26);
  d[26] = '\0';
  if (d[0] == ' ')
    d[0] = '0';
  if (two(d, &day) < 0 || d[2] != '-' || d[6] != '-' || d[11] != ' ' ||
      d[14] != ':' || d[17] != ':' || d[20] != ' ' ||
      (d[21] != '+' && d[21] != '-'))
    return -1;
  for (mon = 0; mon < 12; mon++)
    if (strncasecmp(d + 3, months[mon], 3) == 0)
      break;
  if (mon == 12 || two(d + 7, &y1) < 0 || two(d + 9, &y2) < 0 ||
      two(d + 12, &hh) < 0 || two(d + 15, &mm) < 0 || two(d + 18, &ss) < 0 ||
      two(d + 22, &zh) < 0 || two(d + 24, &zm) < 0)
    return -1;
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59)
    return -1;
  t = util_days_from_civil(y1 * 100 + y2, mon + 1, day) * 86400 +
      hh * 3600 + mm * 60 + ss;
  t -= (d[21] == '-' ? -1 : 1) * (int64_t)(zh * 3600 + zm * 60);
  *t_r = t;
  return 0;
}

/* Record an error of one message that does not desync the stream; the
 * command then fails after reading all answers. */
static void fetch_item_error(struct imap *im, const char *what)
{
  if (!im->fetch_err_set) {
    imap_seterr(im, "UID FETCH at %s: message seq %u uid %u: %s",
                conn_peer(im->c), im->cur.seq, im->cur.uid, what);
    im->fetch_err_set = true;
  }
}

static int handle_fetch(struct imap *im, uint32_t seq, struct itok *t)
{
  struct imap_message *m;
  bool first = true;
  cur_begin(im, seq);
  m = &im->cur;
  if (m->seq != seq)
    return imap_proto_fail(im, "FETCH sequence changed inside a response from %s",
                           conn_peer(im->c));
  if (!itok_eat(t, '('))
    goto bad;
  for (;;) {
    const char *name;
    size_t n;
    uint64_t v;
    if (itok_eat(t, ')'))
      break;
    if (!first && itok_sp(t) < 0)
      goto bad;
    first = false;
    if (fetch_item_name(t, &name, &n) < 0 || itok_sp(t) < 0)
      goto bad;
    if (imap_word_eq(name, n, "UID")) {
      if (itok_number(t, UINT32_MAX, &v) < 0 || v == 0)
        goto bad;
      if (m->uid && m->uid != v)
        return imap_proto_fail(im, "two UIDs in one FETCH response from %s",
                               conn_peer(im->c));
      m->uid = (uint32_t)v;
    } else if (imap_word_eq(name, n, "FLAGS")) {
      if (!itok_eat(t, '('))
        goto bad;
      m->flags = 0;
      while (!itok_eat(t, ')')) {
        const char *f;
        size_t fn;
        while (itok_eat(t, ' '))
          ;
        if (itok_peek(t) == ')')
          continue;
        if (itok_atom(t, false, &f, &fn) < 0)
          goto bad;
        m->flags |= flag_bit(f, fn);
      }
      m->have |= IMAP_FETCH_FLAGS;
    } else if (imap_word_eq(name, n, "INTERNALDATE")) {
      char *s;
      size_t sl;
      if (itok_string(t, &s, &sl) < 0)
        goto bad;
      snprintf(m->internaldate_str, sizeof(m->internaldate_str), "%s", s);
      m->have &= ~(unsigned)IMAP_FETCH_INTERNALDATE;
      if (imap_parse_internaldate(s, sl, &m->internaldate) == 0)
        m->have |= IMAP_FETCH_INTERNALDATE;
      else
        fetch_item_error(im, "malformed INTERNALDATE");
      free(s);
    } else if (imap_word_eq(name, n, "RFC822.SIZE")) {
      if (itok_number(t, UINT64_MAX / 2, &v) < 0)
        goto bad;
      m->size = v;
      m->have |= IMAP_FETCH_SIZE;
    } else if (imap_word_eq(name, n, "BODYSTRUCTURE")) {
      const char *start = t->p;
      char perr[200];
      /* any nesting is stepped over (the response is capped in size);
       * the parser refuses what is too deep, for this message only */
      if (itok_skip_value(t, UINT_MAX) < 0)
        goto bad;
      /* a second BODYSTRUCTURE replaces the first, even a malformed one:
       * the flag must never promise a tree that was just freed */
      imap_bodystructure_free(m->bodystructure);
      m->bodystructure = NULL;
      m->have &= ~(unsigned)IMAP_FETCH_BODYSTRUCTURE;
      if (imap_bodystructure_parse(start, (size_t)(t->p - start),
                                   &m->bodystructure, perr, sizeof(perr)) == 0) {
        m->have |= IMAP_FETCH_BODYSTRUCTURE;
      } else {
        char what[260];
        snprintf(what, sizeof(what), "BODYSTRUCTURE: %s", perr);
        fetch_item_error(im, what);
      }
    } else if (body_item(name, n, m->section, sizeof(m->section))) {
      if (itok_nil(t)) {
        /* NIL: streamed while reading (or really NIL: no data) */
      } else if (itok_peek(t) == '"' || itok_peek(t) == '{') {
        /* Sent as a quoted string (small bodies): deliver in one chunk. */
        char *s;
        size_t sl;
        if (itok_string(t, &s, &sl) < 0)
          goto bad;
        m->body_len = sl;
        m->body_offset = 0;
        m->body_too_large = false;
        if (sl > im->max_body) {
          m->body_too_large = true;
        } else if (im->fetch_h && im->fetch_h->on_body &&
                   im->fetch_h->on_body(im->fetch_h->ctx, m, s, sl) != 0) {
          free(s);
          conn_fail(im->c, "reading from %s aborted by caller", conn_peer(im->c));
          return imap_io_fail(im);
        }
        free(s);
      } else {
        goto bad;
      }
      m->have |= IMAP_FETCH_BODY;
    } else if (itok_skip_value(t, IMAP_FETCH_SKIP_DEPTH) < 0) {
      goto bad;
    }
  }
  if (t->p != t->end)
    goto bad;
  if (im->fetch_h && !im->fetch_stop && im->fetch_h->on_message &&
      im->fetch_h->on_message(im->fetch_h->ctx, m) != 0)
    im->fetch_stop = true;
  imap_bodystructure_free(m->bodystructure);
  m->bodystructure = NULL;
  im->cur_active = false;
  return 0;
bad:
  return imap_proto_fail(im, "malformed FETCH response from %s near offset %zu",
                         conn_peer(im->c), (size_t)(t->p - im->resp.data));
}

static int handle_list(struct imap *im, struct itok *t)
{
  const char *astart, *aend;
  char attrs[256];
  char delim = '\0';
  char *raw = NULL;
  size_t rawlen;
  struct buf dec;
  struct imap_list_entry e;
  int r = 0;

  if (!itok_eat(t, '('))
    goto bad;
  astart = t->p;
  aend = memchr(t->p, ')', (size_t)(t->end - t->p));
  if (!aend)
    goto bad;
  t->p = aend + 1;
  if (itok_sp(t) < 0)
    goto bad;
  if (!itok_nil(t)) {
    char *d;
    size_t dl;
    if (itok_string(t, &d, &dl) < 0)
      goto bad;
    if (dl != 1) {
      free(d);
      goto bad;
    }
    delim = d[0];
    free(d);
  }
  if (itok_sp(t) < 0 || itok_astring(t, &raw, &rawlen) < 0)
    goto bad;
  /* Extended LIST data (RFC 5258) may follow; we asked for none. */
  snprintf(attrs, sizeof(attrs), "%.*s", (int)(aend - astart), astart);
  buf_init(&dec, 4 * rawlen + 16);
  e.raw = raw;
  e.name = imap_utf7_decode(raw, rawlen, &dec) == 0 && dec.data ? dec.data : raw;
  if (rawlen == 0)
    e.name = raw;
  e.delimiter = delim;
  e.attributes = attrs;
  if (im->list_fn && !im->list_stop && im->list_fn(im->list_ctx, &e) != 0)
    im->list_stop = true;
  buf_free(&dec);
  free(raw);
  return r;
bad:
  free(raw);
  return imap_proto_fail(im, "malformed LIST response from %s", conn_peer(im->c));
}

static int handle_untagged(struct imap *im)
{
  struct itok t = { im->resp.data + 2, im->resp.data + im->resp.len };
  const char *w;
  size_t n;
  uint64_t num;

  if (itok_peek(&t) >= '0' && itok_peek(&t) <= '9') {
    if (itok_number(&t, UINT32_MAX, &num) < 0 || itok_sp(&t) < 0 ||
        itok_atom(&t, true, &w, &n) < 0)
      return imap_proto_fail(im, "malformed response from %s: %.60s",
                             conn_peer(im->c), im->resp.data);
    if (imap_word_eq(w, n, "EXISTS")) {
      if (im->mbox)
        im->mbox->exists = (uint32_t)num;
    } else if (imap_word_eq(w, n, "FETCH")) {
      if (num == 0 || itok_sp(&t) < 0)
        return imap_proto_fail(im, "malformed FETCH from %s", conn_peer(im->c));
      return handle_fetch(im, (uint32_t)num, &t);
    }
    return 0;               /* RECENT, EXPUNGE: nothing to do read-only */
  }
  if (itok_atom(&t, true, &w, &n) < 0)
    return imap_proto_fail(im, "malformed response from %s: %.60s",
                           conn_peer(im->c), im->resp.data);
  if (imap_word_eq(w, n, "OK") || imap_word_eq(w, n, "NO") ||
      imap_word_eq(w, n, "BAD") || imap_word_eq(w, n, "PREAUTH") ||
      imap_word_eq(w, n, "BYE")) {
    bool bye = imap_word_eq(w, n, "BYE");
    while (itok_eat(&t, ' '))
      ;
    if (bye)
      snprintf(im->bye, sizeof(im->bye), "%.*s", (int)(t.end - t.p), t.p);
    else if (!imap_word_eq(w, n, "OK") && !imap_word_eq(w, n, "PREAUTH"))
      log_warn("imap %s: server says: %.*s", conn_peer(im->c),
               (int)(im->resp.len - 2), im->resp.data + 2);
    return handle_resp_code(im, t.p, t.end);
  }
  if (imap_word_eq(w, n, "CAPABILITY")) {
    while (itok_eat(&t, ' '))
      ;
    if (set_caps(im, t.p, (size_t)(t.end - t.p)) < 0)
      return imap_proto_fail(im, "out of memory");
    return 0;
  }
  if (imap_word_eq(w, n, "LIST")) {
    if (itok_sp(&t) < 0)
      return imap_proto_fail(im, "malformed LIST from %s", conn_peer(im->c));
    return handle_list(im, &t);
  }
  return 0;                 /* FLAGS, STATUS, ENABLED, ...: not needed */
}

/* ------------------------------------------------------ tagged handling */

static int handle_tagged(struct imap *im)
{
  struct itok t = { im->resp.data, im->resp.data + im->resp.len };
  const char *tag, *st;
  size_t tn, sn, i;
  const char *cmd;

  if (itok_atom(&t, true, &tag, &tn) < 0 || itok_sp(&t) < 0 ||
      itok_atom(&t, true, &st, &sn) < 0)
    return imap_proto_fail(im, "garbage from %s: %.60s", conn_peer(im->c),
                           im->resp.data);
  for (i = 0; i < im->ntags; i++)
    if (strlen(im->tags[i].tag) == tn && memcmp(im->tags[i].tag, tag, tn) == 0)
      break;
  if (i == im->ntags)
    return imap_proto_fail(im, "unexpected tag from %s: %.60s", conn_peer(im->c),
                           im->resp.data);
  cmd = im->tags[i].cmd;
  memmove(&im->tags[i], &im->tags[i + 1], (im->ntags - i - 1) * sizeof(im->tags[0]));
  im->ntags--;
  while (itok_eat(&t, ' '))
    ;
  if (imap_word_eq(st, sn, "OK"))
    return handle_resp_code(im, t.p, t.end);
  if (imap_word_eq(st, sn, "NO") || imap_word_eq(st, sn, "BAD")) {
    if (!im->cmd_failed) {
      imap_seterr(im, "%s failed at %s: %.*s %.*s", cmd, conn_peer(im->c),
                  (int)sn, st, (int)(t.end - t.p), t.p);
      im->cmd_failed = true;
    }
    return 0;
  }
  return imap_proto_fail(im, "bad status in tagged response from %s: %.60s",
                         conn_peer(im->c), im->resp.data);
}

/* Read until all outstanding tags are answered (returns 0) or, when
 * want_cont, a continuation request arrives (returns 1). -1 on error. */
static int imap_wait(struct imap *im, bool want_cont)
{
  while (im->ntags > 0) {
    enum rkind k;
    if (imap_read_response(im, &k) < 0)
      return -1;
    switch (k) {
    case R_CONSUMED:
      break;
    case R_CONT:
      if (want_cont)
        return 1;
      return imap_proto_fail(im, "unexpected continuation request from %s",
                             conn_peer(im->c));
    case R_UNTAGGED:
      if (handle_untagged(im) < 0)
        return -1;
      break;
    case R_TAGGED:
      if (handle_tagged(im) < 0)
        return -1;
      break;
    }
  }
  return 0;
}

/* Start a command: "<tag> <name>" in cmd, the tag recorded as outstanding. */
static int imap_begin(struct imap *im, struct buf *cmd, const char *name)
{
  struct imap_tag *tg;
  if (im->ntags >= IMAP_MAX_PIPELINE) {
    imap_seterr(im, "too many commands in flight");
    return -1;
  }
  tg = &im->tags[im->ntags];
  snprintf(tg->tag, sizeof(tg->tag), "A%04u", ++im->tagno);
  tg->cmd = name;
  buf_reset(cmd);
  if (buf_printf(cmd, "%s %s", tg->tag, name) < 0) {
    imap_seterr(im, "out of memory");
    return -1;
  }
  im->ntags++;
  return 0;
}

static int imap_send(struct imap *im, struct buf *cmd)
{
  if (buf_puts(cmd, "\r\n") < 0) {
    imap_seterr(im, "command too long for %s", conn_peer(im->c));
    im->ntags--;            /* nothing of it was sent */
    return -1;
  }
  if (conn_write(im->c, cmd->data, cmd->len) < 0)
    return imap_io_fail(im);
  return 0;
}

static void wipe(struct buf *b)
{
  if (b->data)
    memset(b->data, 0, b->cap);
  buf_free(b);
}

/* Run a simple command (already in cmd) to completion. */
static int imap_run(struct imap *im, struct buf *cmd)
{
  im->cmd_failed = false;
  if (imap_send(im, cmd) < 0)
    return -1;
  if (imap_wait(im, false) < 0)
    return -1;
  return im->cmd_failed ? -1 : 0;
}

static bool quotable(const char *s)
{
  for (; *s; s++)
    if (*s == '\r' || *s == '\n' || (unsigned char)*s >= 0x80)
      return false;
  return true;
}

/* Append " <s>" as a quoted string or a literal.  A synchronizing literal
 * sends what cmd holds and waits for "+".  Returns 0, or -1 (the error is
 * set; the command may have completed with NO). */
static int put_astring(struct imap *im, struct buf *cmd, const char *s)
{
  size_t n = strlen(s);
  if (quotable(s)) {
    if (buf_puts(cmd, " \"") < 0)
      goto toolong;
    for (; *s; s++)
      if (((*s == '"' || *s == '\\') && buf_putc(cmd, '\\') < 0) ||
          buf_putc(cmd, *s) < 0)
        goto toolong;
    if (buf_putc(cmd, '"') < 0)
      goto toolong;
    return 0;
  }
  if (imap_has_capability(im, "LITERAL+")) {
    if (buf_printf(cmd, " {%zu+}\r\n", n) < 0 || buf_append(cmd, s, n) < 0)
      goto toolong;
    return 0;
  }
  if (buf_printf(cmd, " {%zu}\r\n", n) < 0)
    goto toolong;
  if (conn_write(im->c, cmd->data, cmd->len) < 0)
    return imap_io_fail(im);
  memset(cmd->data, 0, cmd->len);
  buf_reset(cmd);
  {
    int r = imap_wait(im, true);
    if (r < 0)
      return -1;
    if (r == 0) {           /* answered before the literal: rejected */
      if (!im->cmd_failed)
        imap_seterr(im, "server at %s ended the command before the literal",
                    conn_peer(im->c));
      return -1;
    }
  }
  if (buf_append(cmd, s, n) < 0)
    goto toolong;
  return 0;
toolong:
  imap_seterr(im, "argument too long for %s", conn_peer(im->c));
  return -1;
}

/* Abandon a command we could not finish building. */
static int imap_abandon(struct imap *im)
{
  if (im->ntags > 0 && im->state != IMAP_STATE_BROKEN) {
    /* The tag may be half sent; the stream cannot be trusted any more. */
    char e[CONN_ERR_LEN];
    snprintf(e, sizeof(e), "%s", im->err);
    conn_fail(im->c, "%s", e);
    imap_set_state(im, IMAP_STATE_BROKEN);
  }
  return -1;
}

static int imap_capability_cmd(struct imap *im)
{
  struct buf cmd;
  int r;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "CAPABILITY");
  if (r == 0)
    r = imap_run(im, &cmd);
  buf_free(&cmd);
  if (r == 0 && !im->caps_known) {
    imap_seterr(im, "no CAPABILITY from %s", conn_peer(im->c));
    return -1;
  }
  return r;
}

/* ------------------------------------------------------------ connect */

struct imap *imap_connect(const struct imap_opts *o, char *err, size_t errlen)
{
  struct imap *im;
  struct conn_opts co;
  enum rkind k;
  struct itok t;
  const char *w;
  size_t n;

  if (errlen > 0)
    err[0] = '\0';
  im = calloc(1, sizeof(*im));
  if (!im) {
    snprintf(err, errlen, "imap: out of memory");
    return NULL;
  }
  im->allow_plaintext_auth = o->allow_plaintext_auth;
  im->max_response = o->max_response ? o->max_response : IMAP_DEFAULT_MAX_RESPONSE;
  im->max_body = o->max_body ? o->max_body : IMAP_DEFAULT_MAX_BODY;
  buf_init(&im->resp, im->max_response + 16);
  /* Storage from the start, so a response that assembled nothing (an
   * empty line, or a "* SEARCH" streamed instead) is "" and not NULL to
   * the tokenizer and the error messages that quote it. */
  if (buf_reserve(&im->resp, 0) < 0) {
    snprintf(err, errlen, "imap: out of memory");
    imap_free(im);
    return NULL;
  }
  co = o->conn;
  co.tls = o->tls == IMAP_TLS_IMPLICIT ? CONN_TLS_IMPLICIT : CONN_TLS_NONE;
  co.max_line = IMAP_LINE_CHUNK;
  im->c = conn_connect(&co, err, errlen);
  if (!im->c) {
    imap_free(im);
    return NULL;
  }
  im->state = IMAP_STATE_NOT_AUTH;

  /* Greeting: * OK / * PREAUTH / * BYE */
  if (imap_read_response(im, &k) < 0)
    goto fail;
  t.p = im->resp.data;
  t.end = im->resp.data + im->resp.len;
  if (k != R_UNTAGGED || !itok_eat(&t, '*') || itok_sp(&t) < 0 ||
      itok_atom(&t, true, &w, &n) < 0) {
    imap_proto_fail(im, "not an IMAP greeting from %s: %.60s",
                    conn_peer(im->c), im->resp.data);
    goto fail;
  }
  if (imap_word_eq(w, n, "BYE")) {
    imap_seterr(im, "IMAP server %s refused the connection: %s",
                conn_peer(im->c), im->resp.data);
    goto fail;
  }
  if (!imap_word_eq(w, n, "OK") && !imap_word_eq(w, n, "PREAUTH")) {
    imap_proto_fail(im, "not an IMAP greeting from %s: %.60s",
                    conn_peer(im->c), im->resp.data);
    goto fail;
  }
  if (handle_untagged(im) < 0)
    goto fail;
  if (imap_word_eq(w, n, "PREAUTH"))
    imap_set_state(im, IMAP_STATE_AUTH);
  if (!im->caps_known && imap_capability_cmd(im) < 0)
    goto fail;

  if (o->tls == IMAP_TLS_STARTTLS) {
    struct buf cmd;
    int r;
    if (im->state != IMAP_STATE_NOT_AUTH) {
      imap_seterr(im, "STARTTLS impossible at %s: session is preauthenticated",
                  conn_peer(im->c));
      goto fail;
    }
    if (!imap_has_capability(im, "STARTTLS")) {
      imap_seterr(im, "IMAP server %s does not offer STARTTLS", conn_peer(im->c));
      goto fail;
    }
    buf_init(&cmd, IMAP_CMD_MAX);
    r = imap_begin(im, &cmd, "STARTTLS");
    if (r == 0)
      r = imap_run(im, &cmd);
    buf_free(&cmd);
    if (r < 0)
      goto fail;
    if (conn_starttls(im->c) < 0) {
      imap_io_fail(im);
      goto fail;
    }
    /* Anything learnt before TLS may have been forged (RFC 3501 6.2.1). */
    free(im->caps);
    im->caps = NULL;
    im->caps_known = false;
    if (imap_capability_cmd(im) < 0)
      goto fail;
  }
  return im;
fail:
  snprintf(err, errlen, "%s", im->err[0] ? im->err : "IMAP connect failed");
  imap_free(im);
  return NULL;
}

void imap_free(struct imap *im)
{
  if (!im)
    return;
  conn_close(im->c);
  buf_free(&im->resp);
  imap_bodystructure_free(im->cur.bodystructure);
  free(im->caps);
  free(im);
}

int imap_logout(struct imap *im)
{
  struct buf cmd;
  int r;
  if (imap_require(im, ST(IMAP_STATE_NOT_AUTH) | ST(IMAP_STATE_AUTH) |
                   ST(IMAP_STATE_EXAMINED), "LOGOUT") < 0)
    return -1;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "LOGOUT");
  if (r == 0)
    r = imap_run(im, &cmd);
  buf_free(&cmd);
  if (r == 0)
    imap_set_state(im, IMAP_STATE_LOGOUT);
  return r;
}

const char *imap_error(const struct imap *im) { return im->err; }
enum imap_state imap_get_state(const struct imap *im) { return im->state; }
bool imap_is_verified(const struct imap *im) { return conn_is_verified(im->c); }
bool imap_timed_out(const struct imap *im) { return conn_timed_out(im->c); }

/* ------------------------------------------------------------ auth */

static int auth_allowed(struct imap *im, const char *what)
{
  if (imap_require(im, ST(IMAP_STATE_NOT_AUTH), what) < 0)
    return -1;
  if (!conn_is_verified(im->c) && !im->allow_plaintext_auth) {
    imap_seterr(im, "refusing %s at %s: the connection is not protected by "
                "verified TLS", what, conn_peer(im->c));
    return -1;
  }
  return 0;
}

/* After a successful login.  Capabilities may change (RFC 3501 6.2.3);
 * servers normally put the new list in the OK, which handle_resp_code
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
  if (auth_allowed(im, "LOGIN") < 0)
    return -1;
  if (imap_has_capability(im, "LOGINDISABLED")) {
    imap_seterr(im, "LOGIN at %s: server advertises LOGINDISABLED", conn_peer(im->c));
    return -1;
  }
  im->cmd_failed = false;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "LOGIN");
  if (r == 0 && (put_astring(im, &cmd, user) < 0 ||
                 put_astring(im, &cmd, pass) < 0)) {
    wipe(&cmd);
    if (im->ntags == 0)
      return -1;            /* the server already answered (NO) */
    return imap_abandon(im);
  }
  if (r == 0)
    r = imap_run(im, &cmd);
  wipe(&cmd);
  if (r == 0)
    return after_login(im);
  return -1;
}

static char *b64encode(const unsigned char *p, size_t n)
{
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  if (out)
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
  return out;
}

/* Decode the challenge after "+ " into im->sasl_msg (printable only). */
static void keep_challenge(struct imap *im)
{
  const char *p = im->resp.data + 1;
  size_t n = im->resp.len - 1, o = 0;
  unsigned char *dec;
  int dl;
  while (n > 0 && *p == ' ') {
    p++;
    n--;
  }
  im->sasl_msg[0] = '\0';
  if (n == 0 || n > 4 * IMAP_MAX_SASL_CHALLENGE / 3)
    return;
  dec = malloc(n + 1);
  if (!dec)
    return;
  dl = EVP_DecodeBlock(dec, (const unsigned char *)p, (int)n);
  if (dl > 0) {
    /* EVP_DecodeBlock counts padding as zero bytes. */
    if (n >= 1 && p[n - 1] == '=') dl--;
    if (n >= 2 && p[n - 2] == '=') dl--;
    for (int i = 0; i < dl && o < IMAP_MAX_SASL_CHALLENGE; i++)
      if (dec[i] >= 0x20 && dec[i] < 0x7f)
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
  char *b64;
  int rounds = 0, r;

  if (auth_allowed(im, cmdname) < 0)
    return -1;
  snprintf(cap, sizeof(cap), "AUTH=%s", mech);
  if (!imap_has_capability(im, cap)) {
    imap_seterr(im, "%s at %s: server does not advertise %s", cmdname,
                conn_peer(im->c), cap);
    return -1;
  }
  b64 = b64encode(ir, irlen);
  if (!b64) {
    imap_seterr(im, "out of memory");
    return -1;
  }
  im->sasl_msg[0] = '\0';
  im->cmd_failed = false;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, cmdname);
  if (r == 0 && imap_has_capability(im, "SASL-IR")) {
    if (buf_printf(&cmd, " %s", *b64 ? b64 : "=") < 0)
      r = -1;
    if (r == 0)
      r = imap_send(im, &cmd);
  } else if (r == 0) {
    r = imap_send(im, &cmd);
    if (r == 0) {
      r = imap_wait(im, true);
      if (r == 1) {
        buf_reset(&cmd);
        if (buf_printf(&cmd, "%s\r\n", b64) < 0 ||
            conn_write(im->c, cmd.data, cmd.len) < 0)
          r = conn_is_broken(im->c) ? imap_io_fail(im) : -1;
        else
          r = 0;
      } else if (r == 0) {
        r = -1;            /* answered without asking for the response */
      }
    }
  }
  memset(b64, 0, strlen(b64));
  free(b64);
  wipe(&cmd);
  while (r == 0 && im->ntags > 0) {
    r = imap_wait(im, true);
    if (r == 1) {
      /* A challenge after our response means failure details (XOAUTH2
       * sends JSON); answer empty to get the final NO.  Cancel if the
       * server keeps asking. */
      keep_challenge(im);
      if (conn_write_str(im->c, rounds++ == 0 ? "\r\n" : "*\r\n") < 0)
        r = imap_io_fail(im);
      else
        r = 0;
    }
  }
  if (r < 0 || im->cmd_failed) {
    if (im->cmd_failed && im->sasl_msg[0]) {
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
  if (!m) {
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

int imap_authenticate_xoauth2(struct imap *im, const char *user, const char *token)
{
  struct buf m;
  int r;
  buf_init(&m, 64 * 1024);
  if (strchr(user, '\001') || strchr(token, '\001') ||
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

/* ------------------------------------------------------------ mailboxes */

/* Append " "<mUTF-7 of name>"" to cmd. */
static int put_mailbox(struct imap *im, struct buf *cmd, const char *name)
{
  struct buf enc;
  int r;
  buf_init(&enc, 4096);
  if (imap_utf7_encode(name, strlen(name), &enc) < 0) {
    buf_free(&enc);
    imap_seterr(im, "mailbox name is not valid UTF-8 or too long: %s", name);
    return -1;
  }
  r = put_astring(im, cmd, enc.data ? enc.data : "");
  buf_free(&enc);
  return r;
}

int imap_list(struct imap *im, const char *ref, const char *pattern,
              imap_list_fn *fn, void *ctx)
{
  struct buf cmd;
  int r;
  if (imap_require(im, ST(IMAP_STATE_AUTH) | ST(IMAP_STATE_EXAMINED), "LIST") < 0)
    return -1;
  im->cmd_failed = false;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "LIST");
  if (r == 0 && (put_mailbox(im, &cmd, ref) < 0 ||
                 put_mailbox(im, &cmd, pattern) < 0)) {
    buf_free(&cmd);
    im->ntags = 0;          /* nothing was sent: quoted strings only */
    return -1;
  }
  im->list_fn = fn;
  im->list_ctx = ctx;
  im->list_stop = false;
  if (r == 0)
    r = imap_run(im, &cmd);
  im->list_fn = NULL;
  buf_free(&cmd);
  if (r == 0 && im->list_stop) {
    imap_seterr(im, "LIST at %s aborted by caller", conn_peer(im->c));
    return -1;
  }
  return r;
}

int imap_examine(struct imap *im, const char *mailbox,
                 struct imap_mailbox_status *st)
{
  struct buf cmd;
  struct imap_mailbox_status tmp;
  int r;
  if (imap_require(im, ST(IMAP_STATE_AUTH) | ST(IMAP_STATE_EXAMINED), "EXAMINE") < 0)
    return -1;
  if (!st)
    st = &tmp;
  memset(st, 0, sizeof(*st));
  im->cmd_failed = false;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "EXAMINE");
  if (r == 0 && put_mailbox(im, &cmd, mailbox) < 0) {
    buf_free(&cmd);
    im->ntags = 0;
    return -1;
  }
  im->mbox = st;
  im->mbox_read_write = false;
  if (r == 0)
    r = imap_run(im, &cmd);
  im->mbox = NULL;
  buf_free(&cmd);
  if (im->state == IMAP_STATE_BROKEN)
    return -1;
  if (r < 0) {
    imap_set_state(im, IMAP_STATE_AUTH);
    return -1;
  }
  if (im->mbox_read_write) {
    imap_proto_fail(im, "server %s opened \"%s\" read-write in answer to EXAMINE",
                    conn_peer(im->c), mailbox);
    return -1;
  }
  imap_set_state(im, IMAP_STATE_EXAMINED);
  return 0;
}

/* ------------------------------------------------------------ search */

static bool search_criteria_ok(const char *s)
{
  if (!*s)
    return false;
  for (; *s; s++)
    if (*s == '\r' || *s == '\n')
      return false;
  return true;
}

int imap_uid_search(struct imap *im, const char *criteria, imap_uid_fn *fn,
                    void *ctx)
{
  struct buf cmd;
  int r;
  if (imap_require(im, ST(IMAP_STATE_EXAMINED), "UID SEARCH") < 0)
    return -1;
  if (!search_criteria_ok(criteria)) {
    imap_seterr(im, "UID SEARCH: empty criteria or CR/LF in criteria");
    return -1;
  }
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, "UID SEARCH");
  if (r == 0 && buf_printf(&cmd, " %s", criteria) < 0) {
    buf_free(&cmd);
    im->ntags = 0;
    imap_seterr(im, "UID SEARCH: criteria too long");
    return -1;
  }
  im->search_fn = fn;
  im->search_ctx = ctx;
  im->search_stop = false;
  im->search_active = fn != NULL;
  if (r == 0)
    r = imap_run(im, &cmd);
  im->search_active = false;
  im->search_fn = NULL;
  buf_free(&cmd);
  if (r == 0 && im->search_stop) {
    imap_seterr(im, "UID SEARCH at %s aborted by caller", conn_peer(im->c));
    return -1;
  }
  return r;
}

struct uid_array {
  uint32_t *v;
  size_t n, cap, max;
  bool overflow;
  bool oom;
};

static int collect_uid(void *ctx, uint32_t uid)
{
  struct uid_array *a = ctx;
  if (a->n >= a->max) {
    a->overflow = true;
    return 1;
  }
  if (a->n == a->cap) {
    size_t nc = a->cap ? a->cap * 2 : 256;
    uint32_t *nv;
    if (nc > a->max)
      nc = a->max;
    nv = realloc(a->v, nc * sizeof(*nv));
    if (!nv) {
      a->oom = true;
      return 1;
    }
    a->v = nv;
    a->cap = nc;
  }
  a->v[a->n++] = uid;
  return 0;
}

int imap_uid_search_array(struct imap *im, const char *criteria, size_t max,
                          uint32_t **uids_r, size_t *n_r)
{
  struct uid_array a = { NULL, 0, 0, max, false, false };
  int r = imap_uid_search(im, criteria, collect_uid, &a);
  *uids_r = NULL;
  *n_r = 0;
  if (a.overflow && im->state != IMAP_STATE_BROKEN)
    imap_seterr(im, "UID SEARCH %s at %s: more than %zu UIDs", criteria,
                conn_peer(im->c), max);
  else if (a.oom && im->state != IMAP_STATE_BROKEN)
    imap_seterr(im, "UID SEARCH at %s: out of memory", conn_peer(im->c));
  if (r < 0) {
    free(a.v);
    return -1;
  }
  *uids_r = a.v;
  *n_r = a.n;
  return 0;
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

int imap_uid_set_format(const uint32_t *uids, size_t n, struct buf *out)
{
  uint32_t *s;
  size_t i = 0;
  bool first = true;
  if (n == 0)
    return 0;
  s = malloc(n * sizeof(*s));
  if (!s)
    return -1;
  memcpy(s, uids, n * sizeof(*s));
  qsort(s, n, sizeof(*s), cmp_u32);
  while (i < n) {
    size_t j = i;
    while (j + 1 < n && (s[j + 1] == s[j] || s[j + 1] == s[j] + 1))
      j++;
    if ((!first && buf_putc(out, ',') < 0) ||
        (s[i] == s[j] ? buf_printf(out, "%u", s[i])
                      : buf_printf(out, "%u:%u", s[i], s[j])) < 0) {
      free(s);
      return -1;
    }
    first = false;
    i = j + 1;
  }
  free(s);
  return 0;
}

/* ------------------------------------------------------------ fetch */

static bool uid_set_ok(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > IMAP_UIDSET_MAX)
    return false;
  for (; *s; s++)
    if (!(isdigit((unsigned char)*s) || *s == ',' || *s == ':' || *s == '*'))
      return false;
  return true;
}

/* "", "1", "1.2.3", optionally ".MIME"/".HEADER"/".TEXT"; or HEADER/TEXT. */
static bool section_ok(const char *s)
{
  if (*s == '\0' || strcmp(s, "HEADER") == 0 || strcmp(s, "TEXT") == 0)
    return true;
  for (;;) {
    if (!isdigit((unsigned char)*s) || *s == '0')
      return false;
    while (isdigit((unsigned char)*s))
      s++;
    if (*s == '\0')
      return true;
    if (*s != '.')
      return false;
    s++;
    if (strcmp(s, "MIME") == 0 || strcmp(s, "HEADER") == 0 || strcmp(s, "TEXT") == 0)
      return true;
  }
}

/* The item list "(UID ... BODY.PEEK[s1] BODY.PEEK[s2])" of one command. */
static int fetch_items(struct imap *im, unsigned what,
                       const char *const *sections, size_t nsections,
                       struct buf *items)
{
  static const char *const whole[] = { "" };
  buf_puts(items, "(UID");
  if (what & IMAP_FETCH_FLAGS) buf_puts(items, " FLAGS");
  if (what & IMAP_FETCH_INTERNALDATE) buf_puts(items, " INTERNALDATE");
  if (what & IMAP_FETCH_SIZE) buf_puts(items, " RFC822.SIZE");
  if (what & IMAP_FETCH_BODYSTRUCTURE) buf_puts(items, " BODYSTRUCTURE");
  if (what & IMAP_FETCH_BODY) {
    if (nsections == 0) {
      sections = whole;
      nsections = 1;
    }
    if (nsections > IMAP_FETCH_MAX_SECTIONS) {
      imap_seterr(im, "UID FETCH: %zu sections (at most %d)", nsections,
                  IMAP_FETCH_MAX_SECTIONS);
      return -1;
    }
    for (size_t i = 0; i < nsections; i++) {
      const char *sec = sections[i] ? sections[i] : "";
      if (!section_ok(sec)) {
        imap_seterr(im, "UID FETCH: invalid section \"%s\"", sec);
        return -1;
      }
      buf_printf(items, " BODY.PEEK[%s]", sec);
    }
  }
  return buf_putc(items, ')');
}

/* Validate and send the commands; on success they are outstanding and
 * im->fetch_h is h.  On failure nothing is outstanding any more (what was
 * sent is read and dropped) unless the session broke. */
static int fetch_send(struct imap *im, const struct imap_fetch_cmd *cmds,
                      size_t n, const struct imap_fetch_handler *h)
{
  struct buf items, cmd;
  size_t total = 0;
  int r = 0;
  if (imap_require(im, ST(IMAP_STATE_EXAMINED), "UID FETCH") < 0)
    return -1;
  if (n == 0 || n > IMAP_MAX_PIPELINE || im->ntags > 0) {
    imap_seterr(im, "UID FETCH: %zu commands (1..%d allowed)", n, IMAP_MAX_PIPELINE);
    return -1;
  }
  buf_init(&items, 4096);
  buf_init(&cmd, IMAP_CMD_MAX);
  for (size_t i = 0; i < n; i++) {
    if (!uid_set_ok(cmds[i].uid_set)) {
      imap_seterr(im, "UID FETCH: invalid UID set \"%.40s\"", cmds[i].uid_set);
      r = -1;
      break;
    }
    buf_reset(&items);
    if (fetch_items(im, cmds[i].items, cmds[i].sections, cmds[i].nsections,
                    &items) < 0) {
      r = -1;
      break;
    }
    total += strlen(cmds[i].uid_set) + items.len + 32;
  }
  if (r == 0 && total > IMAP_MAX_PIPELINE_BYTES && n > 1) {
    /* Beyond this the server may stop reading our commands while we are
     * not yet reading its answers: both sides would block. */
    imap_seterr(im, "UID FETCH: pipelined commands exceed %d bytes",
                IMAP_MAX_PIPELINE_BYTES);
    r = -1;
  }
  im->cmd_failed = false;
  im->fetch_h = h;
  im->fetch_stop = false;
  im->fetch_err_set = false;
  for (size_t i = 0; i < n && r == 0; i++) {
    buf_reset(&items);
    r = fetch_items(im, cmds[i].items, cmds[i].sections, cmds[i].nsections,
                    &items);
    if (r == 0)
      r = imap_begin(im, &cmd, "UID FETCH");
    if (r == 0 && buf_printf(&cmd, " %s %s", cmds[i].uid_set, items.data) < 0)
      r = -1;
    if (r == 0)
      r = imap_send(im, &cmd);
  }
  buf_free(&cmd);
  buf_free(&items);
  if (r < 0 && im->state != IMAP_STATE_BROKEN && im->ntags > 0)
    (void)imap_wait(im, false);   /* read the answers to what was sent */
  if (r < 0)
    im->fetch_h = NULL;
  return r;
}

/* Read the answers to the outstanding fetch commands. */
static int fetch_finish(struct imap *im)
{
  int r = imap_wait(im, false);
  im->fetch_h = NULL;
  imap_bodystructure_free(im->cur.bodystructure);
  im->cur.bodystructure = NULL;
  if (r < 0 || im->cmd_failed || im->fetch_err_set)
    return -1;
  if (im->fetch_stop) {
    imap_seterr(im, "UID FETCH at %s aborted by caller", conn_peer(im->c));
    return -1;
  }
  return 0;
}

int imap_uid_fetch_send(struct imap *im, const struct imap_fetch_cmd *cmds,
                        size_t n, const struct imap_fetch_handler *h)
{
  if (fetch_send(im, cmds, n, h) < 0)
    return -1;
  im->fetch_pending = true;
  return 0;
}

int imap_uid_fetch_finish(struct imap *im)
{
  if (!im->fetch_pending) {
    imap_seterr(im, "UID FETCH: nothing was sent to finish");
    return -1;
  }
  im->fetch_pending = false;
  if (im->state == IMAP_STATE_BROKEN) {
    im->fetch_h = NULL;
    return -1;
  }
  return fetch_finish(im);
}

bool imap_uid_fetch_is_pending(const struct imap *im)
{
  return im->fetch_pending;
}

int imap_uid_fetch_pipelined(struct imap *im, const char *const *uid_sets,
                             size_t n, const struct imap_fetch_req *req,
                             const struct imap_fetch_handler *h)
{
  struct imap_fetch_cmd cmds[IMAP_MAX_PIPELINE];
  const char *sec = req->section ? req->section : "";
  if (n == 0 || n > IMAP_MAX_PIPELINE) {
    if (imap_require(im, ST(IMAP_STATE_EXAMINED), "UID FETCH") == 0)
      imap_seterr(im, "UID FETCH: %zu commands (1..%d allowed)", n,
                  IMAP_MAX_PIPELINE);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    cmds[i].uid_set = uid_sets[i];
    cmds[i].items = req->items;
    cmds[i].sections = &sec;
    cmds[i].nsections = 1;
  }
  if (fetch_send(im, cmds, n, h) < 0)
    return -1;
  return fetch_finish(im);
}

int imap_uid_fetch(struct imap *im, const char *uid_set,
                   const struct imap_fetch_req *req,
                   const struct imap_fetch_handler *h)
{
  return imap_uid_fetch_pipelined(im, &uid_set, 1, req, h);
}
