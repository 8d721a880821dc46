/*
 * container: see container.h for what is the same as the Python connector
 * and what is better.  Section by section:
 *   1. Python's view of header fields (raw values keep their folding)
 *   2. Email Artifacts
 *   3. attachments: hashes, vault, Vault Artifacts
 *   4. bodies: IOCs and forwarded blocks
 *   5. the walk and the final artifact list
 *   6. printing
 */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ioc/ioc.h"
#include "pyjson.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/util.h"

#define MAX_FIELDS 2000           /* header fields read per block */
#define MAX_LIMIT_NOTES 16

void soar_email_opts_default(struct soar_email_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->extract_attachments = o->extract_urls = o->extract_ips =
    o->extract_domains = o->extract_hashes = true;
  o->folder = "inbox";
  o->uid = "0";
  o->container_id = -1;
}

void soar_sdi(const char *folder, const char *uid, char *out, size_t outlen)
{
  char hex[33];

  pyjson_md5_hex(folder, strlen(folder), hex);
  snprintf(out, outlen, "%s : %s", hex, uid);
}

/* ---- small helpers ----------------------------------------------------- */

static bool utf8_valid(const unsigned char *s, size_t len)
{
  size_t i = 0;

  while(i < len) {
    /* ASCII fast path, 8 bytes at a time */
    while(i + 8 <= len) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if(w & 0x8080808080808080ull)
        break;
      i += 8;
    }
    if(i >= len)
      break;
    if(s[i] < 0x80) {
      i++;
      continue;
    }
    size_t used;
    if(util_utf8_decode(s + i, len - i, &used) < 0)
      return false;
    i += used;
  }
  return true;
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

struct notes {
  char *v[MAX_LIMIT_NOTES];
  unsigned n;
};

