/*
 * mime_parser: the part tree (RFC 5322 header blocks, RFC 2045 fields,
 * RFC 2046 multipart and message/rfc822), limits, and on-demand decoding.
 *
 * Every part is parsed inside a [start, end) range its parent computed, so a
 * child can never read past its parent, and a multipart only ever looks for
 * its own boundary: a nested multipart that lost its close delimiter simply
 * ends where the parent's next delimiter starts.  A delimiter line must be
 * "--boundary" followed only by "--", blanks or the line end, which keeps
 * boundaries that are prefixes of each other apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime_private.h"

/* ---- the message ------------------------------------------------------- */

/* A decoded copy an encoded message/rfc822 part's children point into. */
struct decoded_copy {
  struct decoded_copy *next;
  char *data;
};

struct mime_message {
  struct mime_pool pool;
  struct mime_limits lim;
  struct mime_part *root;
  unsigned nparts;
  unsigned flags;
  struct decoded_copy *copies;
  size_t copied; /* bytes held in copies, bounded by max_decoded_bytes */
};

void mime_limits_default(struct mime_limits *lim)
{
  lim->max_depth = MIME_DEFAULT_MAX_DEPTH;
  lim->max_parts = MIME_DEFAULT_MAX_PARTS;
  lim->max_header_bytes = MIME_DEFAULT_MAX_HEADER_BYTES;
  lim->max_headers = MIME_DEFAULT_MAX_HEADERS;
  lim->max_decoded_bytes = MIME_DEFAULT_MAX_DECODED_BYTES;
}

/* Mark part as over a limit.  Only the first reason is kept: it names the
 * limit that cut the most. */
