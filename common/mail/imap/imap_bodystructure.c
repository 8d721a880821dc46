/*
 * imap_bodystructure: parse a FETCH BODYSTRUCTURE value (RFC 3501 7.4.2,
 * grammar "body" in section 9) into a tree with section numbers.
 *
 * The input is untrusted: nesting and the number of parts are capped
 * (IMAP_BODY_MAX_DEPTH, IMAP_BODY_MAX_PARTS), every string is copied from
 * a span the tokenizer bounded, and any deviation from the grammar is an
 * error with the offset where it happened.  Extension data we do not use
 * (MD5, language, location, future extensions) is skipped, but skipped
 * lists are also depth-limited.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "imap_private.h"

/* Envelopes nest address lists in lists: 3 levels; leave some room. */
#define SKIP_MAX_DEPTH 8

struct bs {
  struct itok t;
  const char *start;
  size_t nparts;
  char *err;
  size_t errlen;
  bool failed;
};

static int bs_fail(struct bs *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bs_fail(struct bs *s, const char *fmt, ...)
{
  if(!s->failed && s->errlen > 0) {
    va_list ap;
    size_t used;
    va_start(ap, fmt);
    vsnprintf(s->err, s->errlen, fmt, ap);
    va_end(ap);
    used = strlen(s->err);
    snprintf(s->err + used, s->errlen - used, " at offset %zu",
             (size_t)(s->t.p - s->start));
  }
  s->failed = true;
  return -1;
}

static void lower(char *s)
{
  for(; s && *s; s++)
    *s = (char)tolower((unsigned char)*s);
}

static void params_free(struct imap_param *p, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    free(p[i].name);
    free(p[i].value);
  }
  free(p);
}

static void part_free(struct imap_bodypart *b)
{
  if(!b)
    return;
  for(size_t i = 0; i < b->nchildren; i++)
    part_free(b->children[i]);
  free(b->children);
  free(b->type);
  free(b->subtype);
  params_free(b->params, b->nparams);
  params_free(b->disp_params, b->ndisp_params);
  free(b->id);
  free(b->description);
  free(b->encoding);
  free(b->disposition);
  free(b);
}

void imap_bodystructure_free(struct imap_bodypart *root)
{
  part_free(root);
}

/* body-fld-param: "(" string SP string *(SP string SP string) ")" / nil */
static int parse_params(struct bs *s, struct imap_param **p_r, size_t *n_r)
{
  struct imap_param *p = NULL;
  size_t n = 0, cap = 0;
  *p_r = NULL;
  *n_r = 0;
  if(itok_nil(&s->t))
    return 0;
  if(!itok_eat(&s->t, '('))
    return bs_fail(s, "expected parameter list");
  for(;;) {
    char *name = NULL, *value = NULL;
    size_t len;
    if(n > 0) {
      if(itok_eat(&s->t, ')'))
        break;
      if(itok_sp(&s->t) < 0) {
        params_free(p, n);
        return bs_fail(s, "expected space in parameter list");
      }
    }
    if(n >= 256) { /* RFC 2231 splitting makes many; this is plenty */
      params_free(p, n);
      return bs_fail(s, "too many parameters");
    }
    if(itok_string(&s->t, &name, &len) < 0 || itok_sp(&s->t) < 0 ||
       itok_string(&s->t, &value, &len) < 0) {
      free(name);
      params_free(p, n);
      return bs_fail(s, "bad parameter");
    }
    if(n == cap) {
      size_t nc = cap ? cap * 2 : 4;
      struct imap_param *np = realloc(p, nc * sizeof(*np));
      if(!np) {
        free(name);
        free(value);
        params_free(p, n);
        return bs_fail(s, "out of memory");
      }
      p = np;
      cap = nc;
    }
    lower(name);
    p[n].name = name;
    p[n].value = value;
    n++;
  }
  *p_r = p;
  *n_r = n;
  return 0;
}

static const char *param_get(const struct imap_param *p, size_t n,
                             const char *name)
{
  for(size_t i = 0; i < n; i++)
    if(strcmp(p[i].name, name) == 0)
      return p[i].value;
  return NULL;
}

/* body-fld-dsp: "(" string SP body-fld-param ")" / nil */
static int parse_disposition(struct bs *s, struct imap_bodypart *b)
{
  size_t len;
  if(itok_nil(&s->t))
    return 0;
  if(!itok_eat(&s->t, '('))
    return bs_fail(s, "expected disposition");
  if(itok_string(&s->t, &b->disposition, &len) < 0)
    return bs_fail(s, "bad disposition type");
  lower(b->disposition);
  if(itok_sp(&s->t) < 0 ||
     parse_params(s, &b->disp_params, &b->ndisp_params) < 0)
    return bs_fail(s, "bad disposition parameters");
  if(!itok_eat(&s->t, ')'))
    return bs_fail(s, "expected ) after disposition");
  return 0;
}

