/*
 * container_headers: header fields the way the Python connector sees them
 * (its compat32 parser: raw values with their folding, RFC 2047 decoded by
 * make_header), the Email Artifacts made from them, and get email's
 * header dict.
 */
#include "container_private.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyjson.h"
#include "util.h"

/* Notes of what a limit cut, kept here at the bottom of the folder so
 * every file can add one (see container_private.h). */
void ct_note(struct notes *nt, const char *fmt, ...)
{
  char tmp[512];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  for(unsigned i = 0; i < nt->n; i++)
    if(!strcmp(nt->v[i], tmp))
      return;
  if(nt->n < MAX_LIMIT_NOTES && (nt->v[nt->n] = strdup(tmp)))
    nt->n++;
}

/* s[0..len) as UTF-8: copied, or converted from Latin-1 byte by byte. */
static char *text_dup(const char *s, size_t len, bool latin1)
{
  char *out = malloc(latin1 ? 2 * len + 1 : len + 1), *w = out;

  if(!out)
    return NULL;
  if(!latin1) {
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
  }
  for(size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c < 0x80)
      *w++ = (char)c;
    else {
      *w++ = (char)(0xc0 | (c >> 6));
      *w++ = (char)(0x80 | (c & 0x3f));
    }
  }
  *w = '\0';
  return out;
}

/* ---- 1. header fields as Python's compat32 parser sees them ----------- */

void ct_fields_free(struct fields *fs)
{
  for(size_t i = 0; i < fs->n; i++)
    free(fs->f[i].value);
  free(fs->f);
  fs->f = NULL;
  fs->n = 0;
}

const char *ct_line_end(const char *p, const char *end)
{
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  return nl ? nl + 1 : end;
}

/* Python's feedparser: a field is "name:" (name of printable ASCII but
 * ':'), continuation lines start with a blank; the block ends at an empty
 * line or a line that is neither.  The value is the rest of the first line
 * without leading blanks, plus the continuation lines as they are, minus
 * trailing CR/LF. */
int ct_fields_parse(const char *s, size_t len, bool latin1, bool skip_from_line,
                    struct fields *fs)
{
  const char *p = s, *end = s + len;
  size_t cap = 0;