static int set_overflow(struct mime_message *msg, struct mime_part *part,
                        unsigned flag, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int set_overflow(struct mime_message *msg, struct mime_part *part,
                        unsigned flag, const char *fmt, ...)
{
  char tmp[160];
  va_list ap;

  part->flags |= MIME_PART_OVERFLOW | flag;
  if(part->reason != NULL)
    return 0;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  part->reason = mime_pool_strndup(&msg->pool, tmp, strlen(tmp));
  return part->reason == NULL ? -1 : 0;
}

/* ---- header block ------------------------------------------------------ */

static int is_wsp(char c)
{
  return c == ' ' || c == '\t';
}

/* If [p, eol) starts a header field ("Name:" with printable ASCII name,
 * blanks allowed before the colon), return the colon, else NULL. */
static const char *field_colon(const char *p, const char *eol)
{
  const char *q = p;

  while(q < eol && (unsigned char)*q > 32 && (unsigned char)*q < 127 &&
        *q != ':')
    q++;
  if(q == p)
    return NULL;
  while(q < eol && is_wsp(*q))
    q++;
  return q < eol && *q == ':' ? q : NULL;
}

struct line {
  const char *text, *text_end; /* without the line break */
  const char *next;            /* start of the following line */
};

static void line_at(const char *p, const char *end, struct line *l)
{
  const char *nl = memchr(p, '\n', (size_t)(end - p));

  l->text = p;
  l->text_end = nl != NULL ? nl : end;
  l->next = nl != NULL ? nl + 1 : end;
  if(nl != NULL && l->text_end > p && l->text_end[-1] == '\r')
    l->text_end--;
}

/* A line that is neither a field nor a continuation: Exchange and friends
 * sometimes break a long field without the leading blank.  Call it a
 * stray continuation when a real field follows before the empty line that
 * ends the block (looking a bounded number of lines ahead); otherwise the
 * block has no empty line and the body starts here. */
#define STRAY_LOOKAHEAD 50
static int stray_continuation(const char *p, const char *end)
{
  struct line l;
  int i;

  for(i = 0; i < STRAY_LOOKAHEAD && p < end; i++, p = l.next) {
    line_at(p, end, &l);
    if(l.text == l.text_end)
      return 0;
    if(field_colon(l.text, l.text_end) != NULL)
      return 1;
  }
  return 0;
}

struct hdr_builder {
  struct mime_header *arr;
  size_t n, cap;
  int dropping;
};

/* Store the field [start, colon) : (colon, end). */
static int field_add(struct mime_message *msg, struct mime_part *part,
                     struct hdr_builder *hb, const char *block,
                     const char *start, const char *colon, const char *end)
{
  struct mime_header *h;
  const char *ne = colon, *s;
  char *v, *d;
  size_t vl = 0, dl;

  if(hb->dropping)
    return 0;
  if((size_t)(end - block) > msg->lim.max_header_bytes) {
    hb->dropping = 1;
    return set_overflow(msg, part, MIME_PART_HEADERS_TRUNCATED,
                        "header block larger than %zu bytes (max_header_bytes)",
                        msg->lim.max_header_bytes);
  }
  if(hb->n >= msg->lim.max_headers) {
    hb->dropping = 1;
    return set_overflow(msg, part, MIME_PART_HEADERS_TRUNCATED,
                        "more than %u header fields (max_headers)",
                        msg->lim.max_headers);
  }
  if(hb->n == hb->cap) {
    size_t ncap = hb->cap ? hb->cap * 2 : 16;
    struct mime_header *na = mime_pool_alloc(&msg->pool, ncap * sizeof(*na));
    if(na == NULL)
      return -1;
    if(hb->n > 0)
      memcpy(na, hb->arr, hb->n * sizeof(*na));
    hb->arr = na;
    hb->cap = ncap;
  }
  while(ne > start && is_wsp(ne[-1]))
    ne--;
  h = &hb->arr[hb->n];
  h->name = mime_pool_strndup(&msg->pool, start, (size_t)(ne - start));
  v = mime_pool_alloc(&msg->pool, (size_t)(end - colon));
  if(h->name == NULL || v == NULL)
    return -1;
  /* unfold: drop line breaks; a stray line without a leading blank gets
   * one space so its words do not run into the previous line's */
  for(s = colon + 1; s < end; s++) {
    if(*s == '\r' && s + 1 < end && s[1] == '\n')
      continue;
    if(*s == '\n') {
      if(s + 1 < end && !is_wsp(s[1]))
        v[vl++] = ' ';
      continue;
    }
    if(*s == '\0')
      continue;
    v[vl++] = *s;
  }
  while(vl > 0 && (is_wsp(v[vl - 1]) || v[vl - 1] == '\r'))
    vl--;
  v[vl] = '\0';
  s = v;
  while(*s != '\0' && is_wsp(*s))
    s++;
  h->value = s;
  h->value_len = vl - (size_t)(s - v);
  d = mime_header_decode(h->value, h->value_len, &dl);
  if(d == NULL)
    return -1;
  /* most values decode to themselves: share the copy */
  if(dl == h->value_len && memcmp(d, h->value, dl) == 0)
    h->decoded = h->value;
  else
    h->decoded = mime_pool_strndup(&msg->pool, d, dl);
  h->decoded_len = dl;
  free(d);
  if(h->decoded == NULL)
    return -1;
  hb->n++;
  return 0;
}

/* Parse the header block at [start, end); set part's headers and return
 * where the body starts through *body_r.  -1 on memory failure. */
static int header_block(struct mime_message *msg, struct mime_part *part,
                        const char *start, const char *end, int message_root,
                        const char **body_r)
{
  struct hdr_builder hb = { NULL, 0, 0, 0 };
  const char *p = start, *fstart = NULL, *fcolon = NULL, *fend = NULL;
  struct line l;

  *body_r = end;
  /* an mbox separator line may lead a saved message */
  if(message_root && end - p >= 5 && memcmp(p, "From ", 5) == 0) {
    line_at(p, end, &l);
    p = l.next;
  }
  while(p < end) {
    const char *colon;

    line_at(p, end, &l);
    if(l.text == l.text_end) {
      *body_r = l.next;
      break;
    }
    if(is_wsp(*l.text)) {
      if(fstart != NULL) /* a continuation before any field is dropped */
        fend = l.text_end;
      p = l.next;
      continue;
    }
    colon = field_colon(l.text, l.text_end);
    if(colon == NULL) {
      if(fstart != NULL && stray_continuation(l.next, end)) {
        fend = l.text_end;
        p = l.next;
        continue;
      }
      part->flags |= MIME_PART_NO_HEADER_END;
      *body_r = l.text;
      break;
    }
    if(fstart != NULL &&
       field_add(msg, part, &hb, start, fstart, fcolon, fend) < 0)
      return -1;
    fstart = l.text;
    fcolon = colon;
    fend = l.text_end;
    p = l.next;
  }
  if(fstart != NULL &&
     field_add(msg, part, &hb, start, fstart, fcolon, fend) < 0)
    return -1;
  part->headers = hb.arr;
  part->nheaders = hb.n;
  part->header_raw = start;
  part->header_raw_len = (size_t)(*body_r - start);
  return 0;
}

/* ---- field interpretation ---------------------------------------------- */

static const struct mime_header *first_field(const struct mime_part *part,
                                             const char *name)
{
  return mime_header_find(part, name, NULL);
}

/* Read the leading token of value (up to ';', blank or comment), lower-case
 * it into the pool, and point *rest at the ';' that starts the parameters
 * (or the end). */
static char *lead_token(struct mime_pool *pool, const char *v, size_t vl,
                        const char **rest_r)
{
  const char *p = v, *end = v + vl, *t0;
  char *tok;
  size_t i;

  while(p < end && (is_wsp(*p) || *p == '"'))
    p++;
  t0 = p;
  while(p < end && *p != ';' && !is_wsp(*p) && *p != '(' && *p != '"')
    p++;
  tok = mime_pool_strndup(pool, t0, (size_t)(p - t0));
  if(tok == NULL)
    return NULL;
  for(i = 0; tok[i] != '\0'; i++)
    tok[i] = mime_ascii_lower(tok[i]);
  while(p < end && *p != ';')
    p++;
  *rest_r = p;
  return tok;
}

static const char *param_get(const struct mime_param *ps, size_t n,
                             const char *name)
{
  size_t i;

  for(i = 0; i < n; i++)
    if(strcmp(ps[i].name, name) == 0)
      return ps[i].value;
  return NULL;
}

/* 1 if t is "type/subtype": two non-empty RFC 2045 tokens. */
static int valid_type(const char *t)
{
  const char *slash = strchr(t, '/'), *p;

  if(slash == NULL || slash == t || slash[1] == '\0' ||
     strchr(slash + 1, '/') != NULL)
    return 0;
  for(p = t; *p != '\0'; p++)
    if(p != slash && ((unsigned char)*p <= 32 || (unsigned char)*p >= 127 ||
                      strchr("()<>@,;:\\\"[]?=", *p) != NULL))
      return 0;
  return 1;
}

static int interpret_fields(struct mime_message *msg, struct mime_part *part,
                            const char *default_type)
{
  const struct mime_header *h;
  const char *rest;
  struct mime_param *ps;
  size_t nps;

  part->content_type = default_type;
  if((h = first_field(part, "Content-Type")) != NULL) {
    char *t = lead_token(&msg->pool, h->value, h->value_len, &rest);
    if(t == NULL)
      return -1;
    if(t[0] != '\0') {
      part->content_type = t;
      part->content_type_explicit = 1;
      if(!valid_type(t)) {
        part->content_type = "text/plain";
        part->flags |= MIME_PART_BAD_TYPE;
      }
    }
    if(mime_params_parse(&msg->pool, rest, h->value + h->value_len, &ps, &nps) <
       0)
      return -1;
    part->ct_params = ps;
    part->nct_params = nps;
    part->boundary = param_get(ps, nps, "boundary");
    if((rest = param_get(ps, nps, "charset")) != NULL && rest[0] != '\0') {
      char *cs = mime_pool_strndup(&msg->pool, rest, strlen(rest));
      size_t i;
      if(cs == NULL)
        return -1;
      for(i = 0; cs[i] != '\0'; i++)
        cs[i] = mime_ascii_lower(cs[i]);
      part->charset = cs;
    }
  }
  if((h = first_field(part, "Content-Disposition")) != NULL) {
    char *t = lead_token(&msg->pool, h->value, h->value_len, &rest);
    if(t == NULL)
      return -1;
    part->disposition = t[0] != '\0' ? t : NULL;
    if(mime_params_parse(&msg->pool, rest, h->value + h->value_len, &ps, &nps) <
       0)
      return -1;
    part->disp_params = ps;
    part->ndisp_params = nps;
  }
  part->filename = param_get(part->disp_params, part->ndisp_params, "filename");
  if(part->filename == NULL || part->filename[0] == '\0')
    part->filename = param_get(part->ct_params, part->nct_params, "name");
  if(part->filename != NULL && part->filename[0] == '\0')
    part->filename = NULL;
  part->encoding = MIME_ENC_7BIT;
  if((h = first_field(part, "Content-Transfer-Encoding")) != NULL) {
    char *t = lead_token(&msg->pool, h->value, h->value_len, &rest);
    if(t == NULL)
      return -1;
    if(strcmp(t, "base64") == 0)
      part->encoding = MIME_ENC_BASE64;
    else if(strcmp(t, "quoted-printable") == 0)
      part->encoding = MIME_ENC_QP;
    else if(strcmp(t, "8bit") == 0)
      part->encoding = MIME_ENC_8BIT;
    else if(strcmp(t, "binary") == 0)
      part->encoding = MIME_ENC_BINARY;
    else if(strcmp(t, "x-uuencode") == 0 || strcmp(t, "uuencode") == 0 ||
            strcmp(t, "x-uue") == 0)
      part->encoding = MIME_ENC_UUENCODE;
    else if(strcmp(t, "7bit") != 0 && t[0] != '\0')
      part->encoding = MIME_ENC_UNKNOWN;
  }
  return 0;
}

/* A uuencoded part without a name in its header is named by its begin
 * line, as uudecode would name the file. */
static int uu_name(struct mime_message *msg, struct mime_part *part)
{
  struct mime_uu_block blk;
  struct buf b;
  int r;

  if(part->encoding != MIME_ENC_UUENCODE || part->filename != NULL ||
     !mime_uu_find(part->body, part->body_len, 0, &blk))
    return 0;
  buf_init(&b, 4 * MIME_MAX_UU_NAME + 4);
  r = mime_charset_fallback(blk.name, strlen(blk.name), &b);
  if(r == 0 && b.len > 0 &&
     (part->filename = mime_pool_strndup(&msg->pool, b.data, b.len)) == NULL)
    r = -1;
  buf_free(&b);
  return r < 0 ? -1 : 0;
}

/* ---- structure --------------------------------------------------------- */

/* RFC 2046 allows 70; tolerate more, but a boundary this long is junk */
#define BOUNDARY_MAX 200

struct delim {
  const char *line; /* start of the delimiter line */
  const char *next; /* start of the line after it */
  int close;        /* "--boundary--" */
};

/* Find the next delimiter line for boundary b at or after p (p is at a
 * line start). */
static int find_delim(const char *p, const char *end, const char *b,
                      size_t blen, struct delim *d)
{
  while(p < end) {
    const char *nl;

    if((size_t)(end - p) >= blen + 2 && p[0] == '-' && p[1] == '-' &&
       memcmp(p + 2, b, blen) == 0) {
      const char *q = p + 2 + blen;
      int close = 0;

      if(end - q >= 2 && q[0] == '-' && q[1] == '-') {
        close = 1; /* anything may follow a close delimiter */
        q += 2;
      }
      while(q < end && (is_wsp(*q) || *q == '\r'))
        q++;
      if(close || q == end || *q == '\n') {
        nl = memchr(q, '\n', (size_t)(end - q));
        d->line = p;
        d->next = nl != NULL ? nl + 1 : end;
        d->close = close;
        return 1;
      }
    }
    nl = memchr(p, '\n', (size_t)(end - p));
    if(nl == NULL)
      break;
    p = nl + 1;
  }
  return 0;
}

static int only_blanks(const char *p, const char *end)
{
  for(; p < end; p++)
    if(!is_wsp(*p) && *p != '\r' && *p != '\n')
      return 0;
  return 1;
}

static struct mime_part *parse_entity(struct mime_message *msg,
                                      struct mime_part *parent,
                                      const char *start, const char *end,
                                      unsigned depth, const char *default_type);

static int parse_multipart(struct mime_message *msg, struct mime_part *mp)
{
  const char *start = mp->body, *end = mp->body + mp->body_len;
  const char *child_type = strcmp(mp->content_type, "multipart/digest") == 0
                               ? "message/rfc822"
                               : "text/plain";
  size_t blen = strlen(mp->boundary);
  struct mime_part **tail = &mp->children;
  struct delim d, d2;

  if(!find_delim(start, end, mp->boundary, blen, &d)) {
    /* the boundary never appears: nothing to split, keep it as content */
    mp->flags |= MIME_PART_BAD_MULTIPART;
    mp->content_type = "text/plain";
    return 0;
  }
  mp->flags |= MIME_PART_MULTIPART;
  while(!d.close) {
    const char *cs = d.next, *ce;
    struct mime_part *child;
    int last = 0;

    if(find_delim(cs, end, mp->boundary, blen, &d2)) {
      /* the line break before a delimiter belongs to the delimiter */
      ce = d2.line;
      if(ce > cs && ce[-1] == '\n')
        ce--;
      if(ce > cs && ce[-1] == '\r')
        ce--;
    }
    else {
      mp->flags |= MIME_PART_NO_END_BOUNDARY;
      ce = end;
      last = 1;
      if(only_blanks(cs, end))
        break;
    }
    if(msg->nparts >= msg->lim.max_parts)
      return set_overflow(msg, mp, 0,
                          "more than %u parts (max_parts); "
                          "the rest of this multipart is not parsed",
                          msg->lim.max_parts);
    child = parse_entity(msg, mp, cs, ce, mp->depth + 1, child_type);
    if(child == NULL)
      return -1;
    *tail = child;
    tail = &child->next;
    mp->nchildren++;
    if(last)
      break;
    d = d2;
  }
  return 0;
}

static int parse_message(struct mime_message *msg, struct mime_part *part)
{
  const char *b = part->body, *e = part->body + part->body_len;
  struct mime_part *child;

  if(part->encoding == MIME_ENC_BASE64 || part->encoding == MIME_ENC_QP) {
    /* not allowed by RFC 2046 5.2.1, but sent: decode once, keep the copy */
    struct decoded_copy *dc;
    struct buf out;
    unsigned flags = 0;
    int r;

    /* All copies together stay under max_decoded_bytes, so nesting encoded
     * messages cannot multiply memory. */
    if(msg->copied >= msg->lim.max_decoded_bytes)
      return set_overflow(msg, part, 0,
                          "encoded attached messages exceed "
                          "%zu bytes in total (max_decoded_bytes); not entered",
                          msg->lim.max_decoded_bytes);
    dc = mime_pool_alloc(&msg->pool, sizeof(*dc));
    if(dc == NULL)
      return -1;
    buf_init(&out, msg->lim.max_decoded_bytes - msg->copied);
    if(part->encoding == MIME_ENC_BASE64)
      r = mime_base64_decode(b, (size_t)(e - b), &out, &flags);
    else
      r = mime_qp_decode(b, (size_t)(e - b), 0, &out, &flags);
    if(r == 0 && out.data == NULL)
      r = buf_append(&out, "", 0);
    if(r < 0) {
      buf_free(&out);
      return -1;
    }
    if(flags & MIME_DATA_TRUNCATED &&
       set_overflow(msg, part, 0,
                    "encoded attached messages exceed %zu "
                    "bytes in total (max_decoded_bytes); parsed up to the cut",
                    msg->lim.max_decoded_bytes) < 0) {
      buf_free(&out);
      return -1;
    }
    msg->copied += out.len;
    dc->data = out.data;
    dc->next = msg->copies;
    msg->copies = dc;
    b = out.data;
    e = out.data + out.len;
  }
  child = parse_entity(msg, part, b, e, part->depth + 1, "text/plain");
  if(child == NULL)
    return -1;
  part->flags |= MIME_PART_MESSAGE;
  part->children = child;
  part->nchildren = 1;
  return 0;
}

static struct mime_part *parse_entity(struct mime_message *msg,
                                      struct mime_part *parent,
                                      const char *start, const char *end,
                                      unsigned depth, const char *default_type)
{
  struct mime_part *part = mime_pool_alloc(&msg->pool, sizeof(*part));
  const char *body;
  int multipart, message, deep;

  if(part == NULL)
    return NULL;
  part->parent = parent;
  part->index = msg->nparts++;
  part->depth = depth;
  if(header_block(msg, part, start, end,
                  parent == NULL ||
                      strncmp(parent->content_type, "message/", 8) == 0,
                  &body) < 0)
    return NULL;
  part->body = body;
  part->body_len = (size_t)(end - body);
  if(interpret_fields(msg, part, default_type) < 0 || uu_name(msg, part) < 0)
    return NULL;
  if(part->flags & MIME_PART_OVERFLOW)
    return part; /* header limit: the body is opaque */

  multipart = strncmp(part->content_type, "multipart/", 10) == 0;
  /* RFC 6522 returned headers are a message without its body */
  message = strcmp(part->content_type, "message/rfc822") == 0 ||
            strcmp(part->content_type, "message/global") == 0 ||
            strcmp(part->content_type, "message/rfc822-headers") == 0 ||
            strcmp(part->content_type, "message/global-headers") == 0;
  if(!multipart && !message)
    return part;
  if(multipart && (part->boundary == NULL || part->boundary[0] == '\0' ||
                   strlen(part->boundary) > BOUNDARY_MAX)) {
    part->flags |= MIME_PART_BAD_MULTIPART;
    part->content_type = "text/plain"; /* RFC 2046 5.1.1: no boundary */
    return part;
  }
  /* Past a limit the part is kept and flagged, but not entered. */
  deep = depth >= msg->lim.max_depth;
  if(deep || (message && msg->nparts >= msg->lim.max_parts)) {
    if(set_overflow(msg, part, 0,
                    deep ? "nesting deeper than %u levels (max_depth); this "
                           "part is not entered"
                         : "more than %u parts (max_parts); the attached "
                           "message is not parsed",
                    deep ? msg->lim.max_depth : msg->lim.max_parts) < 0)
      return NULL;
    return part;
  }
  if((multipart ? parse_multipart(msg, part) : parse_message(msg, part)) < 0)
    return NULL;
  return part;
}

int mime_parse(const void *data, size_t len, const struct mime_limits *lim,
               struct mime_message **msg_r, const char **error_r)
{
  struct mime_message *msg = calloc(1, sizeof(*msg));
  const struct mime_part *p;

  *msg_r = NULL;
  if(msg == NULL)
    goto oom;
  mime_limits_default(&msg->lim);
  if(lim != NULL) {
    if(lim->max_depth)
      msg->lim.max_depth = lim->max_depth;
    if(lim->max_parts)
      msg->lim.max_parts = lim->max_parts;
    if(lim->max_header_bytes)
      msg->lim.max_header_bytes = lim->max_header_bytes;
    if(lim->max_headers)
      msg->lim.max_headers = lim->max_headers;
    if(lim->max_decoded_bytes)
      msg->lim.max_decoded_bytes = lim->max_decoded_bytes;
  }
  if(msg->lim.max_depth > MIME_HARD_MAX_DEPTH)
    msg->lim.max_depth = MIME_HARD_MAX_DEPTH;
  if(data == NULL)
    data = "";
  msg->root =
      parse_entity(msg, NULL, data, (const char *)data + len, 0, "text/plain");
  if(msg->root == NULL)
    goto oom;
  for(p = msg->root; p != NULL; p = mime_part_next(p))
    msg->flags |= p->flags;
  *msg_r = msg;
  return 0;
oom:
  mime_message_free(&msg);
  if(error_r != NULL)
    *error_r = "out of memory while parsing the message";
  return -1;
}

void mime_message_free(struct mime_message **msgp)
{
  struct mime_message *msg = msgp != NULL ? *msgp : NULL;

  if(msg == NULL)
    return;
  while(msg->copies != NULL) {
    struct decoded_copy *dc = msg->copies;
    msg->copies = dc->next;
    free(dc->data); /* dc itself lives in the pool */
  }
  mime_pool_free(&msg->pool);
  free(msg);
  *msgp = NULL;
}

const struct mime_part *mime_message_root(const struct mime_message *msg)
{
  return msg->root;
}

unsigned mime_message_part_count(const struct mime_message *msg)
{
  return msg->nparts;
}

unsigned mime_message_flags(const struct mime_message *msg)
{
  return msg->flags;
}

const struct mime_limits *mime_message_limits(const struct mime_message *msg)
{
  return &msg->lim;
}

/* ---- navigation -------------------------------------------------------- */

const struct mime_part *mime_part_next(const struct mime_part *part)
{
  if(part->children != NULL)
    return part->children;
  for(; part != NULL; part = part->parent)
    if(part->next != NULL)
      return part->next;
  return NULL;
}

const struct mime_header *mime_header_find(const struct mime_part *part,
                                           const char *name,
                                           const struct mime_header *after)
{
  size_t i = after != NULL ? (size_t)(after - part->headers) + 1 : 0;

  for(; i < part->nheaders; i++)
    if(mime_ascii_casecmp(part->headers[i].name, name) == 0)
      return &part->headers[i];
  return NULL;
}

const char *mime_header_get(const struct mime_part *part, const char *name)
{
  const struct mime_header *h = mime_header_find(part, name, NULL);

  return h != NULL ? h->decoded : NULL;
}

const char *mime_part_ct_param(const struct mime_part *part, const char *name)
{
  return param_get(part->ct_params, part->nct_params, name);
}

int mime_part_is_leaf(const struct mime_part *part)
{
  return part->children == NULL && !(part->flags & MIME_PART_MULTIPART);
}

int mime_part_is_message_root(const struct mime_part *part)
{
  return part->parent == NULL || (part->parent->flags & MIME_PART_MESSAGE);
}

int mime_part_is_attachment(const struct mime_part *part)
{
  if(!mime_part_is_leaf(part))
    return 0;
  if(part->disposition != NULL && strcmp(part->disposition, "attachment") == 0)
    return 1;
  if(part->filename != NULL)
    return 1;
  /* RFC 2046 4.1.4: an unknown text subtype is read as text/plain */
  return strncmp(part->content_type, "text/", 5) != 0;
}

int mime_part_is_body(const struct mime_part *part)
{
  return mime_part_is_leaf(part) && !mime_part_is_attachment(part);
}

/* ---- decoding ---------------------------------------------------------- */

int mime_part_decode(const struct mime_message *msg,
                     const struct mime_part *part, struct mime_data *out)
{
  struct buf b;
  int r;

  memset(out, 0, sizeof(*out));
  buf_init(&b, msg->lim.max_decoded_bytes);
  switch(part->encoding) {
  case MIME_ENC_BASE64:
    r = mime_base64_decode(part->body, part->body_len, &b, &out->flags);
    break;
  case MIME_ENC_QP:
    r = mime_qp_decode(part->body, part->body_len, 0, &b, &out->flags);
    break;
  case MIME_ENC_UUENCODE: {
    /* without a begin line it is not uuencoded after all: as is (what
     * Python's get_payload does when uudecoding fails) */
    struct mime_uu_block blk;
    if(mime_uu_find(part->body, part->body_len, 0, &blk)) {
      r = mime_uu_decode(part->body + blk.data, blk.data_end - blk.data, &b,
                         &out->flags);
      break;
    }
  }
  /* fall through */
  default:
    r = mime_buf_add(&b, part->body, part->body_len, &out->flags);
    if(r < 0 && (out->flags & MIME_DATA_TRUNCATED))
      r = 0;
    break;
  }
  if(r < 0) {
    buf_free(&b);
    return -1;
  }
  return mime_data_take(&b, out);
}

/* RFC 1896 text/enriched to plain text, in place (it only shrinks):
 * formatting commands dropped ("<<" is '<'), <param> contents dropped, a
 * lone line break is a space and n of them are n - 1 (except in
 * <nofill>).  Returns the new length. */
#define ENRICHED_MAX_COMMAND 60 /* RFC 1896: longer is not a command */
static size_t enriched_plain(char *s, size_t n)
{
  size_t i = 0, j = 0, k;
  unsigned param = 0, nofill = 0;

  while(i < n) {
    if(s[i] == '<' && i + 1 < n && s[i + 1] == '<') {
      if(param == 0)
        s[j++] = '<';
      i += 2;
      continue;
    }
    if(s[i] == '<') {
      for(k = i + 1; k < n && s[k] != '>' && k - i <= ENRICHED_MAX_COMMAND;)
        k++;
      if(k < n && s[k] == '>') {
        const char *c = s + i + 1;
        size_t cl = k - i - 1;
        int neg = cl > 0 && c[0] == '/';
        unsigned *depth = NULL;

        if(cl - neg == 5 && mime_ascii_ncasecmp(c + neg, "param", 5) == 0)
          depth = &param;
        else if(cl - neg == 6 && mime_ascii_ncasecmp(c + neg, "nofill", 6) == 0)
          depth = &nofill;
        if(depth != NULL && !neg)
          (*depth)++;
        else if(depth != NULL && *depth > 0)
          (*depth)--;
        i = k + 1;
        continue;
      }
    }
    if(s[i] == '\n' && nofill == 0) {
      for(k = i; k < n && s[k] == '\n';)
        k++;
      if(param == 0) {
        if(k - i == 1)
          s[j++] = ' ';
        else
          for(i++; i < k; i++)
            s[j++] = '\n';
      }
      i = k;
      continue;
    }
    if(param == 0)
      s[j++] = s[i];
    i++;
  }
  return j;
}

int mime_part_text(const struct mime_message *msg, const struct mime_part *part,
                   struct mime_data *out)
{
  struct mime_data raw;
  size_t i, j;
  char *s;

  if(mime_part_decode(msg, part, &raw) < 0)
    return -1;
  if(mime_charset_to_utf8(part->charset, raw.data, raw.len,
                          msg->lim.max_decoded_bytes, out) < 0) {
    mime_data_free(&raw);
    return -1;
  }
  out->flags |= raw.flags;
  mime_data_free(&raw);
  s = out->data;
  i = out->len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  for(j = 0; i < out->len; i++) {
    if(s[i] == '\r' && i + 1 < out->len && s[i + 1] == '\n')
      continue;
    s[j++] = s[i];
  }
  if(strcmp(part->content_type, "text/enriched") == 0)
    j = enriched_plain(s, j);
  s[j] = '\0';
  out->len = j;
  return 0;
}

void mime_data_free(struct mime_data *out)
{
  free(out->data);
  memset(out, 0, sizeof(*out));
}
