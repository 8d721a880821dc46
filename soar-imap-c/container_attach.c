/*
 * container_attach: an attachment's bytes decoded a buffer at a time into
 * MD5, SHA1 and SHA256 and, with a vault, into a file named by its SHA1
 * (written once per SHA1); then its Vault Artifact, as the Python
 * connector makes it.
 */
#include "container_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "base64.h"
#include "file.h"
#include "util.h"

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
    { "text/plain", ".txt" },
    { "text/html", ".html" },
    { "text/csv", ".csv" },
    { "text/calendar", ".ics" },
    { "text/xml", ".xml" },
    { "image/png", ".png" },
    { "image/jpeg", ".jpg" },
    { "image/gif", ".gif" },
    { "image/bmp", ".bmp" },
    { "image/tiff", ".tiff" },
    { "image/svg+xml", ".svg" },
    { "image/webp", ".webp" },
    { "application/pdf", ".pdf" },
    { "application/zip", ".zip" },
    { "application/gzip", ".gz" },
    { "application/json", ".json" },
    { "application/msword", ".doc" },
    { "application/vnd.ms-excel", ".xls" },
    { "application/vnd.ms-powerpoint", ".ppt" },
    { "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      ".docx" },
    { "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      ".xlsx" },
    { "application/javascript", ".js" },
    { "application/octet-stream", ".bin" },
    { "application/x-tar", ".tar" },
    { "audio/mpeg", ".mp3" },
    { "video/mp4", ".mp4" },
    { "message/rfc822", ".eml" },
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
  static const struct {
    const char *ext;
    const char *c1, *c2;
  } exts[] = {
    { ".vmsn", "os memory dump", "vm snapshot file" },
    { ".vmss", "os memory dump", "vm suspend file" },
    { ".js", "javascript", NULL },
    { ".doc", "doc", NULL },
    { ".docx", "doc", NULL },
    { ".xls", "xls", NULL },
    { ".xlsx", "xls", NULL },
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
 * Content-ID, plus an extension from the type; cut to its last path
 * component ('/' or '\\'), control characters removed, blanks around
 * trimmed. */
static char *attachment_name(const struct mime_part *p, const char *fname,
                             unsigned nth)
{
  struct buf b;
  buf_init(&b, 64 * 1024);

  if(fname && *fname)
    buf_puts(&b, fname);
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
  /* a name from the wire is a file name, not a path: its last component,
   * without control characters */
  const char *base = s;
  for(const char *c = s; *c; c++)
    if(*c == '/' || *c == '\\')
      base = c + 1;
  char *w = s;
  for(const char *c = base; *c; c++)
    if((unsigned char)*c >= 0x20 && *c != 0x7f)
      *w++ = *c;
  *w = '\0';
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
  unsigned char head[8]; /* the first bytes, for file_contains */
  unsigned flags;        /* MIME_DATA_TRUNCATED */
};

/* An attachment's bytes, a buffer at a time, into the three hashes and,
 * with a vault, a temporary file renamed to its SHA1 at the end.  Base64
 * (nearly every attachment) is decoded a buffer at a time, so it is never
 * held whole (a 64 MB message's attachment took 48 MB more) and the hashes
 * read bytes still in the cache; the rarer encodings are decoded whole
 * first and then taken the same way.  given: bytes already decoded (a
 * uuencoded block of a text body), taken instead of p's body.  Returns 0,
 * -1 out of memory (or a hash failed), -2 vault write error (message in
 * x->err). */
static int attachment_sum(struct ctx *x, const struct mime_part *p,
                          const struct mime_data *given, struct att_sum *a)
{
  static const char *const names[3] = { "MD5", "SHA1", "SHA256" };
  char *hex[3] = { a->md5, a->sha1, a->sha256 };
  unsigned char buf[64 * 1024];
  EVP_MD_CTX *c[3] = { NULL, NULL, NULL };
  struct base64_stream st;
  struct mime_data d;
  bool b64 = !given && p->encoding == MIME_ENC_BASE64;
  size_t max = mime_message_limits(x->msg)->max_decoded_bytes, off = 0;
  struct util_atomic tmp = { .fd = -1 };
  bool vault_open = false;
  int rc = -1;

  memset(&d, 0, sizeof(d));
  if(b64)
    base64_stream_init(&st, p->body, p->body_len);
  else if(given) {
    d.data = given->data; /* borrowed: not freed below */
    d.len = given->len;
    a->flags = given->flags;
  }
  else if(mime_part_decode(x->msg, p, &d))
    return -1;
  else
    a->flags = d.flags; /* the decoder applied the limit itself */
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
          snprintf(x->err, x->errlen, "cannot write vault file %s: %s", path,
                   strerror(errno));
          rc = -2;
          goto out;
        }
        vault_open = true;
      }
      if(util_write_all(tmp.fd, chunk, n)) {
        snprintf(x->err, x->errlen, "cannot write vault file %s: %s", tmp.tmp,
                 strerror(errno));
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
  if(!given)
    mime_data_free(&d);
  return rc;
}

/* The Vault Artifact of p's body, or of given (named fname) when set. */
static int vault_one(struct ctx *x, const struct mime_part *p,
                     const char *fname, const struct mime_data *given)
{
  struct att_sum a;
  const char *md5 = a.md5, *sha1 = a.sha1, *sha256 = a.sha256;
  int rc = -1;

  if(!x->o->extract_attachments)
    return 0;
  unsigned maxa = x->o->max_attachments ? x->o->max_attachments
                                        : SOAR_DEFAULT_MAX_ATTACHMENTS;
  if(x->attachments >= maxa) {
    ct_note(&x->notes, "more than %u attachments: the rest were not extracted",
            maxa);
    return 0;
  }
  memset(&a, 0, sizeof(a));
  if((rc = attachment_sum(x, p, given, &a)) != 0)
    return rc;
  rc = -1;
  if(a.flags & MIME_DATA_TRUNCATED)
    ct_note(&x->notes, "attachment in part %u cut at %zu decoded bytes",
            p->index, a.len);
  if(!a.len)
    return 0;
  x->attachments++;
  /* a block inside a body has no header block of its own */
  cJSON *headers = NULL;
  if(!given) {
    struct fields fs;
    bool oom = false;
    if(ct_fields_parse(p->header_raw, p->header_raw_len, x->latin1, false,
                       &fs)) {
      ct_fields_free(&fs);
      goto done;
    }
    headers = ct_headers_dict(&fs, &oom);
    ct_fields_free(&fs);
    if(oom)
      goto done;
  }
  char *name = attachment_name(p, fname, cJSON_GetArraySize(x->vault_arts) + 1);
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

int ct_handle_attachment(struct ctx *x, const struct mime_part *p)
{
  return vault_one(x, p, p->filename, NULL);
}

int ct_handle_uu_block(struct ctx *x, const struct mime_part *p,
                       const char *text, const struct mime_uu_block *blk)
{
  struct mime_data d;
  size_t max = mime_message_limits(x->msg)->max_decoded_bytes;
  int rc;

  if(!x->o->extract_attachments)
    return 0;
  if(mime_uu_block_decode(text, blk, max, &d))
    return -1;
  rc = vault_one(x, p, blk->name, &d);
  mime_data_free(&d);
  return rc;
}

int ct_handle_external(struct ctx *x, const struct mime_part *p)
{
  static const char *const keys[][2] = {
    { "access-type", "externalAccessType" },
    { "name", "externalName" },
    { "site", "externalSite" },
    { "directory", "externalDirectory" },
    { "server", "externalServer" },
    { "url", "requestURL" },
  };
  cJSON *art = cJSON_CreateObject(), *cef = cJSON_CreateObject();
  const char *url = mime_part_ct_param(p, "url");

  if(!art || !cef) {
    cJSON_Delete(art);
    cJSON_Delete(cef);
    return -1;
  }
  for(size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    const char *v = mime_part_ct_param(p, keys[i][0]);
    if(v && *v)
      cJSON_AddStringToObject(cef, keys[i][1], v);
  }
  cJSON_AddFalseToObject(art, "run_automation");
  cJSON_AddItemToObject(art, "cef", cef);
  cJSON_AddStringToObject(art, "name", "External Body Artifact");
  cJSON_AddItemToArray(x->external_arts, art);
  /* RFC 2017: the URL is a link like any other in the mail */
  if(url && *url && ioc_scan_text(x->iocs, &x->iopts, url, strlen(url)))
    return -1;
  return 0;
}