/* Skip whatever extension values remain before the part's ")". */
static int skip_to_close(struct bs *s)
{
  for(;;) {
    while(itok_eat(&s->t, ' '))
      ;
    if(itok_eat(&s->t, ')'))
      return 0;
    if(itok_skip_value(&s->t, SKIP_MAX_DEPTH) < 0)
      return bs_fail(s, "bad extension data");
  }
}

/* Where extension data may start: ")" ends the part, and so does " )"
 * (a space before the close is tolerated).  Returns 1 when the part ended,
 * 0 when a value follows, -1 on anything else. */
static int ext_start(struct bs *s)
{
  if(itok_eat(&s->t, ')'))
    return 1;
  if(itok_sp(&s->t) < 0)
    return bs_fail(s, "expected space before extension data");
  if(itok_peek(&s->t) == ')') {
    s->t.p++;
    return 1;
  }
  return 0;
}

/* Optional: SP disposition [SP language [SP location *(SP ext)]] ")".
 * For single parts the MD5 comes first and was consumed by the caller. */
static int parse_ext_tail(struct bs *s, struct imap_bodypart *b)
{
  int r = ext_start(s);
  if(r != 0)
    return r < 0 ? -1 : 0;
  if(parse_disposition(s, b) < 0)
    return -1;
  return skip_to_close(s);
}

static int child_section(struct bs *s, char *out, const char *prefix,
                         size_t idx)
{
  int n;
  if(*prefix)
    n = snprintf(out, IMAP_SECTION_MAX, "%s.%zu", prefix, idx);
  else
    n = snprintf(out, IMAP_SECTION_MAX, "%zu", idx);
  if(n < 0 || n >= IMAP_SECTION_MAX)
    return bs_fail(s, "section number too long");
  return 0;
}

static int add_child(struct bs *s, struct imap_bodypart *b,
                     struct imap_bodypart *child)
{
  struct imap_bodypart **nc =
      realloc(b->children, (b->nchildren + 1) * sizeof(*nc));
  if(!nc)
    return bs_fail(s, "out of memory");
  b->children = nc;
  b->children[b->nchildren++] = child;
  return 0;
}

static void set_shortcuts(struct imap_bodypart *b)
{
  b->charset = param_get(b->params, b->nparams, "charset");
  b->boundary = param_get(b->params, b->nparams, "boundary");
  b->name = param_get(b->params, b->nparams, "name");
  b->filename = param_get(b->disp_params, b->ndisp_params, "filename");
  if(!b->filename)
    b->filename = b->name;
}

static int parse_body(struct bs *s, const char *section, unsigned depth,
                      struct imap_bodypart *parent, struct imap_bodypart **out);

/* The body inside a message/rfc822 part (see the numbering in imap.h). */
static int parse_message_body(struct bs *s, struct imap_bodypart *msg)
{
  char sec[IMAP_SECTION_MAX];
  struct imap_bodypart *child = NULL;
  /* "((" means the enclosed body is a multipart. */
  if(s->t.end - s->t.p >= 2 && s->t.p[0] == '(' && s->t.p[1] == '(')
    snprintf(sec, sizeof(sec), "%s", msg->section);
  else if(child_section(s, sec, msg->section, 1) < 0)
    return -1;
  if(parse_body(s, sec, msg->depth + 1, msg, &child) < 0)
    return -1;
  if(add_child(s, msg, child) < 0) {
    part_free(child);
    return -1;
  }
  return 0;
}

static int parse_multipart(struct bs *s, struct imap_bodypart *b)
{
  size_t len;
  while(itok_peek(&s->t) == '(') {
    char sec[IMAP_SECTION_MAX];
    struct imap_bodypart *child = NULL;
    if(child_section(s, sec, b->section, b->nchildren + 1) < 0)
      return -1;
    if(parse_body(s, sec, b->depth + 1, b, &child) < 0)
      return -1;
    if(add_child(s, b, child) < 0) {
      part_free(child);
      return -1;
    }
    while(itok_eat(&s->t, ' ')) /* tolerate "(..) (..)" */
      ;
  }
  if(b->nchildren == 0)
    return bs_fail(s, "multipart without parts");
  b->type = strdup("multipart");
  if(!b->type)
    return bs_fail(s, "out of memory");
  if(itok_string(&s->t, &b->subtype, &len) < 0)
    return bs_fail(s, "bad multipart subtype");
  lower(b->subtype);
  if(itok_eat(&s->t, ')'))
    return 0;
  if(itok_sp(&s->t) < 0)
    return bs_fail(s, "expected space after multipart subtype");
  if(parse_params(s, &b->params, &b->nparams) < 0)
    return -1;
  return parse_ext_tail(s, b);
}

