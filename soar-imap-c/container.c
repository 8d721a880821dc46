/*
 * container: see container.h for what is the same as the Python connector
 * and what is better.  This file walks one message and prints the result;
 * header fields and Email Artifacts are in container_headers.c,
 * attachments and the vault in container_attach.c (container_private.h says
 * what they share).  Section by section:
 *   4. bodies: IOCs and forwarded blocks
 *   5. the walk and the final artifact list
 *   6. printing
 */
#include "container_private.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "pyjson.h"
#include "base64.h"
#include "log.h"
#include "util.h"

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

/* RFC 5322 2.2.3: a header value unfolded (its line breaks removed) and
 * trimmed, in place: a subject folded right after "Subject:" must not make
 * a container name starting with a line break or blanks. */
static void unfold_trim(char *s)
{
  size_t i, j = 0;

  for(i = 0; s[i]; i++)
    if(s[i] != '\r' && s[i] != '\n')
      s[j++] = s[i];
  while(j > 0 && (s[j - 1] == ' ' || s[j - 1] == '\t'))
    j--;
  s[j] = '\0';
  for(i = 0; s[i] == ' ' || s[i] == '\t'; i++)
    ;
  memmove(s, s + i, j - i + 1);
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
    start = ct_line_end(best, end);
  while(start < end &&
        (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n'))
    start++;
  struct fields fs;
  if(ct_fields_parse(start, (size_t)(end - start), false, false, &fs)) {
    ct_fields_free(&fs);
    return -1;
  }
  int rc = ct_email_artifact(x, &fs, true, x->forward_arts);
  ct_fields_free(&fs);
  return rc;
}

/* Scan a text body for IOCs; uuencoded blocks in it ("begin 644 name")
 * are attachments, vaulted decoded, and their encoded lines not scanned. */
static int scan_text_uu(struct ctx *x, const struct mime_part *p, const char *t,
                        size_t len)
{
  struct mime_uu_block blk;
  size_t pos = 0;
  int rc;

  while(mime_uu_find(t, len, pos, &blk)) {
    if(blk.start > pos &&
       ioc_scan_text(x->iocs, &x->iopts, t + pos, blk.start - pos))
      return -1;
    if((rc = ct_handle_uu_block(x, p, t, &blk)) != 0)
      return rc;
    pos = blk.end;
  }
  return pos < len ? ioc_scan_text(x->iocs, &x->iopts, t + pos, len - pos) : 0;
}

/* A text part: IOCs (and uuencoded blocks) of its text.  attached: it is
 * also vaulted (named, or Content-Disposition attachment), so it is not a
 * body the forwarded-block search or its HTML fallback looks at. */
static int handle_body(struct ctx *x, const struct mime_part *p, bool attached)
{
  struct mime_data d;
  int rc = 0;

  if(mime_part_text(x->msg, p, &d))
    return -1;
  if(d.flags & MIME_DATA_TRUNCATED)
    ct_note(&x->notes, "body in part %u cut at %zu bytes", p->index, d.len);
  if(d.len) {
    if(!strcmp(p->content_type, "text/html"))
      rc = ioc_scan_html(x->iocs, &x->iopts, d.data, d.len,
                         attached ? NULL : &x->html_text);
    else {
      x->has_text_body |= !attached;
      rc = scan_text_uu(x, p, d.data, d.len);
      if(!rc && !attached)
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
  const char *name, *key; /* plain ASCII: printed without escaping */
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
static int ioc_art_sdi(struct buf *tmp, size_t k, const char *v, char hex[33],
                       size_t *vpos, size_t *vlen)
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
  pyjson_md5_hex("", 0, hex); /* fetches MD5 */
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
    ct_note(&x.notes,
            "message is %zu bytes, over the limit of %zu: only the "
            "first %zu bytes were parsed",
            len, maxm, maxm);
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
     !(x.external_arts = cJSON_CreateArray()) ||
     !(x.vault_arts = cJSON_CreateArray()) ||
     !(c->artifacts = cJSON_CreateArray()))
    goto done;
  if(mime_parse(raw, len, &o->limits, &x.msg, &merr))
    goto done;

  const struct mime_part *root = mime_message_root(x.msg);
  for(const struct mime_part *p = root; p; p = mime_part_next(p)) {
    struct fields fs;
    if(ct_fields_parse(p->header_raw, p->header_raw_len, x.latin1, p == root,
                       &fs) ||
       ct_email_artifact(&x, &fs, p == root, x.email_arts)) {
      ct_fields_free(&fs);
      goto done;
    }
    if(p == root) {
      const struct field *subj = NULL;
      for(size_t i = 0; i < fs.n && !subj; i++) /* mail.get: the first */
        if(fs.f[i].name_len == 7 && !strncasecmp(fs.f[i].name, "subject", 7))
          subj = &fs.f[i];
      bool oom = false;
      if(subj && *subj->value) {
        oom = !(c->name = ct_py_make_header(subj));
        if(c->name)
          unfold_trim(c->name);
        if(c->name && !*c->name) { /* blanks only: no subject */
          free(c->name);
          c->name = NULL;
        }
      }
      if(!c->name && !oom && asprintf(&c->name, "Email ID: %s", o->uid) < 0)
        c->name = NULL;
      if(!c->name) {
        ct_fields_free(&fs);
        goto done;
      }
    }
    ct_fields_free(&fs);
    if(p->flags & MIME_PART_OVERFLOW)
      ct_note(&x.notes, "part %u: %s", p->index,
              p->reason ? p->reason : "limit");
    if(!mime_part_is_leaf(p))
      continue;
    /* Every text part is scanned, RFC 2046 4.1.4 (unknown subtypes are
     * text/plain); one that is named or an attachment is vaulted too.
     * Uuencoded parts are files whatever their label says. */
    bool text = !strncmp(p->content_type, "text/", 5) &&
                p->encoding != MIME_ENC_UUENCODE;
    bool att = mime_part_is_attachment(p);
    int r;
    if(!strcmp(p->content_type, "message/external-body"))
      r = ct_handle_external(&x, p);
    else
      r = att ? ct_handle_attachment(&x, p) : 0;
    if(!r && text)
      r = handle_body(&x, p, att);
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
    ct_note(&x.notes,
            "%zu indicators over the limit of %d per kind were dropped",
            ioc_dropped(x.iocs), IOC_MAX_PER_KIND);

  /* The IOC Artifacts stay in x.iocs (see container.h). */
  c->iocs = x.iocs;
  x.iocs = NULL;
  move_all(x.email_arts, c->artifacts);
  move_all(x.forward_arts, c->artifacts);
  move_all(x.external_arts, c->artifacts);
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
  cJSON_ArrayForEach(it, c->artifacts) if(set_sdi(it)) goto done;
  int n = cJSON_GetArraySize(c->artifacts);
  int nv = cJSON_GetArraySize(x.vault_arts);
  if(n && !nv)
    cJSON_ReplaceItemInObjectCaseSensitive(
        cJSON_GetArrayItem(c->artifacts, n - 1), "run_automation",
        cJSON_CreateTrue());
  else if(!nv && ioc_arts_count(c->iocs))
    c->ioc_last_runs = true;
  /* Vault Artifacts: the same artifact twice (same name, same part headers,
   * same bytes) is kept once; the last one triggers automation. */
  for(int i = 0; i < nv; i++) {
    cJSON *a = cJSON_GetArrayItem(x.vault_arts, i);
    if(i == nv - 1)
      cJSON_ReplaceItemInObjectCaseSensitive(a, "run_automation",
                                             cJSON_CreateTrue());
    if(set_sdi(a))
      goto done;
  }
  for(int i = 0; i < nv; i++) {
    cJSON *a = cJSON_GetArrayItem(x.vault_arts, i);
    const char *sdi =
        cJSON_GetStringValue(cJSON_GetObjectItem(a, "source_data_identifier"));
    bool dup = false;
    for(int j = i + 1; j < nv && !dup; j++) {
      cJSON *b2 = cJSON_GetArrayItem(x.vault_arts, j);
      cJSON *tmp = cJSON_Duplicate(b2, 1);
      if(!tmp)
        goto done;
      cJSON_ReplaceItemInObjectCaseSensitive(tmp, "run_automation",
                                             cJSON_CreateFalse());
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
  cJSON_Delete(x.external_arts);
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
        char tmp[4] = { (char)(0xc0 | (s[i] >> 6)),
                        (char)(0x80 | (s[i] & 0x3f)) };
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
  for(const cJSON *a = c->artifacts ? c->artifacts->child : NULL; a;
      a = a->next) {
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

int soar_container_write(FILE *f, const struct soar_container *c, long long id)
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
  rc = artifacts_dump(&b, c) || buf_puts(&b, ", \"data\": {\"raw_email\": \"");
  if(!rc && fwrite(b.data, 1, b.len, f) != b.len)
    rc = -1;
  buf_free(&b);
  if(!rc)
    rc = write_raw(f, c->raw, c->raw_len, c->raw_latin1);
  if(!rc && fputs("\"}}\n", f) == EOF)
    rc = -1;
  return rc ? -1 : 0;
}
