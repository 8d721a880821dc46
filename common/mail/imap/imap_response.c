/*
 * imap_response: the reader.  imap_read_response() assembles one response:
 * the line (read in chunks, capped at max_response) plus its literals.
 * Literals that are message bodies in a FETCH are streamed to the fetch
 * handler instead and replaced by NIL in the assembled text; a "* SEARCH"
 * line is parsed as it streams in and never assembled.  imap_wait() reads
 * responses until every outstanding tag is answered (or a continuation
 * arrives when one is wanted), handing untagged ones to imap_untagged.c.
 *
 * A literal's length comes from the wire: it is checked against the hard
 * limit and what is left of the response limit before anything is read.
 */
#include "imap.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imap_private.h"
#include "log.h"

/* ----------------------------------------------------------- reading */

static int append_chunk(void *ctx, const void *data, size_t len)
{
  return buf_append(ctx, data, len);
}

/* Parse the "{N}" at the end of line [start, end); *brace_r = offset of
 * "{" in the response buffer. */
static bool line_literal(const struct buf *b, size_t line_start, uint64_t *n_r,
                         size_t *brace_r)
{
  size_t i = b->len, digits_end;
  uint64_t v = 0, mul = 1;
  if(i <= line_start || b->data[i - 1] != '}')
    return false;
  i--;
  digits_end = i;
  while(i > line_start && b->data[i - 1] >= '0' && b->data[i - 1] <= '9')
    i--;
  if(i == digits_end || i <= line_start || b->data[i - 1] != '{')
    return false;
  if(digits_end - i > 19)
    return false; /* cannot be a sane length; caught as garbage */
  for(size_t k = digits_end; k > i; k--) {
    v += (uint64_t)(b->data[k - 1] - '0') * mul;
    mul *= 10;
  }
  *n_r = v;
  *brace_r = i - 1;
  return true;
}

/* Read the name of a FETCH item ("UID", "BODY[1.2]<0>", "BODY[HEADER.FIELDS
 * (A B)]"): up to a space or paren, with [...] taken whole. */
/* "* <seq> FETCH (" at the start of the response?  Sets *items_r to the
 * offset after "(". */
static bool is_fetch_resp(const struct buf *b, uint32_t *seq_r, size_t *items_r)
{
  struct itok t = { b->data, b->data + b->len };
  uint64_t seq;
  const char *w;
  size_t n;
  if(!itok_eat(&t, '*') || itok_sp(&t) < 0 ||
     itok_number(&t, UINT32_MAX, &seq) < 0 || seq == 0 || itok_sp(&t) < 0 ||
     itok_atom(&t, true, &w, &n) < 0 || !imap_word_eq(w, n, "FETCH") ||
     itok_sp(&t) < 0 || !itok_eat(&t, '('))
    return false;
  *seq_r = (uint32_t)seq;
  *items_r = (size_t)(t.p - b->data);
  return true;
}

/* Look for "UID n" among the items already read, before a streamed body. */
static uint32_t scan_uid(const char *p, const char *end)
{
  struct itok t = { p, end };
  for(;;) {
    const char *name;
    size_t n;
    uint64_t v;
    while(itok_eat(&t, ' '))
      ;
    if(imap_fetch_item_name(&t, &name, &n) < 0 || itok_sp(&t) < 0)
      return 0;
    if(imap_word_eq(name, n, "UID")) {
      if(itok_number(&t, UINT32_MAX, &v) < 0)
        return 0;
      return (uint32_t)v;
    }
    if(itok_skip_value(&t, IMAP_FETCH_SKIP_DEPTH) < 0)
      return 0;
  }
}

static int body_chunk(void *ctx, const void *data, size_t len)
{
  struct imap *im = ctx;
  if(im->fetch_h->on_body &&
     im->fetch_h->on_body(im->fetch_h->ctx, &im->cur, data, len) != 0)
    return -1;
  im->cur.body_offset += len;
  return 0;
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

  if(!im->fetch_h || brace == 0 || b->data[brace - 1] != ' ')
    return 0;
  if(!is_fetch_resp(b, &seq, &items) || items > brace - 1)
    return 0;
  tok = brace - 1;
  while(tok > items && b->data[tok - 1] != ' ' && b->data[tok - 1] != '(')
    tok--;
  if(!imap_body_item(b->data + tok, brace - 1 - tok, sec, sizeof(sec)))
    return 0;
  /* The token scan stops at spaces, so "BODY[HEADER.FIELDS (A B)]" is not
   * recognised here; we never ask for such sections. */
  imap_cur_begin(im, seq);
  if(im->cur.seq != seq)
    return imap_proto_fail(im,
                           "FETCH sequence changed inside a response from %s",
                           conn_peer(im->c));
  if(!im->cur.uid)
    im->cur.uid = scan_uid(b->data + items, b->data + tok);
  snprintf(im->cur.section, sizeof(im->cur.section), "%s", sec);
  im->cur.body_len = n;
  im->cur.body_offset = 0;
  im->cur.body_too_large = false; /* it described an earlier body */
  b->len = brace;
  b->data[b->len] = '\0';
  if(buf_puts(b, "NIL") < 0)
    return imap_proto_fail(im, "response longer than %zu bytes from %s",
                           im->max_response, conn_peer(im->c));
  if(n > im->max_body) {
    log_warn("imap %s: message seq %u uid %u: body [%s] of %llu bytes exceeds "
             "the limit of %llu bytes, skipped",
             conn_peer(im->c), seq, im->cur.uid, sec, (unsigned long long)n,
             (unsigned long long)im->max_body);
    im->cur.body_too_large = true;
    if(conn_read_exact(im->c, n, NULL, NULL) < 0)
      return imap_io_fail(im);
    return 1;
  }
  if(n == 0) {
    if(im->fetch_h->on_body &&
       im->fetch_h->on_body(im->fetch_h->ctx, &im->cur, "", 0) != 0) {
      conn_fail(im->c, "reading from %s aborted by caller", conn_peer(im->c));
      return imap_io_fail(im);
    }
    return 1;
  }
  if(conn_read_exact(im->c, n, body_chunk, im) < 0)
    return imap_io_fail(im);
  return 1;
}