static int parse_single(struct bs *s, struct imap_bodypart *b)
{
  size_t len;
  uint64_t v;
  bool is_text, is_msg;
  int r;

  if(itok_string(&s->t, &b->type, &len) < 0)
    return bs_fail(s, "bad media type");
  if(itok_sp(&s->t) < 0 || itok_string(&s->t, &b->subtype, &len) < 0)
    return bs_fail(s, "bad media subtype");
  lower(b->type);
  lower(b->subtype);
  /* body-fields */
  if(itok_sp(&s->t) < 0 || parse_params(s, &b->params, &b->nparams) < 0)
    return bs_fail(s, "bad body parameters");
  if(itok_sp(&s->t) < 0 || itok_nstring(&s->t, &b->id, &len) < 0)
    return bs_fail(s, "bad body id");
  if(itok_sp(&s->t) < 0 || itok_nstring(&s->t, &b->description, &len) < 0)
    return bs_fail(s, "bad body description");
  if(itok_sp(&s->t) < 0 || itok_nstring(&s->t, &b->encoding, &len) < 0)
    return bs_fail(s, "bad body encoding");
  lower(b->encoding);
  if(itok_sp(&s->t) < 0 || itok_number(&s->t, UINT32_MAX, &b->size) < 0)
    return bs_fail(s, "bad body size");

  is_text = strcmp(b->type, "text") == 0;
  is_msg =
      strcmp(b->type, "message") == 0 &&
      (strcmp(b->subtype, "rfc822") == 0 || strcmp(b->subtype, "global") == 0);
  if(is_msg) {
    /* Some servers describe message/rfc822 as a basic part; only an
     * envelope list after the size makes it the message form. */
    if(s->t.end - s->t.p >= 2 && s->t.p[0] == ' ' && s->t.p[1] == '(') {
      (void)itok_sp(&s->t);
      if(itok_skip_value(&s->t, SKIP_MAX_DEPTH) < 0)
        return bs_fail(s, "bad envelope");
      if(itok_sp(&s->t) < 0)
        return bs_fail(s, "expected body after envelope");
      if(parse_message_body(s, b) < 0)
        return -1;
      if(itok_sp(&s->t) < 0 || itok_number(&s->t, UINT32_MAX, &b->lines) < 0)
        return bs_fail(s, "bad message line count");
    }
  }
  else if(is_text) {
    if(itok_sp(&s->t) < 0 || itok_number(&s->t, UINT32_MAX, &v) < 0)
      return bs_fail(s, "bad text line count");
    b->lines = v;
  }
  /* body-ext-1part: md5 first, then disposition ... */
  r = ext_start(s);
  if(r != 0)
    return r < 0 ? -1 : 0;
  if(itok_skip_value(&s->t, 1) < 0)
    return bs_fail(s, "bad body MD5");
  return parse_ext_tail(s, b);
}

static int parse_body(struct bs *s, const char *section, unsigned depth,
                      struct imap_bodypart *parent, struct imap_bodypart **out)
{
  struct imap_bodypart *b;
  int r;
  *out = NULL;
  if(depth > IMAP_BODY_MAX_DEPTH)
    return bs_fail(s, "body nested deeper than %d", IMAP_BODY_MAX_DEPTH);
  if(++s->nparts > IMAP_BODY_MAX_PARTS)
    return bs_fail(s, "more than %d body parts", IMAP_BODY_MAX_PARTS);
  if(!itok_eat(&s->t, '('))
    return bs_fail(s, "expected (");
  b = calloc(1, sizeof(*b));
  if(!b)
    return bs_fail(s, "out of memory");
  snprintf(b->section, sizeof(b->section), "%s", section);
  b->depth = depth;
  b->parent = parent;
  if(itok_peek(&s->t) == '(')
    r = parse_multipart(s, b);
  else
    r = parse_single(s, b);
  if(r < 0) {
    part_free(b);
    return -1;
  }
  set_shortcuts(b);
  *out = b;
  return 0;
}

int imap_bodystructure_parse(const char *data, size_t len,
                             struct imap_bodypart **root_r, char *err,
                             size_t errlen)
{
  struct bs s;
  struct imap_bodypart *root = NULL;
  const char *sec;
  memset(&s, 0, sizeof(s));
  s.t.p = s.start = data;
  s.t.end = data + len;
  s.err = err;
  s.errlen = errlen;
  if(errlen > 0)
    err[0] = '\0';
  *root_r = NULL;
  sec = (len >= 2 && data[0] == '(' && data[1] == '(') ? "" : "1";
  if(parse_body(&s, sec, 0, NULL, &root) < 0) {
    if(!s.failed)
      bs_fail(&s, "bad BODYSTRUCTURE");
    return -1;
  }
  if(s.t.p != s.t.end) {
    part_free(root);
    return bs_fail(&s, "trailing data after BODYSTRUCTURE");
  }
  *root_r = root;
  return 0;
}

const struct imap_bodypart *imap_bodypart_find(const struct imap_bodypart *root,
                                               const char *section)
{
  if(!root)
    return NULL;
  if(strcmp(root->section, section) == 0 &&
     /* a message's multipart body shares its section: prefer the message */
     !(root->parent && strcmp(root->parent->section, section) == 0))
    return root;
  for(size_t i = 0; i < root->nchildren; i++) {
    const struct imap_bodypart *f =
        imap_bodypart_find(root->children[i], section);
    if(f)
      return f;
  }
  return NULL;
}
