/*
 * imap_untagged: acting on the untagged responses of the running command
 * (and the response codes of tagged ones): capabilities, mailbox status,
 * FETCH items, LIST entries.  The response is already assembled in
 * im->resp by imap_response.c; the tokenizer walks it.
 */
#include "imap.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_private.h"
#include "log.h"
#include "util.h"

/* Read the name of a FETCH item ("UID", "BODY[1.2]<0>", "BODY[HEADER.FIELDS
 * (A B)]"): up to a space or paren, with [...] taken whole. */
int imap_fetch_item_name(struct itok *t, const char **s_r, size_t *n_r)
{
  const char *start = t->p;
  while(t->p < t->end) {
    char c = *t->p;
    if(c == '[') {
      const char *close = memchr(t->p, ']', (size_t)(t->end - t->p));
      if(!close)
        return -1;
      t->p = close + 1;
      continue;
    }
    if(c == ' ' || c == '(' || c == ')' || c == '{' || c == '"')
      break;
    if((unsigned char)c <= 0x20 || (unsigned char)c >= 0x7f)
      return -1;
    t->p++;
  }
  if(t->p == start)
    return -1;
  *s_r = start;
  *n_r = (size_t)(t->p - start);
  return 0;
}

/* Is this item name one whose value is message data we stream?  Puts the
 * section ("" for RFC822 / BODY[]) in sec. */
bool imap_body_item(const char *s, size_t n, char *sec, size_t seclen)
{
  const char *open, *close;
  if(imap_word_eq(s, n, "RFC822") || imap_word_eq(s, n, "RFC822.TEXT") ||
     imap_word_eq(s, n, "RFC822.HEADER")) {
    /* RFC822 = BODY[], RFC822.TEXT = BODY[TEXT], RFC822.HEADER = BODY[HEADER]
     */
    if(n > 7)
      snprintf(sec, seclen, "%.*s", (int)(n - 7), s + 7);
    else
      sec[0] = '\0';
    return true;
  }
  if(!(n > 5 && strncasecmp(s, "BODY[", 5) == 0) &&
     !(n > 7 && strncasecmp(s, "BINARY[", 7) == 0))
    return false;
  open = memchr(s, '[', n);
  close = memchr(s, ']', n);
  if(!open || !close || close < open)
    return false;
  snprintf(sec, seclen, "%.*s", (int)(close - open - 1), open + 1);
  return true;
}

void imap_cur_begin(struct imap *im, uint32_t seq)
{
  if(im->cur_active)
    return;
  imap_bodystructure_free(im->cur.bodystructure);
  memset(&im->cur, 0, sizeof(im->cur));
  im->cur.seq = seq;
  im->cur_active = true;
}

/* ------------------------------------------------------ untagged handling */

/* "[CODE args] text": act on the codes we use. */
int imap_handle_resp_code(struct imap *im, const char *p, const char *end)
{
  struct itok t = { p, end };
  const char *w;
  size_t n;
  uint64_t v;
  if(!itok_eat(&t, '['))
    return 0;
  if(itok_atom(&t, true, &w, &n) < 0)
    return 0;
  if(imap_word_eq(w, n, "CAPABILITY")) {
    const char *close;
    while(itok_eat(&t, ' '))
      ;
    close = memchr(t.p, ']', (size_t)(t.end - t.p));
    if(close && imap_set_caps(im, t.p, (size_t)(close - t.p)) < 0)
      return imap_proto_fail(im, "out of memory");
  }
  else if(imap_word_eq(w, n, "UIDVALIDITY") && im->mbox) {
    if(itok_sp(&t) == 0 && itok_number(&t, UINT32_MAX, &v) == 0)
      im->mbox->uidvalidity = (uint32_t)v;
  }
  else if(imap_word_eq(w, n, "UIDNEXT") && im->mbox) {
    if(itok_sp(&t) == 0 && itok_number(&t, UINT32_MAX, &v) == 0)
      im->mbox->uidnext = (uint32_t)v;
  }
  else if(imap_word_eq(w, n, "READ-ONLY") && im->mbox) {
    im->mbox->read_only = true;
  }
  else if(imap_word_eq(w, n, "READ-WRITE") && im->mbox) {
    im->mbox_read_write = true;
  }
  else if(imap_word_eq(w, n, "ALERT")) {
    log_warn("imap %s: server alert: %.*s", conn_peer(im->c), (int)(end - p),
             p);
  }
  return 0;
}