/* One UID of a "* SEARCH" line: handed to the caller until it asks to
 * stop (the rest of the line is still read). */
static int search_uid(struct imap *im, uint64_t uid)
{
  if(uid == 0)
    return imap_proto_fail(im, "UID 0 in SEARCH from %s", conn_peer(im->c));
  if(im->search_active && !im->search_stop &&
     im->search_fn(im->search_ctx, (uint32_t)uid) != 0)
    im->search_stop = true;
  return 0;
}

/* Stream the rest of a "* SEARCH" line: numbers separated by spaces. */
static int search_stream(struct imap *im, const char *p, size_t n, bool eol)
{
  uint64_t acc = 0;
  bool in_num = false;
  for(;;) {
    for(size_t i = 0; i < n; i++) {
      char ch = p[i];
      if(ch >= '0' && ch <= '9') {
        acc = acc * 10 + (uint64_t)(ch - '0');
        if(acc > UINT32_MAX)
          return imap_proto_fail(im, "UID out of range in SEARCH from %s",
                                 conn_peer(im->c));
        in_num = true;
      }
      else if(ch == ' ' || ch == '\r') {
        if(in_num && search_uid(im, acc) < 0)
          return -1;
        acc = 0;
        in_num = false;
      }
      else {
        return imap_proto_fail(im, "unexpected byte 0x%02x in SEARCH from %s",
                               (unsigned char)ch, conn_peer(im->c));
      }
    }
    if(eol)
      break;
    if(conn_read_line_chunk(im->c, &p, &n, &eol) < 0)
      return imap_io_fail(im);
  }
  if(in_num && search_uid(im, acc) < 0)
    return -1;
  return 0;
}

static bool is_search_start(const char *p, size_t n, bool eol)
{
  if(n < 8 || strncasecmp(p, "* SEARCH", 8) != 0)
    return false;
  return n == 8 ? eol : p[8] == ' ';
}

/* Read one complete response into im->resp (see the file comment). */
int imap_read_response(struct imap *im, enum rkind *kind_r)
{
  struct buf *b = &im->resp;
  bool first = true;
  size_t line_start = 0;
  buf_reset(b);
  im->cur_active = false;
  for(;;) {
    const char *p;
    size_t n, brace;
    bool eol;
    uint64_t lit;
    int r;
    if(conn_read_line_chunk(im->c, &p, &n, &eol) < 0)
      return imap_io_fail(im);
    if(first) {
      first = false;
      if(is_search_start(p, n, eol)) {
        if(search_stream(im, p + 8, n - 8, eol) < 0)
          return -1;
        *kind_r = R_CONSUMED;
        return 0;
      }
    }
    if(b->len + n > im->max_response || buf_append(b, p, n) < 0)
      return imap_proto_fail(im, "response longer than %zu bytes from %s",
                             im->max_response, conn_peer(im->c));
    if(!eol)
      continue;
    if(!line_literal(b, line_start, &lit, &brace))
      break;
    if(lit > IMAP_HARD_MAX_LITERAL)
      return imap_proto_fail(im,
                             "literal of %llu bytes from %s exceeds the "
                             "hard limit",
                             (unsigned long long)lit, conn_peer(im->c));
    r = stream_body_literal(im, brace, lit);
    if(r < 0)
      return -1;
    if(r == 0) {
      if(lit + 2 > im->max_response - b->len)
        return imap_proto_fail(im,
                               "literal of %llu bytes from %s exceeds the "
                               "response limit of %zu bytes",
                               (unsigned long long)lit, conn_peer(im->c),
                               im->max_response);
      if(buf_puts(b, "\r\n") < 0 ||
         conn_read_exact(im->c, lit, append_chunk, b) < 0) {
        if(conn_is_broken(im->c))
          return imap_io_fail(im);
        return imap_proto_fail(im, "out of memory reading from %s",
                               conn_peer(im->c));
      }
    }
    line_start = b->len;
  }
  if(b->len >= 1 && b->data[0] == '+')
    *kind_r = R_CONT;
  else if(b->len >= 2 && b->data[0] == '*' && b->data[1] == ' ')
    *kind_r = R_UNTAGGED;
  else
    *kind_r = R_TAGGED; /* validated against outstanding tags later */
  return 0;
}