static void note(struct notes *nt, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
static void note(struct notes *nt, const char *fmt, ...)
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

/* ---- 1. header fields as Python's compat32 parser sees them ----------- */

struct field {
  const char *name;
  size_t name_len;
  char *value;          /* UTF-8, folding kept, trailing CR/LF removed */
};

struct fields {
  struct field *f;
  size_t n;
};

static void fields_free(struct fields *fs)
{
  for(size_t i = 0; i < fs->n; i++)
    free(fs->f[i].value);
  free(fs->f);
  fs->f = NULL;
  fs->n = 0;
}

static const char *line_end(const char *p, const char *end)
{
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  return nl ? nl + 1 : end;
}

/* Python's feedparser: a field is "name:" (name of printable ASCII but
 * ':'), continuation lines start with a blank; the block ends at an empty
 * line or a line that is neither.  The value is the rest of the first line
 * without leading blanks, plus the continuation lines as they are, minus
 * trailing CR/LF. */
static int fields_parse(const char *s, size_t len, bool latin1,
                        bool skip_from_line, struct fields *fs)
{
  const char *p = s, *end = s + len;
  size_t cap = 0;

  memset(fs, 0, sizeof(*fs));
  if(skip_from_line && len >= 5 && !memcmp(s, "From ", 5))
    p = line_end(p, end);
  while(p < end && fs->n < MAX_FIELDS) {
    const char *le = line_end(p, end);
    if(*p == '\r' || *p == '\n')
      break;                                  /* the empty line */
    const char *c = p;
    while(c < le && *c != ':' && (unsigned char)*c > 0x20 &&
          (unsigned char)*c < 0x7f)
      c++;
    if(c == p || c >= le || *c != ':')
      break;                                  /* not a field: body starts */
    const char *v = c + 1, *ve = le;
    while(v < ve && (*v == ' ' || *v == '\t'))
      v++;
    while(ve < end && (*ve == ' ' || *ve == '\t'))
      ve = line_end(ve, end);                 /* continuation lines */
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
    if(!(f->value = text_dup(v, vl, latin1)))
      return -1;
    fs->n++;
    p = ve;
  }
  return 0;
}

/* The last field named name (case-insensitive), as CaseInsensitiveDict
 * get() returns it; NULL if none. */
static const char *fields_get(const struct fields *fs, const char *name)
{
  size_t nl = strlen(name);

  for(size_t i = fs->n; i-- > 0;)
    if(fs->f[i].name_len == nl && !strncasecmp(fs->f[i].name, name, nl))
      return fs->f[i].value;
  return NULL;
}

/* Remove line breaks of folding (CRLF/LF followed by a blank). */
static char *unfold(const char *s)
{
  size_t n = strlen(s);
  char *o = malloc(n + 1), *w = o;

  if(!o)
    return NULL;
  for(size_t i = 0; i < n; i++) {
    if(s[i] == '\r' && s[i + 1] == '\n')
      continue;
    if(s[i] == '\n')
      continue;
    *w++ = s[i];
  }
  *w = '\0';
  return o;
}

/* str(make_header(decode_header(v))): unchanged without encoded words,
 * else the decoded, unfolded text. */
static char *py_make_header(const char *v)
{
  if(!strstr(v, "=?"))
    return strdup(v);
  char *u = unfold(v);
  if(!u)
    return NULL;
  char *d = mime_header_decode(u, strlen(u), NULL);
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
      if(d && *d && (strlen(d) != (size_t)(e - p) || memcmp(d, p, (size_t)(e - p)))) {
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
static cJSON *headers_dict(const struct fields *fs, bool *oom)
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
  static const struct { const char *field, *key; bool subject; } dec[] = {
    { "Subject", "decodedSubject", true }, { "To", "decodedTo", false },
    { "From", "decodedFrom", false }, { "CC", "decodedCC", false },
  };
  for(size_t k = 0; k < sizeof(dec) / sizeof(dec[0]); k++) {
    const char *v = fields_get(fs, dec[k].field);
    if(!v || !*v)
      continue;
    char *d = dec[k].subject ? py_make_header(v) : py_decode_uni(v);
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

struct ctx {
  const struct soar_email_opts *o;
  struct mime_message *msg;
  bool latin1;
  struct ioc_result *iocs;
  struct ioc_opts iopts;
  cJSON *email_arts;          /* header artifacts, walk order */
  cJSON *forward_arts;        /* from forwarded blocks */
  cJSON *vault_arts;
  struct notes notes;
  unsigned attachments;
  bool has_text_body;
  struct buf html_text;       /* visible text of HTML bodies (forward
                                 detection when there is no text body) */
  bool oom;
  char *err;
  size_t errlen;
};

/* _parse_email_headers: an Email Artifact when the block has a From or To
 * value or a Message-ID field. */
static int email_artifact(struct ctx *x, const struct fields *fs,
                          bool with_id, cJSON *dest)
{
  const char *from = fields_get(fs, "From"), *to = fields_get(fs, "To");
  bool oom = false;

  if(!(from && *from) && !(to && *to) && !fields_get(fs, "message-id"))
    return 0;
  cJSON *headers = headers_dict(fs, &oom);
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
  cJSON_AddItemToObject(cef, "emailHeaders", headers ? headers : cJSON_CreateObject());
  cJSON_AddItemToArray(cJSON_AddArrayToObject(types, "fromEmail"), cJSON_CreateString("email"));
  cJSON_AddItemToArray(cJSON_AddArrayToObject(types, "toEmail"), cJSON_CreateString("email"));
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

/* ---- 3. attachments ---------------------------------------------------- */

static void hex_of(const unsigned char *md, unsigned n, char *out)
{
  static const char hx[] = "0123456789abcdef";
  for(unsigned i = 0; i < n; i++) {
    out[2 * i] = hx[md[i] >> 4];
    out[2 * i + 1] = hx[md[i] & 15];
  }
  out[2 * n] = '\0';
}

/* Python's mimetypes.guess_extension for the types mail carries. */
static const char *type_extension(const char *ct)
{
  static const char *const map[][2] = {
    { "text/plain", ".txt" }, { "text/html", ".html" }, { "text/csv", ".csv" },
    { "text/calendar", ".ics" }, { "text/xml", ".xml" },
    { "image/png", ".png" }, { "image/jpeg", ".jpg" }, { "image/gif", ".gif" },
    { "image/bmp", ".bmp" }, { "image/tiff", ".tiff" }, { "image/svg+xml", ".svg" },
    { "image/webp", ".webp" }, { "application/pdf", ".pdf" },
    { "application/zip", ".zip" }, { "application/gzip", ".gz" },
    { "application/json", ".json" }, { "application/msword", ".doc" },
    { "application/vnd.ms-excel", ".xls" },
    { "application/vnd.ms-powerpoint", ".ppt" },
    { "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx" },
    { "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx" },
    { "application/javascript", ".js" }, { "application/octet-stream", ".bin" },
    { "application/x-tar", ".tar" }, { "audio/mpeg", ".mp3" },
    { "video/mp4", ".mp4" }, { "message/rfc822", ".eml" },
  };
  for(size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if(!strcmp(ct, map[i][0]))
      return map[i][1];
  return ".bin";
}

/* The "contains" of a vault file: Python's extension map and the libmagic
 * types it tests, found here from the first bytes. */
static cJSON *file_contains(const char *name, const unsigned char *d,
                            size_t len)
{
  static const struct { const char *ext; const char *c1, *c2; } exts[] = {
    { ".vmsn", "os memory dump", "vm snapshot file" },
    { ".vmss", "os memory dump", "vm suspend file" },
    { ".js", "javascript", NULL }, { ".doc", "doc", NULL },
    { ".docx", "doc", NULL }, { ".xls", "xls", NULL }, { ".xlsx", "xls", NULL },
  };
  cJSON *a = cJSON_CreateArray();
  const char *dot = strrchr(name, '.');

  if(!a)
    return NULL;
  for(size_t i = 0; dot && i < sizeof(exts) / sizeof(exts[0]); i++)
    if(!strcasecmp(dot, exts[i].ext)) {
      cJSON_AddItemToArray(a, cJSON_CreateString(exts[i].c1));
      if(exts[i].c2)
        cJSON_AddItemToArray(a, cJSON_CreateString(exts[i].c2));
    }
  if(len >= 2 && d[0] == 'M' && d[1] == 'Z') {
    cJSON_AddItemToArray(a, cJSON_CreateString("pe file"));
    cJSON_AddItemToArray(a, cJSON_CreateString("hash"));
  }
  else if(len >= 5 && !memcmp(d, "%PDF-", 5))
    cJSON_AddItemToArray(a, cJSON_CreateString("pdf"));
  else if(len >= 4 && !memcmp(d, "MDMP", 4))
    cJSON_AddItemToArray(a, cJSON_CreateString("process dump"));
  else if(len >= 3 && (!memcmp(d, "FWS", 3) || !memcmp(d, "CWS", 3) ||
                       !memcmp(d, "ZWS", 3)))
    cJSON_AddItemToArray(a, cJSON_CreateString("flash"));
  return a;
}

/* The vault file name: the part's (decoded) name, else part_<N> or its
 * Content-ID, plus an extension from the type; control characters become
 * '_', blanks around are trimmed. */
static char *attachment_name(const struct mime_part *p, unsigned nth)
{
  struct buf b;
  buf_init(&b, 64 * 1024);

  if(p->filename && *p->filename)
    buf_puts(&b, p->filename);
  else {
    const char *cid = mime_header_get(p, "Content-ID");
    if(cid && *cid) {
      for(const char *c = cid; *c; c++)
        if(*c != '<' && *c != '>' && *c != ' ')
          buf_putc(&b, *c);
    }
    else
      buf_printf(&b, "part_%u", p->index);
    buf_puts(&b, type_extension(p->content_type));
  }
  char *s = buf_steal(&b);
  buf_free(&b);
  if(!s)
    return NULL;
  for(char *c = s; *c; c++)
    if((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '_';
  size_t n = strlen(s), st = 0;
  while(st < n && (s[st] == ' ' || s[st] == '\t'))
    st++;
  while(n > st && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  memmove(s, s + st, n - st);
  s[n - st] = '\0';
  if(!*s) {
    free(s);
    if(asprintf(&s, "attachment-%u", nth) < 0)
      return NULL;
  }
  return s;
}

/* What handle_attachment needs of an attachment's bytes. */
struct att_sum {
  char md5[33], sha1[41], sha256[65];
  size_t len;
  unsigned char head[8];      /* the first bytes, for file_contains */
  unsigned flags;             /* MIME_DATA_TRUNCATED */
};

/* An attachment's bytes, a buffer at a time, into the three hashes and,
 * with a vault, a temporary file renamed to its SHA1 at the end.  Base64
 * (nearly every attachment) is decoded a buffer at a time, so it is never
 * held whole (a 64 MB message's attachment took 48 MB more) and the hashes
 * read bytes still in the cache; the rarer encodings are decoded whole
 * first and then taken the same way.  Returns 0, -1 out of memory (or a
 * hash failed), -2 vault write error (message in x->err). */
static int attachment_sum(struct ctx *x, const struct mime_part *p,
                          struct att_sum *a)
{
  static const char *const names[3] = { "MD5", "SHA1", "SHA256" };
  char *hex[3] = { a->md5, a->sha1, a->sha256 };
  unsigned char buf[64 * 1024];
  EVP_MD_CTX *c[3] = { NULL, NULL, NULL };
  struct base64_stream st;
  struct mime_data d;
  bool b64 = p->encoding == MIME_ENC_BASE64;
  size_t max = mime_message_limits(x->msg)->max_decoded_bytes, off = 0;
  struct util_atomic tmp = { .fd = -1 };
  bool vault_open = false;
  int rc = -1;

  memset(&d, 0, sizeof(d));
  if(b64)
    base64_stream_init(&st, p->body, p->body_len);
  else if(mime_part_decode(x->msg, p, &d))
    return -1;
  else
    a->flags = d.flags;       /* the decoder applied the limit itself */
  for(int k = 0; k < 3; k++)
    if(!(c[k] = EVP_MD_CTX_new()) ||
       !EVP_DigestInit_ex(c[k], EVP_get_digestbyname(names[k]), NULL))
      goto out;
  for(;;) {
    const unsigned char *chunk = buf;
    size_t n;
    if(b64)
      n = base64_stream_next(&st, buf, sizeof(buf));
    else {
      n = d.len - off < sizeof(buf) ? d.len - off : sizeof(buf);
      chunk = (const unsigned char *)d.data + off;
      off += n;
    }
    if(!n)
      break;
    if(max && a->len + n > max) {
      n = max - a->len;
      a->flags |= MIME_DATA_TRUNCATED;
    }
    if(!a->len)
      memcpy(a->head, chunk, n < sizeof(a->head) ? n : sizeof(a->head));
    for(int k = 0; k < 3; k++)
      if(!EVP_DigestUpdate(c[k], chunk, n))
        goto out;
    if(x->o->vault_dir && n) {
      /* named for its SHA1 only at the end: opened under a stand-in */
      if(!vault_open) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/attachment", x->o->vault_dir);
        if(util_atomic_open(&tmp, path, 0644, NULL, 0)) {
          snprintf(x->err, x->errlen, "cannot write vault file %s: %s",
                   path, strerror(errno));
          rc = -2;
          goto out;
        }
        vault_open = true;
      }
      if(util_write_all(tmp.fd, chunk, n)) {
        snprintf(x->err, x->errlen, "cannot write vault file %s: %s",
                 tmp.tmp, strerror(errno));
        rc = -2;
        goto out;
      }
    }
    a->len += n;
    if(a->flags & MIME_DATA_TRUNCATED)
      break;
  }
  for(int k = 0; k < 3; k++) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    if(!EVP_DigestFinal_ex(c[k], md, &ml))
      goto out;
    hex_of(md, ml, hex[k]);
  }
  if(vault_open) {
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/%s", x->o->vault_dir, a->sha1);
    /* the same bytes there already: the abort below removes ours */
    if(stat(path, &sb) != 0 &&
       util_atomic_commit(&tmp, path, UTIL_ATOMIC_NO_DIRSYNC, NULL, 0)) {
      snprintf(x->err, x->errlen, "cannot write vault file %s: %s", path,
               strerror(errno));
      rc = -2;
      goto out;
    }
  }
  rc = 0;
out:
  util_atomic_abort(&tmp);
  for(int k = 0; k < 3; k++)
    EVP_MD_CTX_free(c[k]);
  mime_data_free(&d);
  return rc;
}

static int handle_attachment(struct ctx *x, const struct mime_part *p)
{
  struct att_sum a;
  const char *md5 = a.md5, *sha1 = a.sha1, *sha256 = a.sha256;
  int rc = -1;

  if(!x->o->extract_attachments)
    return 0;
  unsigned maxa = x->o->max_attachments ? x->o->max_attachments
                                        : SOAR_DEFAULT_MAX_ATTACHMENTS;
  if(x->attachments >= maxa) {
    note(&x->notes, "more than %u attachments: the rest were not extracted", maxa);
    return 0;
  }
  memset(&a, 0, sizeof(a));
  if((rc = attachment_sum(x, p, &a)) != 0)
    return rc;
  rc = -1;
  if(a.flags & MIME_DATA_TRUNCATED)
    note(&x->notes, "attachment in part %u cut at %zu decoded bytes",
         p->index, a.len);
  if(!a.len)
    return 0;
  x->attachments++;
  struct fields fs;
  bool oom = false;
  if(fields_parse(p->header_raw, p->header_raw_len, x->latin1, false, &fs)) {
    fields_free(&fs);
    goto done;
  }
  cJSON *headers = headers_dict(&fs, &oom);
  fields_free(&fs);
  if(oom)
    goto done;
  char *name = attachment_name(p, cJSON_GetArraySize(x->vault_arts) + 1);
  cJSON *cef = cJSON_CreateObject(), *art = cJSON_CreateObject();
  cJSON *contains = name ? file_contains(name, a.head, a.len) : NULL;
  if(!name || !cef || !art || !contains) {
    free(name);
    cJSON_Delete(cef);
    cJSON_Delete(art);
    cJSON_Delete(contains);
    cJSON_Delete(headers);
    goto done;
  }
  if(headers)
    cJSON_AddItemToObject(cef, "headers", headers);
  cJSON_AddStringToObject(cef, "fileName", name);
  cJSON_AddStringToObject(cef, "vaultId", sha1);
  cJSON_AddStringToObject(cef, "cs6", sha1);
  cJSON_AddStringToObject(cef, "cs6Label", "Vault ID");
  cJSON_AddStringToObject(cef, "fileHashSha256", sha256);
  cJSON_AddStringToObject(cef, "fileHashMd5", md5);
  cJSON_AddStringToObject(cef, "fileHashSha1", sha1);
  free(name);
  cJSON_AddFalseToObject(art, "run_automation");
  if(x->o->container_id >= 0)
    cJSON_AddNumberToObject(art, "container_id", (double)x->o->container_id);
  else
    cJSON_AddNullToObject(art, "container_id");
  cJSON_AddStringToObject(art, "name", "Vault Artifact");
  cJSON_AddItemToObject(art, "cef", cef);
  if(cJSON_GetArraySize(contains)) {
    cJSON *types = cJSON_AddObjectToObject(art, "cef_types");
    cJSON_AddItemToObject(types, "vaultId", cJSON_Duplicate(contains, 1));
    cJSON_AddItemToObject(types, "cs6", contains);
  }
  else
    cJSON_Delete(contains);
  cJSON_AddItemToArray(x->vault_arts, art);
  rc = 0;
done:
  return rc;
}

/* ---- 4. bodies --------------------------------------------------------- */

/* A forwarded block: the header fields after the first line that says
 * "forwarded message" or "original message"; with no such line, fields at
 * the very start of the body (what the Python connector looks at). */
static int forwarded(struct ctx *x, const char *t, size_t len)
{
  const char *end = t + len, *start = t, *best = NULL;
  static const char *const anchors[] = { "essage", "ESSAGE" };

  /* Find "essage" fast, then look at what precedes it. */
  for(int a = 0; a < 2; a++) {
    const char *p = t;
    while((p = memmem(p, (size_t)(end - p), anchors[a], 6))) {
      if(best && p >= best)
        break;
      if((p - t >= 11 && !strncasecmp(p - 11, "forwarded m", 11)) ||
         (p - t >= 10 && !strncasecmp(p - 10, "original m", 10))) {
        best = p;
        break;
      }
      p += 6;
    }
  }
  if(best)
    start = line_end(best, end);
  while(start < end && (*start == ' ' || *start == '\t' || *start == '\r' ||
                        *start == '\n'))
    start++;
  struct fields fs;
  if(fields_parse(start, (size_t)(end - start), false, false, &fs)) {
    fields_free(&fs);
    return -1;
  }
  int rc = email_artifact(x, &fs, true, x->forward_arts);
  fields_free(&fs);
  return rc;
}

static int handle_body(struct ctx *x, const struct mime_part *p)
{
  struct mime_data d;
  int rc = 0;

  if(mime_part_text(x->msg, p, &d))
    return -1;
  if(d.flags & MIME_DATA_TRUNCATED)
    note(&x->notes, "body in part %u cut at %zu bytes", p->index, d.len);
  if(d.len) {
    if(!strcmp(p->content_type, "text/html"))
      rc = ioc_scan_html(x->iocs, &x->iopts, d.data, d.len, &x->html_text);
    else {
      x->has_text_body = true;
      rc = ioc_scan_text(x->iocs, &x->iopts, d.data, d.len);
      if(!rc)
        rc = forwarded(x, d.data, d.len);
    }
  }
  mime_data_free(&d);
  return rc;
}

/* ---- 5. the walk and the artifact list --------------------------------- */

/* The IOC Artifacts, in this order of kinds. */
static const struct {
  enum ioc_kind k;
  const char *name, *key;     /* plain ASCII: printed without escaping */
} ioc_kinds[] = {
  { IOC_IP, "IP Artifact", "sourceAddress" },
  { IOC_HASH, "Hash Artifact", "fileHash" },
  { IOC_URL, "URL Artifact", "requestURL" },
  { IOC_DOMAIN, "Domain Artifact", "destinationDnsDomain" },
};
#define N_IOC_KINDS (sizeof(ioc_kinds) / sizeof(ioc_kinds[0]))

/* How many values of the k-th kind r holds (r may be NULL). */
static size_t ioc_n(const struct ioc_result *r, size_t k)
{
  return r ? ioc_count(r, ioc_kinds[k].k) : 0;
}

static size_t ioc_arts_count(const struct ioc_result *r)
{
  size_t n = 0;

  for(size_t k = 0; k < N_IOC_KINDS; k++)
    n += ioc_n(r, k);
  return n;
}

/* Append a string literal (its length known when compiled). */
#define PUT_LIT(b, s) buf_append((b), (s), sizeof(s) - 1)

/* The source_data_identifier of an IOC Artifact: the md5 of
 *   {"cef": {"<key>": "<value>"}, "name": "<name>", "run_automation": false}
 * (json.dumps with sorted keys, what set_sdi computes from a tree).  tmp
 * is scratch space, reused from one artifact to the next.  The value,
 * JSON-escaped, is left in tmp at [*vpos, *vpos + *vlen) for the caller to
 * print, so it is escaped once. */
static int ioc_art_sdi(struct buf *tmp, size_t k, const char *v,
                       char hex[33], size_t *vpos, size_t *vlen)
{
  buf_reset(tmp);
  if(PUT_LIT(tmp, "{\"cef\": {\"") || buf_puts(tmp, ioc_kinds[k].key) ||
     PUT_LIT(tmp, "\": \""))
    return -1;
  *vpos = tmp->len;
  if(util_json_escape(tmp, v, strlen(v)))
    return -1;
  *vlen = tmp->len - *vpos;
  if(PUT_LIT(tmp, "\"}, \"name\": \"") || buf_puts(tmp, ioc_kinds[k].name) ||
     PUT_LIT(tmp, "\", \"run_automation\": false}"))
    return -1;
  pyjson_md5_hex(tmp->data, tmp->len, hex);
  return 0;
}

/* Print c's IOC Artifacts into b as json.dumps prints their trees (keys in
 * insertion order), each preceded by ", " but the first when *first.  They
 * are most of a container's artifacts (hundreds in a mail full of links),
 * hence the care to copy each piece once. */
static int ioc_arts_dump(struct buf *b, const struct soar_container *c,
                         bool *first)
{
  struct buf tmp;
  char hex[33];
  int rc = 0;
  size_t left = ioc_arts_count(c->iocs), vpos = 0, vlen = 0;

  buf_init(&tmp, 6 * IOC_MAX_VALUE + 256);
  for(size_t k = 0; k < N_IOC_KINDS && !rc; k++)
    for(size_t i = 0; i < ioc_n(c->iocs, k) && !rc; i++) {
      const char *v = ioc_get(c->iocs, ioc_kinds[k].k, i);
      bool runs = --left == 0 && c->ioc_last_runs;
      rc = ioc_art_sdi(&tmp, k, v, hex, &vpos, &vlen) ||
           (*first ? PUT_LIT(b, "{\"run_automation\": ")
                   : PUT_LIT(b, ", {\"run_automation\": ")) ||
           (runs ? PUT_LIT(b, "true, \"cef\": {\"")
                 : PUT_LIT(b, "false, \"cef\": {\"")) ||
           buf_puts(b, ioc_kinds[k].key) || PUT_LIT(b, "\": \"") ||
           buf_append(b, tmp.data + vpos, vlen) ||
           PUT_LIT(b, "\"}, \"name\": \"") || buf_puts(b, ioc_kinds[k].name) ||
           PUT_LIT(b, "\", \"source_data_identifier\": \"") ||
           buf_append(b, hex, 32) || PUT_LIT(b, "\"}");
      *first = false;
    }
  buf_free(&tmp);
  return rc ? -1 : 0;
}

static cJSON *ioc_artifact(const char *name, const char *key, const char *v)
{
  cJSON *a = cJSON_CreateObject();
  if(!a)
    return NULL;
  cJSON_AddFalseToObject(a, "run_automation");
  cJSON_AddItemToObject(a, "cef", cJSON_CreateObject());
  cJSON_AddStringToObject(cJSON_GetObjectItem(a, "cef"), key, v);
  cJSON_AddStringToObject(a, "name", name);
  return a;
}

/* Set source_data_identifier = md5(json.dumps(artifact, sort_keys=True))
 * (computed without the key itself). */
static int set_sdi(cJSON *art)
{
  char hex[33];

  cJSON_DeleteItemFromObjectCaseSensitive(art, "source_data_identifier");
  if(pyjson_md5(art, hex))
    return -1;
  cJSON_AddStringToObject(art, "source_data_identifier", hex);
  return 0;
}

static void move_all(cJSON *from, cJSON *to)
{
  cJSON *c;
  while((c = cJSON_DetachItemFromArray(from, 0)))
    cJSON_AddItemToArray(to, c);
}

void soar_parse_init(void)
{
  char hex[33];

  ioc_init();
  base64_init();
  pyjson_md5_hex("", 0, hex);       /* fetches MD5 */
}

int soar_email_process(const char *raw, size_t len,
                       const struct soar_email_opts *o,
                       struct soar_container *c, char *err, size_t errlen)
{
  struct ctx x;
  const char *merr = NULL;
  int rc = -1;

  memset(c, 0, sizeof(*c));
  memset(&x, 0, sizeof(x));
  x.o = o;
  x.err = err;
  x.errlen = errlen;
  x.iopts = (struct ioc_opts){ o->extract_ips, o->extract_hashes,
                               o->extract_urls, o->extract_domains };
  buf_init(&x.html_text, 16u * 1024 * 1024);
  snprintf(err, errlen, "out of memory");

  size_t maxm = o->max_message ? o->max_message : SOAR_DEFAULT_MAX_MESSAGE;
  if(len > maxm) {
    note(&x.notes, "message is %zu bytes, over the limit of %zu: only the "
         "first %zu bytes were parsed", len, maxm, maxm);
    len = maxm;
  }
  c->raw = raw;
  c->raw_len = len;
  c->raw_latin1 = x.latin1 = !utf8_valid((const unsigned char *)raw, len);
  if(o->folder_hash)
    snprintf(c->sdi, sizeof(c->sdi), "%.128s : %.24s", o->folder_hash, o->uid);
  else
    soar_sdi(o->folder, o->uid, c->sdi, sizeof(c->sdi));

  if(!(x.iocs = ioc_result_new()) || !(x.email_arts = cJSON_CreateArray()) ||
     !(x.forward_arts = cJSON_CreateArray()) ||
     !(x.vault_arts = cJSON_CreateArray()) ||
     !(c->artifacts = cJSON_CreateArray()))
    goto done;
  if(mime_parse(raw, len, &o->limits, &x.msg, &merr))
    goto done;

  const struct mime_part *root = mime_message_root(x.msg);
  for(const struct mime_part *p = root; p; p = mime_part_next(p)) {
    struct fields fs;
    if(fields_parse(p->header_raw, p->header_raw_len, x.latin1,
                    p == root, &fs) ||
       email_artifact(&x, &fs, p == root, x.email_arts)) {
      fields_free(&fs);
      goto done;
    }
    if(p == root) {
      const char *subj = NULL;
      for(size_t i = 0; i < fs.n && !subj; i++)  /* mail.get: the first */
        if(fs.f[i].name_len == 7 && !strncasecmp(fs.f[i].name, "subject", 7))
          subj = fs.f[i].value;
      if(subj && *subj)
        c->name = py_make_header(subj);
      else if(asprintf(&c->name, "Email ID: %s", o->uid) < 0)
        c->name = NULL;
      if(!c->name) {
        fields_free(&fs);
        goto done;
      }
    }
    fields_free(&fs);
    if(p->flags & MIME_PART_OVERFLOW)
      note(&x.notes, "part %u: %s", p->index, p->reason ? p->reason : "limit");
    if(!mime_part_is_leaf(p))
      continue;
    int r = mime_part_is_body(p) ? handle_body(&x, p) : handle_attachment(&x, p);
    if(r == -2) {
      rc = -1;
      goto done_keep_err;
    }
    if(r)
      goto done;
  }
  if(!x.has_text_body && x.html_text.len &&
     forwarded(&x, x.html_text.data, x.html_text.len))
    goto done;
  if(ioc_dropped(x.iocs))
    note(&x.notes, "%zu indicators over the limit of %d per kind were dropped",
         ioc_dropped(x.iocs), IOC_MAX_PER_KIND);

  /* The IOC Artifacts stay in x.iocs (see container.h). */
  c->iocs = x.iocs;
  x.iocs = NULL;
  move_all(x.email_arts, c->artifacts);
  move_all(x.forward_arts, c->artifacts);
  if(x.notes.n) {
    struct buf b;
    buf_init(&b, 64 * 1024);
    for(unsigned i = 0; i < x.notes.n; i++)
      buf_printf(&b, "%s%s", i ? "; " : "", x.notes.v[i]);
    cJSON *a = ioc_artifact("Email Limits Artifact", "emailLimits",
                            b.data ? b.data : "");
    buf_free(&b);
    if(!a)
      goto done;
    cJSON_AddItemToArray(c->artifacts, a);
    c->limited = true;
  }
  cJSON *it;
  cJSON_ArrayForEach(it, c->artifacts)
    if(set_sdi(it))
      goto done;
  int n = cJSON_GetArraySize(c->artifacts);
  int nv = cJSON_GetArraySize(x.vault_arts);
  if(n && !nv)
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(c->artifacts, n - 1),
                                           "run_automation", cJSON_CreateTrue());
  else if(!nv && ioc_arts_count(c->iocs))
    c->ioc_last_runs = true;
  /* Vault Artifacts: the same artifact twice (same name, same part headers,
   * same bytes) is kept once; the last one triggers automation. */
  for(int i = 0; i < nv; i++) {
    cJSON *a = cJSON_GetArrayItem(x.vault_arts, i);
    if(i == nv - 1)
      cJSON_ReplaceItemInObjectCaseSensitive(a, "run_automation", cJSON_CreateTrue());
    if(set_sdi(a))
      goto done;
  }
  for(int i = 0; i < nv; i++) {
    cJSON *a = cJSON_GetArrayItem(x.vault_arts, i);
    const char *sdi = cJSON_GetStringValue(cJSON_GetObjectItem(a, "source_data_identifier"));
    bool dup = false;
    for(int j = i + 1; j < nv && !dup; j++) {
      cJSON *b2 = cJSON_GetArrayItem(x.vault_arts, j);
      cJSON *tmp = cJSON_Duplicate(b2, 1);
      if(!tmp)
        goto done;
      cJSON_ReplaceItemInObjectCaseSensitive(tmp, "run_automation", cJSON_CreateFalse());
      char hex[33];
      cJSON_DeleteItemFromObjectCaseSensitive(tmp, "source_data_identifier");
      if(pyjson_md5(tmp, hex)) {
        cJSON_Delete(tmp);
        goto done;
      }
      dup = !strcmp(hex, sdi);
      cJSON_Delete(tmp);
    }
    if(dup) {
      cJSON_DeleteItemFromArray(x.vault_arts, i);
      i--;
      nv--;
    }
  }
  c->nvault = (unsigned)nv;
  move_all(x.vault_arts, c->artifacts);
  rc = 0;
done:
  if(rc)
    snprintf(err, errlen, "%s", merr ? merr : "out of memory");
done_keep_err:
  for(unsigned i = 0; i < x.notes.n; i++)
    free(x.notes.v[i]);
  mime_message_free(&x.msg);
  ioc_result_free(x.iocs);
  cJSON_Delete(x.email_arts);
  cJSON_Delete(x.forward_arts);
  cJSON_Delete(x.vault_arts);
  buf_free(&x.html_text);
  if(rc)
    soar_container_free(c);
  return rc;
}

void soar_container_free(struct soar_container *c)
{
  free(c->name);
  ioc_result_free(c->iocs);
  cJSON_Delete(c->artifacts);
  memset(c, 0, sizeof(*c));
}

/* ---- 6. printing ------------------------------------------------------- */

#define RAW_CHUNK (256 * 1024)

/* Bytes printed as they are inside a JSON string (Python's ensure_ascii). */
static bool json_plain(unsigned char c)
{
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* The length of the run of plain bytes (json_plain) at s[0..len).  Raw
 * email is mostly such runs (a base64 line is 76 of them), so on x86-64
 * sixteen bytes are looked at per step. */
static size_t plain_run(const unsigned char *s, size_t len)
{
  size_t i = 0;

#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                del = _mm_set1_epi8(0x7f), space = _mm_set1_epi8(0x20);
  while(i + 16 <= len) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    /* signed: bytes >= 0x80 are negative, so below 0x20 too */
    __m128i bad = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
      _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmplt_epi8(v, space)));
    unsigned m = (unsigned)_mm_movemask_epi8(bad);
    if(m)
      return i + (size_t)__builtin_ctz(m);
    i += 16;
  }
#endif
  while(i < len && json_plain(s[i]))
    i++;
  return i;
}

/* Print raw[0..len) as the inside of a JSON string, the way json.dumps
 * would: runs of plain bytes are copied with memcpy, the rest escaped. */
static int write_raw(FILE *f, const char *raw, size_t len, bool latin1)
{
  struct buf b;
  const unsigned char *s = (const unsigned char *)raw;
  int rc = 0;

  buf_init(&b, 2 * RAW_CHUNK + 64);
  for(size_t i = 0; i < len && !rc;) {
    size_t j = i + plain_run(s + i, len - i < RAW_CHUNK ? len - i : RAW_CHUNK);
    if(j > i)
      rc = buf_append(&b, s + i, j - i);
    i = j;
    if(i < len && !rc) {
      if(s[i] == '\r' || s[i] == '\n') {
        rc = buf_append(&b, s[i] == '\r' ? "\\r" : "\\n", 2);
        i++;
      }
      else if(s[i] < 0x80 || latin1) {
        char tmp[4] = { (char)(0xc0 | (s[i] >> 6)), (char)(0x80 | (s[i] & 0x3f)) };
        rc = (s[i] < 0x80) ? util_json_escape(&b, raw + i, 1)
                           : util_json_escape(&b, tmp, 2);
        i++;
      }
      else {
        size_t used;
        if(util_utf8_decode(s + i, len - i, &used) < 0)
          used = 1;
        rc = util_json_escape(&b, raw + i, used);
        i += used;
      }
    }
    if(!rc && (b.len >= RAW_CHUNK || i >= len)) {
      if(fwrite(b.data, 1, b.len, f) != b.len)
        rc = -1;
      buf_reset(&b);
    }
  }
  buf_free(&b);
  return rc ? -1 : 0;
}

/* The artifacts array as pyjson_dump would print it. */
static int artifacts_dump(struct buf *b, const struct soar_container *c)
{
  bool first = true;

  if(buf_putc(b, '[') || ioc_arts_dump(b, c, &first))
    return -1;
  for(const cJSON *a = c->artifacts ? c->artifacts->child : NULL; a; a = a->next) {
    if((!first && buf_puts(b, ", ")) || pyjson_dump(b, a, false))
      return -1;
    first = false;
  }
  return buf_putc(b, ']');
}

size_t soar_container_count(const struct soar_container *c)
{
  return ioc_arts_count(c->iocs) + (size_t)cJSON_GetArraySize(c->artifacts);
}

cJSON *soar_container_artifacts(const struct soar_container *c)
{
  cJSON *all = cJSON_CreateArray();
  struct buf tmp;
  char hex[33];
  size_t left = ioc_arts_count(c->iocs), vpos, vlen;
  bool oom = !all;

  buf_init(&tmp, 6 * IOC_MAX_VALUE + 256);
  for(size_t k = 0; k < N_IOC_KINDS && !oom; k++)
    for(size_t i = 0; i < ioc_n(c->iocs, k) && !oom; i++) {
      const char *v = ioc_get(c->iocs, ioc_kinds[k].k, i);
      cJSON *a = ioc_artifact(ioc_kinds[k].name, ioc_kinds[k].key, v);
      oom = !a || ioc_art_sdi(&tmp, k, v, hex, &vpos, &vlen) ||
            !cJSON_AddStringToObject(a, "source_data_identifier", hex);
      if(a && --left == 0 && c->ioc_last_runs)
        cJSON_ReplaceItemInObjectCaseSensitive(a, "run_automation",
                                               cJSON_CreateTrue());
      if(a)
        cJSON_AddItemToArray(all, a);
    }
  buf_free(&tmp);
  for(const cJSON *a = c->artifacts ? c->artifacts->child : NULL; a && !oom;
      a = a->next) {
    cJSON *d = cJSON_Duplicate(a, 1);
    oom = !d;
    if(d)
      cJSON_AddItemToArray(all, d);
  }
  if(oom) {
    cJSON_Delete(all);
    return NULL;
  }
  return all;
}

int soar_container_write(FILE *f, const struct soar_container *c,
                         long long id)
{
  struct buf b;
  int rc;

  buf_init(&b, (size_t)1 << 30);
  buf_putc(&b, '{');
  if(id >= 0)
    buf_printf(&b, "\"id\": %lld, ", id);
  buf_puts(&b, "\"name\": \"");
  util_json_escape(&b, c->name, strlen(c->name));
  buf_puts(&b, "\", \"source_data_identifier\": \"");
  util_json_escape(&b, c->sdi, strlen(c->sdi));
  buf_puts(&b, "\", \"run_automation\": false, \"artifacts\": ");
  rc = artifacts_dump(&b, c) ||
       buf_puts(&b, ", \"data\": {\"raw_email\": \"");
  if(!rc && fwrite(b.data, 1, b.len, f) != b.len)
    rc = -1;
  buf_free(&b);
  if(!rc)
    rc = write_raw(f, c->raw, c->raw_len, c->raw_latin1);
  if(!rc && fputs("\"}}\n", f) == EOF)
    rc = -1;
  return rc ? -1 : 0;
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