static unsigned flag_bit(const char *s, size_t n)
{
  if(imap_word_eq(s, n, "\\Seen"))
    return IMAP_FLAG_SEEN;
  if(imap_word_eq(s, n, "\\Answered"))
    return IMAP_FLAG_ANSWERED;
  if(imap_word_eq(s, n, "\\Flagged"))
    return IMAP_FLAG_FLAGGED;
  if(imap_word_eq(s, n, "\\Deleted"))
    return IMAP_FLAG_DELETED;
  if(imap_word_eq(s, n, "\\Draft"))
    return IMAP_FLAG_DRAFT;
  if(imap_word_eq(s, n, "\\Recent"))
    return IMAP_FLAG_RECENT;
  return 0;
}

static const char *const months[12] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun",
  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int two(const char *s, unsigned *v)
{
  if(!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
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
  if(len != 26)
    return -1;
  memcpy(d, s, 26);
  d[26] = '\0';
  if(d[0] == ' ')
    d[0] = '0';
  if(two(d, &day) < 0 || d[2] != '-' || d[6] != '-' || d[11] != ' ' ||
     d[14] != ':' || d[17] != ':' || d[20] != ' ' ||
     (d[21] != '+' && d[21] != '-'))
    return -1;
  for(mon = 0; mon < 12; mon++)
    if(strncasecmp(d + 3, months[mon], 3) == 0)
      break;
  if(mon == 12 || two(d + 7, &y1) < 0 || two(d + 9, &y2) < 0 ||
     two(d + 12, &hh) < 0 || two(d + 15, &mm) < 0 || two(d + 18, &ss) < 0 ||
     two(d + 22, &zh) < 0 || two(d + 24, &zm) < 0)
    return -1;
  if(day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59)
    return -1;
  t = util_days_from_civil(y1 * 100 + y2, mon + 1, day) * 86400 + hh * 3600 +
      mm * 60 + ss;
  t -= (d[21] == '-' ? -1 : 1) * (int64_t)(zh * 3600 + zm * 60);
  *t_r = t;
  return 0;
}

/* Record an error of one message that does not desync the stream; the
 * command then fails after reading all answers. */
static void fetch_item_error(struct imap *im, const char *what)
{
  if(!im->fetch_err_set) {
    imap_seterr(im, "UID FETCH at %s: message seq %u uid %u: %s",
                conn_peer(im->c), im->cur.seq, im->cur.uid, what);
    im->fetch_err_set = true;
  }
}

static int handle_fetch(struct imap *im, uint32_t seq, struct itok *t)
{
  struct imap_message *m;
  bool first = true;
  imap_cur_begin(im, seq);
  m = &im->cur;
  if(m->seq != seq)
    return imap_proto_fail(im,
                           "FETCH sequence changed inside a response from %s",
                           conn_peer(im->c));
  if(!itok_eat(t, '('))
    goto bad;
  for(;;) {
    const char *name;
    size_t n;
    uint64_t v;
    if(itok_eat(t, ')'))
      break;
    if(!first && itok_sp(t) < 0)
      goto bad;
    first = false;
    if(imap_fetch_item_name(t, &name, &n) < 0 || itok_sp(t) < 0)
      goto bad;
    if(imap_word_eq(name, n, "UID")) {
      if(itok_number(t, UINT32_MAX, &v) < 0 || v == 0)
        goto bad;
      if(m->uid && m->uid != v)
        return imap_proto_fail(im, "two UIDs in one FETCH response from %s",
                               conn_peer(im->c));
      m->uid = (uint32_t)v;
    }
    else if(imap_word_eq(name, n, "FLAGS")) {
      if(!itok_eat(t, '('))
        goto bad;
      m->flags = 0;
      while(!itok_eat(t, ')')) {
        const char *f;
        size_t fn;
        while(itok_eat(t, ' '))
          ;
        if(itok_peek(t) == ')')
          continue;
        if(itok_atom(t, false, &f, &fn) < 0)
          goto bad;
        m->flags |= flag_bit(f, fn);
      }
      m->have |= IMAP_FETCH_FLAGS;
    }
    else if(imap_word_eq(name, n, "INTERNALDATE")) {
      char *s;
      size_t sl;
      if(itok_string(t, &s, &sl) < 0)
        goto bad;
      snprintf(m->internaldate_str, sizeof(m->internaldate_str), "%s", s);
      m->have &= ~(unsigned)IMAP_FETCH_INTERNALDATE;
      if(imap_parse_internaldate(s, sl, &m->internaldate) == 0)
        m->have |= IMAP_FETCH_INTERNALDATE;
      else
        fetch_item_error(im, "malformed INTERNALDATE");
      free(s);
    }
    else if(imap_word_eq(name, n, "RFC822.SIZE")) {
      if(itok_number(t, UINT64_MAX / 2, &v) < 0)
        goto bad;
      m->size = v;
      m->have |= IMAP_FETCH_SIZE;
    }
    else if(imap_word_eq(name, n, "BODYSTRUCTURE")) {
      const char *start = t->p;
      char perr[200];
      /* any nesting is stepped over (the response is capped in size);
       * the parser refuses what is too deep, for this message only */
      if(itok_skip_value(t, UINT_MAX) < 0)
        goto bad;
      /* a second BODYSTRUCTURE replaces the first, even a malformed one:
       * the flag must never promise a tree that was just freed */
      imap_bodystructure_free(m->bodystructure);
      m->bodystructure = NULL;
      m->have &= ~(unsigned)IMAP_FETCH_BODYSTRUCTURE;
      if(imap_bodystructure_parse(start, (size_t)(t->p - start),
                                  &m->bodystructure, perr, sizeof(perr)) == 0) {
        m->have |= IMAP_FETCH_BODYSTRUCTURE;
      }
      else {
        char what[260];
        snprintf(what, sizeof(what), "BODYSTRUCTURE: %s", perr);
        fetch_item_error(im, what);
      }
    }
    else if(imap_body_item(name, n, m->section, sizeof(m->section))) {
      if(itok_nil(t)) {
        /* NIL: streamed while reading (or really NIL: no data) */
      }
      else if(itok_peek(t) == '"' || itok_peek(t) == '{') {
        /* Sent as a quoted string (small bodies): deliver in one chunk. */
        char *s;
        size_t sl;
        if(itok_string(t, &s, &sl) < 0)
          goto bad;
        m->body_len = sl;
        m->body_offset = 0;
        m->body_too_large = false;
        if(sl > im->max_body) {
          m->body_too_large = true;
        }
        else if(im->fetch_h && im->fetch_h->on_body &&
                im->fetch_h->on_body(im->fetch_h->ctx, m, s, sl) != 0) {
          free(s);
          conn_fail(im->c, "reading from %s aborted by caller",
                    conn_peer(im->c));
          return imap_io_fail(im);
        }
        free(s);
      }
      else {
        goto bad;
      }
      m->have |= IMAP_FETCH_BODY;
    }
    else if(itok_skip_value(t, IMAP_FETCH_SKIP_DEPTH) < 0) {
      goto bad;
    }
  }
  if(t->p != t->end)
    goto bad;
  if(im->fetch_h && !im->fetch_stop && im->fetch_h->on_message &&
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

  if(!itok_eat(t, '('))
    goto bad;
  astart = t->p;
  aend = memchr(t->p, ')', (size_t)(t->end - t->p));
  if(!aend)
    goto bad;
  t->p = aend + 1;
  if(itok_sp(t) < 0)
    goto bad;
  if(!itok_nil(t)) {
    char *d;
    size_t dl;
    if(itok_string(t, &d, &dl) < 0)
      goto bad;
    if(dl != 1) {
      free(d);
      goto bad;
    }
    delim = d[0];
    free(d);
  }
  if(itok_sp(t) < 0 || itok_astring(t, &raw, &rawlen) < 0)
    goto bad;
  /* Extended LIST data (RFC 5258) may follow; we asked for none. */
  snprintf(attrs, sizeof(attrs), "%.*s", (int)(aend - astart), astart);
  buf_init(&dec, 4 * rawlen + 16);
  e.raw = raw;
  e.name =
      imap_utf7_decode(raw, rawlen, &dec) == 0 && dec.data ? dec.data : raw;
  if(rawlen == 0)
    e.name = raw;
  e.delimiter = delim;
  e.attributes = attrs;
  if(im->list_fn && !im->list_stop && im->list_fn(im->list_ctx, &e) != 0)
    im->list_stop = true;
  buf_free(&dec);
  free(raw);
  return r;
bad:
  free(raw);
  return imap_proto_fail(im, "malformed LIST response from %s",
                         conn_peer(im->c));
}

int imap_handle_untagged(struct imap *im)
{
  struct itok t = { im->resp.data + 2, im->resp.data + im->resp.len };
  const char *w;
  size_t n;
  uint64_t num;

  if(itok_peek(&t) >= '0' && itok_peek(&t) <= '9') {
    if(itok_number(&t, UINT32_MAX, &num) < 0 || itok_sp(&t) < 0 ||
       itok_atom(&t, true, &w, &n) < 0)
      return imap_proto_fail(im, "malformed response from %s: %.60s",
                             conn_peer(im->c), im->resp.data);
    if(imap_word_eq(w, n, "EXISTS")) {
      if(im->mbox)
        im->mbox->exists = (uint32_t)num;
    }
    else if(imap_word_eq(w, n, "FETCH")) {
      if(num == 0 || itok_sp(&t) < 0)
        return imap_proto_fail(im, "malformed FETCH from %s", conn_peer(im->c));
      return handle_fetch(im, (uint32_t)num, &t);
    }
    return 0; /* RECENT, EXPUNGE: nothing to do read-only */
  }
  if(itok_atom(&t, true, &w, &n) < 0)
    return imap_proto_fail(im, "malformed response from %s: %.60s",
                           conn_peer(im->c), im->resp.data);
  if(imap_word_eq(w, n, "OK") || imap_word_eq(w, n, "NO") ||
     imap_word_eq(w, n, "BAD") || imap_word_eq(w, n, "PREAUTH") ||
     imap_word_eq(w, n, "BYE")) {
    bool bye = imap_word_eq(w, n, "BYE");
    while(itok_eat(&t, ' '))
      ;
    if(bye)
      snprintf(im->bye, sizeof(im->bye), "%.*s", (int)(t.end - t.p), t.p);
    else if(!imap_word_eq(w, n, "OK") && !imap_word_eq(w, n, "PREAUTH"))
      log_warn("imap %s: server says: %.*s", conn_peer(im->c),
               (int)(im->resp.len - 2), im->resp.data + 2);
    return imap_handle_resp_code(im, t.p, t.end);
  }
  if(imap_word_eq(w, n, "CAPABILITY")) {
    while(itok_eat(&t, ' '))
      ;
    if(imap_set_caps(im, t.p, (size_t)(t.end - t.p)) < 0)
      return imap_proto_fail(im, "out of memory");
    return 0;
  }
  if(imap_word_eq(w, n, "LIST")) {
    if(itok_sp(&t) < 0)
      return imap_proto_fail(im, "malformed LIST from %s", conn_peer(im->c));
    return handle_list(im, &t);
  }
  return 0; /* FLAGS, STATUS, ENABLED, ...: not needed */
}