/* ------------------------------------------------------ tagged handling */

static int handle_tagged(struct imap *im)
{
  struct itok t = { im->resp.data, im->resp.data + im->resp.len };
  const char *tag, *st;
  size_t tn, sn, i;
  const char *cmd;

  if(itok_atom(&t, true, &tag, &tn) < 0 || itok_sp(&t) < 0 ||
     itok_atom(&t, true, &st, &sn) < 0)
    return imap_proto_fail(im, "garbage from %s: %.60s", conn_peer(im->c),
                           im->resp.data);
  for(i = 0; i < im->ntags; i++)
    if(strlen(im->tags[i].tag) == tn && memcmp(im->tags[i].tag, tag, tn) == 0)
      break;
  if(i == im->ntags)
    return imap_proto_fail(im, "unexpected tag from %s: %.60s",
                           conn_peer(im->c), im->resp.data);
  cmd = im->tags[i].cmd;
  memmove(&im->tags[i], &im->tags[i + 1],
          (im->ntags - i - 1) * sizeof(im->tags[0]));
  im->ntags--;
  while(itok_eat(&t, ' '))
    ;
  if(imap_word_eq(st, sn, "OK"))
    return imap_handle_resp_code(im, t.p, t.end);
  if(imap_word_eq(st, sn, "NO") || imap_word_eq(st, sn, "BAD")) {
    if(!im->cmd_failed) {
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
int imap_wait(struct imap *im, bool want_cont)
{
  while(im->ntags > 0) {
    enum rkind k;
    if(imap_read_response(im, &k) < 0)
      return -1;
    switch(k) {
    case R_CONSUMED: break;
    case R_CONT:
      if(want_cont)
        return 1;
      return imap_proto_fail(im, "unexpected continuation request from %s",
                             conn_peer(im->c));
    case R_UNTAGGED:
      if(imap_handle_untagged(im) < 0)
        return -1;
      break;
    case R_TAGGED:
      if(handle_tagged(im) < 0)
        return -1;
      break;
    }
  }
  return 0;
}

/* Run a simple command (already in cmd) to completion. */
int imap_run(struct imap *im, struct buf *cmd)
{
  im->cmd_failed = false;
  if(imap_send(im, cmd) < 0)
    return -1;
  if(imap_wait(im, false) < 0)
    return -1;
  return im->cmd_failed ? -1 : 0;
}

/* Run a command without arguments to completion. */
int imap_run_simple(struct imap *im, const char *name)
{
  struct buf cmd;
  int r;
  buf_init(&cmd, IMAP_CMD_MAX);
  r = imap_begin(im, &cmd, name);
  if(r == 0)
    r = imap_run(im, &cmd);
  buf_free(&cmd);
  return r;
}

static bool quotable(const char *s)
{
  for(; *s; s++)
    if(*s == '\r' || *s == '\n' || (unsigned char)*s >= 0x80)
      return false;
  return true;
}

/* Append " <s>" as a quoted string or a literal.  A synchronizing literal
 * sends what cmd holds and waits for "+".  Returns 0, or -1 (the error is
 * set; the command may have completed with NO). */
int imap_put_astring(struct imap *im, struct buf *cmd, const char *s)
{
  size_t n = strlen(s);
  if(quotable(s)) {
    if(buf_puts(cmd, " \"") < 0)
      goto toolong;
    for(; *s; s++)
      if(((*s == '"' || *s == '\\') && buf_putc(cmd, '\\') < 0) ||
         buf_putc(cmd, *s) < 0)
        goto toolong;
    if(buf_putc(cmd, '"') < 0)
      goto toolong;
    return 0;
  }
  if(imap_has_capability(im, "LITERAL+")) {
    if(buf_printf(cmd, " {%zu+}\r\n", n) < 0 || buf_append(cmd, s, n) < 0)
      goto toolong;
    return 0;
  }
  if(buf_printf(cmd, " {%zu}\r\n", n) < 0)
    goto toolong;
  if(conn_write(im->c, cmd->data, cmd->len) < 0)
    return imap_io_fail(im);
  memset(cmd->data, 0, cmd->len);
  buf_reset(cmd);
  {
    int r = imap_wait(im, true);
    if(r < 0)
      return -1;
    if(r == 0) { /* answered before the literal: rejected */
      if(!im->cmd_failed)
        imap_seterr(im, "server at %s ended the command before the literal",
                    conn_peer(im->c));
      return -1;
    }
  }
  if(buf_append(cmd, s, n) < 0)
    goto toolong;
  return 0;
toolong:
  imap_seterr(im, "argument too long for %s", conn_peer(im->c));
  return -1;
}