  memset(fs, 0, sizeof(*fs));
  if(skip_from_line && len >= 5 && !memcmp(s, "From ", 5))
    p = ct_line_end(p, end);
  while(p < end && fs->n < MAX_FIELDS) {
    const char *le = ct_line_end(p, end);
    if(*p == '\r' || *p == '\n')
      break; /* the empty line */
    const char *c = p;
    while(c < le && *c != ':' && (unsigned char)*c > 0x20 &&
          (unsigned char)*c < 0x7f)
      c++;
    if(c == p || c >= le || *c != ':')
      break; /* not a field: body starts */
    const char *v = c + 1, *ve = le;
    while(v < ve && (*v == ' ' || *v == '\t'))
      v++;
    while(ve < end && (*ve == ' ' || *ve == '\t'))
      ve = ct_line_end(ve, end); /* continuation lines */
    size_t vl = (size_t)(ve - v);
    while(vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
      vl--;
    if(fs->n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      struct field *nf = realloc(fs->f, ncap * sizeof(*nf));
      if(!nf)
        return -1;
      fs->f = nf;
      cap = ncap;
    }
    struct field *f = &fs->f[fs->n];
    f->name = p;
    f->name_len = (size_t)(c - p);
    f->raw = v;
    f->raw_len = vl;
    if(!(f->value = text_dup(v, vl, latin1)))
      return -1;
    fs->n++;
    p = ve;
  }
  return 0;
}

/* The last field named name (case-insensitive), as CaseInsensitiveDict
 * get() returns it; NULL if none. */
static const struct field *fields_find(const struct fields *fs,
                                       const char *name)
{
  size_t nl = strlen(name);

  for(size_t i = fs->n; i-- > 0;)
    if(fs->f[i].name_len == nl && !strncasecmp(fs->f[i].name, name, nl))
      return &fs->f[i];
  return NULL;
}

static const char *fields_get(const struct fields *fs, const char *name)
{
  const struct field *f = fields_find(fs, name);

  return f ? f->value : NULL;
}

/* Remove line breaks of folding (CRLF/LF followed by a blank). */
static char *unfold(const char *s, size_t n)
{
  char *o = malloc(n + 1), *w = o;

  if(!o)
    return NULL;
  for(size_t i = 0; i < n; i++) {
    if(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
      continue;
    if(s[i] == '\n')
      continue;
    *w++ = s[i];
  }
  *w = '\0';
  return o;
}

char *ct_py_make_header(const struct field *f)
{
  if(!strstr(f->value, "=?"))
    return strdup(f->value);
  char *u = unfold(f->raw, f->raw_len);
  if(!u)
    return NULL;
  /* decode_header lstrips a line: a value folded right after the colon
   * starts with the fold's blanks */
  const char *t = u + strspn(u, " \t");
  char *d = mime_header_decode(t, strlen(t), NULL);
  free(u);
  return d;
}

/* Python's _decode_uni_string: find "=?...?=" (non-greedy, within a line);
 * when every one of them decodes to something, return only their decoded
 * texts joined (the plain text around them is dropped, a quirk kept for
 * identical artifacts); else return v unchanged. */
static char *py_decode_uni(const char *v)
{
  struct buf out;
  size_t words = 0, decoded = 0;
  const char *p = v;

  buf_init(&out, 1 << 20);
  while((p = strstr(p, "=?"))) {
    const char *q = p + 2, *e = NULL;
    for(; *q && *q != '\n' && *q != '\r'; q++)
      if(q[0] == '?' && q[1] == '=') {
        e = q + 2;
        break;
      }
    if(!e)
      break;
    words++;
    /* A real encoded word: =?cs?[BbQq]?text?= */
    const char *c1 = memchr(p + 2, '?', (size_t)(e - p - 2));
    if(c1 && c1 > p + 2 && c1 + 3 < e - 1 && c1[2] == '?' &&
       strchr("BbQq", c1[1])) {
      char *d = mime_header_decode(p, (size_t)(e - p), NULL);
      if(d && *d &&
         (strlen(d) != (size_t)(e - p) || memcmp(d, p, (size_t)(e - p)))) {
        buf_puts(&out, d);
        decoded++;
      }
      free(d);
    }
    p = e;
  }
  char *r;
  if(words && decoded == words && out.len)
    r = buf_steal(&out);
  else
    r = strdup(v);
  buf_free(&out);
  return r;
}

/* _get_email_headers_from_part: a case-insensitive dict of the fields (the
 * first spelling's position, the last spelling and value), Received as the
 * list of all values, then decodedSubject/To/From/CC.  NULL when there
 * are no fields or out of memory (*oom set). */
cJSON *ct_headers_dict(const struct fields *fs, bool *oom)
{
  cJSON *h;
  bool received = false;

  if(!fs->n)
    return NULL;
  if(!(h = cJSON_CreateObject()))
    goto fail;
  for(size_t i = 0; i < fs->n; i++) {
    const struct field *f = &fs->f[i];
    char name[256];
    size_t nl = f->name_len < sizeof(name) - 1 ? f->name_len : sizeof(name) - 1;
    memcpy(name, f->name, nl);
    name[nl] = '\0';
    if(!strcasecmp(name, "received"))
      received = true;
    cJSON *old = NULL;
    for(cJSON *c = h->child; c; c = c->next)
      if(!strcasecmp(c->string, name)) {
        old = c;
        break;
      }
    cJSON *val = cJSON_CreateString(f->value);
    if(!val)
      goto fail;
    if(old) {
      /* keep the position, take the new spelling and value */
      if(!cJSON_ReplaceItemViaPointer(h, old, val))
        goto fail;
      free(val->string);
      if(!(val->string = strdup(name)))
        goto fail;
    }
    else
      cJSON_AddItemToObject(h, name, val);
  }
  if(received) {
    cJSON *list = cJSON_CreateArray(), *old = NULL;
    if(!list)
      goto fail;
    for(size_t i = 0; i < fs->n; i++)
      if(fs->f[i].name_len == 8 && !strncasecmp(fs->f[i].name, "received", 8))
        cJSON_AddItemToArray(list, cJSON_CreateString(fs->f[i].value));
    for(cJSON *c = h->child; c; c = c->next)
      if(!strcasecmp(c->string, "received"))
        old = c;
    cJSON_ReplaceItemViaPointer(h, old, list);
    free(list->string);
    list->string = strdup("Received");
  }
  static const struct {
    const char *field, *key;
    bool subject;
  } dec[] = {
    { "Subject", "decodedSubject", true },
    { "To", "decodedTo", false },
    { "From", "decodedFrom", false },
    { "CC", "decodedCC", false },
  };
  for(size_t k = 0; k < sizeof(dec) / sizeof(dec[0]); k++) {
    const struct field *f = fields_find(fs, dec[k].field);
    if(!f || !*f->value)
      continue;
    char *d = dec[k].subject ? ct_py_make_header(f) : py_decode_uni(f->value);
    if(!d)
      goto fail;
    cJSON_DeleteItemFromObjectCaseSensitive(h, dec[k].key);
    cJSON_AddItemToObject(h, dec[k].key, cJSON_CreateString(d));
    free(d);
  }
  return h;
fail:
  *oom = true;
  cJSON_Delete(h);
  return NULL;
}

/* ---- 2. Email Artifacts ------------------------------------------------ */

/* _parse_email_headers: an Email Artifact when the block has a From or To
 * value or a Message-ID field. */
int ct_email_artifact(struct ctx *x, const struct fields *fs, bool with_id,
                      cJSON *dest)
{
  const char *from = fields_get(fs, "From"), *to = fields_get(fs, "To");
  bool oom = false;

  if(!(from && *from) && !(to && *to) && !fields_get(fs, "message-id"))
    return 0;
  cJSON *headers = ct_headers_dict(fs, &oom);
  if(oom)
    return -1;
  cJSON *art = cJSON_CreateObject(), *cef = cJSON_CreateObject(),
        *types = cJSON_CreateObject();
  if(!art || !cef || !types) {
    cJSON_Delete(art);
    cJSON_Delete(cef);
    cJSON_Delete(types);
    cJSON_Delete(headers);
    return -1;
  }
  cJSON_AddFalseToObject(art, "run_automation");
  cJSON_AddStringToObject(art, "name", "Email Artifact");
  if(from && *from)
    cJSON_AddStringToObject(cef, "fromEmail", from);
  if(to && *to)
    cJSON_AddStringToObject(cef, "toEmail", to);
  cJSON_AddItemToObject(cef, "emailHeaders",
                        headers ? headers : cJSON_CreateObject());
  cJSON_AddItemToArray(cJSON_AddArrayToObject(types, "fromEmail"),
                       cJSON_CreateString("email"));
  cJSON_AddItemToArray(cJSON_AddArrayToObject(types, "toEmail"),
                       cJSON_CreateString("email"));
  if(with_id) {
    if(x->o->uid_is_string)
      cJSON_AddStringToObject(cef, "emailId", x->o->uid);
    else
      cJSON_AddNumberToObject(cef, "emailId", strtod(x->o->uid, NULL));
    bool digits = *x->o->uid != '\0';
    for(const char *d = x->o->uid; *d; d++)
      digits &= (*d >= '0' && *d <= '9');
    if(digits)
      cJSON_AddItemToArray(cJSON_AddArrayToObject(types, "emailId"),
                           cJSON_CreateString("imap email id"));
  }
  cJSON_AddItemToObject(art, "cef", cef);
  cJSON_AddItemToObject(art, "cef_types", types);
  cJSON_AddItemToArray(dest, art);
  return 0;
}

cJSON *soar_email_headers(const char *raw, size_t len)
{
  struct mime_message *msg = NULL;
  struct mime_limits lim;
  cJSON *h = cJSON_CreateObject();

  mime_limits_default(&lim);
  if(!h || mime_parse(raw, len, &lim, &msg, NULL)) {
    cJSON_Delete(h);
    return NULL;
  }
  const struct mime_part *root = mime_message_root(msg);
  for(size_t i = 0; i < root->nheaders; i++) {
    const struct mime_header *mh = &root->headers[i];
    cJSON_DeleteItemFromObjectCaseSensitive(h, mh->name);
    cJSON_AddStringToObject(h, mh->name, mh->decoded);
  }
  mime_message_free(&msg);
  return h;
}
