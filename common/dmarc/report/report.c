/*
 * DMARC aggregate report parser: expat callbacks build a small tree for one
 * top-level element of <feedback> at a time (a record, the metadata, ...);
 * when it ends report_render.c renders it and the tree memory is reused, so
 * memory depends on the largest record, not on the report.  Also the
 * parser's lifecycle, the report header assembled at the end, and the
 * report's accessors; the events are report_emit.c's.
 */
#include "report_private.h"

#include <errno.h>
#include <expat.h>
#include <iconv.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buf.h"

#define MAX_CHILDREN 1000 /* per element: keeps sibling grouping cheap */
#define MAX_ATTRS    16   /* per element */

void dmarc_limits_default(struct dmarc_limits *lim)
{
  lim->max_depth = 32;
  lim->max_records = 1000000;
  lim->max_text = 65536;
  lim->max_element_bytes = 1u << 20;
}

/* ---- tree of one top-level element ------------------------------------ */

static void *arena_alloc(struct arena *a, size_t n)
{
  n = (n + 7) & ~(size_t)7;
  if(a->used + n > a->cap) {
    /* Blocks are never moved (nodes point into them), so grow by chaining
     * would be needed; instead the arena is one block of max bytes,
     * allocated once: a record never needs more than max_element_bytes. */
    return NULL;
  }
  void *p = a->mem + a->used;
  a->used += n;
  return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
  char *p = arena_alloc(a, n + 1);
  if(p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

/* ---- parser -------------------------------------------------------------- */

static void stop(struct dmarc_parser *p, enum dmarc_verdict v, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));

static void stop(struct dmarc_parser *p, enum dmarc_verdict v, const char *fmt,
                 ...)
{
  va_list ap;

  if(p->verdict != DMARC_OK)
    return;
  p->verdict = v;
  va_start(ap, fmt);
  vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
  va_end(ap);
  XML_StopParser(p->xp, XML_FALSE);
}

/* Elements are matched by local name: "dmarc:record" and "record" in any
 * namespace are the same.  (Expat's namespace processing would do this too,
 * at a third of the parse time on big reports, to no use here.) */
static const char *local_name(const XML_Char *name)
{
  const char *sep = strrchr(name, ':');
  return sep ? sep + 1 : name;
}

static int is_xmlns(const XML_Char *name)
{
  return !strncmp(name, "xmlns", 5) && (name[5] == '\0' || name[5] == ':');
}

static enum part part_of(const char *name)
{
  if(!strcmp(name, "record"))
    return PART_RECORD;
  if(!strcmp(name, "report_metadata"))
    return PART_METADATA;
  if(!strcmp(name, "policy_published"))
    return PART_POLICY;
  if(!strcmp(name, "version"))
    return PART_VERSION;
  return PART_OTHER;
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **atts)
{
  struct dmarc_parser *p = ud;
  const char *local = local_name(name);
  struct node *n, *parent;
  unsigned level;

  p->depth++;
  if(p->depth > p->lim.max_depth) {
    stop(p, DMARC_LIMIT,
         "element nesting deeper than %u (max_depth) at "
         "line %lu",
         p->lim.max_depth, (unsigned long)XML_GetCurrentLineNumber(p->xp));
    return;
  }
  if(p->depth == 1) {
    p->root_seen = 1;
    if(strcmp(local, "feedback"))
      stop(p, DMARC_NOT_REPORT,
           "not a DMARC aggregate report: the root "
           "element is <%.64s>, not <feedback>",
           local);
    return;
  }
  level = p->depth - 2;
  if(level >= sizeof(p->stack) / sizeof(p->stack[0])) {
    stop(p, DMARC_LIMIT, "element nesting too deep");
    return;
  }
  if(p->depth == 2) {
    p->part = part_of(local);
    p->arena.used = 0;
    if(p->part == PART_RECORD && ++p->records > p->lim.max_records) {
      stop(p, DMARC_LIMIT, "more than %llu records (max_records)",
           (unsigned long long)p->lim.max_records);
      return;
    }
  }
  n = arena_alloc(&p->arena, sizeof(*n));
  if(!n)
    goto too_big;
  memset(n, 0, sizeof(*n));
  n->name = arena_strndup(&p->arena, local, strlen(local));
  if(!n->name)
    goto too_big;
  for(const XML_Char **a = atts; a[0] && a[1]; a += 2)
    if(!is_xmlns(a[0])) /* declarations are not data */
      n->nattrs++;
  if(n->nattrs > MAX_ATTRS) {
    stop(p, DMARC_LIMIT, "element <%.64s> has more than %d attributes", local,
         MAX_ATTRS);
    return;
  }
  if(n->nattrs) {
    n->attrs = arena_alloc(&p->arena, 2 * n->nattrs * sizeof(char *));
    if(!n->attrs)
      goto too_big;
    unsigned i = 0;
    for(const XML_Char **a = atts; a[0] && a[1]; a += 2) {
      const char *an;
      if(is_xmlns(a[0]))
        continue;
      an = local_name(a[0]);
      n->attrs[2 * i] = arena_strndup(&p->arena, an, strlen(an));
      n->attrs[2 * i + 1] = arena_strndup(&p->arena, a[1], strlen(a[1]));
      if(!n->attrs[2 * i] || !n->attrs[2 * i + 1])
        goto too_big;
      i++;
    }
  }
  if(level > 0) {
    parent = p->stack[level - 1];
    if(++parent->nchildren > MAX_CHILDREN) {
      stop(p, DMARC_LIMIT, "element <%.64s> has more than %d children",
           parent->name, MAX_CHILDREN);
      return;
    }
    if(parent->last)
      parent->last->next = n;
    else
      parent->first = n;
    parent->last = n;
  }
  p->stack[level] = n;
  buf_reset(&p->text[level]);
  return;
too_big:
  stop(p, DMARC_LIMIT,
       "element <%.64s> at line %lu holds more than %zu "
       "bytes (max_element_bytes)",
       p->depth == 2 ? local : "record",
       (unsigned long)XML_GetCurrentLineNumber(p->xp),
       p->lim.max_element_bytes);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
  struct dmarc_parser *p = ud;
  unsigned level;

  if(p->depth < 2 || p->verdict != DMARC_OK)
    return;
  level = p->depth - 2;
  /* Leading white space is trimmed from every value anyway, so the
   * indentation between elements is never stored. */
  if(!p->text[level].len) {
    while(len && dmarc_is_space(*s)) {
      s++;
      len--;
    }
    if(!len)
      return;
  }
  if(buf_append(&p->text[level], s, (size_t)len))
    stop(p, DMARC_LIMIT,
         "text of <%.64s> at line %lu longer than %zu bytes "
         "(max_text)",
         p->stack[level]->name, (unsigned long)XML_GetCurrentLineNumber(p->xp),
         p->lim.max_text);
}
static void XMLCALL on_end(void *ud, const XML_Char *name)
{
  struct dmarc_parser *p = ud;
  unsigned level;
  struct node *n;

  (void)name;
  if(p->depth < 2 || p->verdict != DMARC_OK) {
    p->depth--;
    return;
  }
  level = p->depth - 2;
  n = p->stack[level];
  if(p->text[level].len) {
    n->text = arena_strndup(&p->arena, p->text[level].data, p->text[level].len);
    if(!n->text) {
      stop(p, DMARC_LIMIT,
           "element <%.64s> at line %lu holds more than %zu "
           "bytes (max_element_bytes)",
           n->name, (unsigned long)XML_GetCurrentLineNumber(p->xp),
           p->lim.max_element_bytes);
      return;
    }
    n->text_len = p->text[level].len;
  }
  else
    n->text = "";
  p->depth--;
  if(level == 0 && dmarc_finish_part(p, n))
    stop(p, DMARC_NOMEM,
         "out of memory or no space for the spool (TMPDIR) "
         "while rendering <%s>: %s",
         n->name, strerror(errno));
}

/* Any DTD is refused before expat looks inside it: entity expansion
 * attacks (billion laughs, quadratic blowup) and external entities all need
 * one, and no real report has one. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
  struct dmarc_parser *p = ud;
  (void)pubid;
  (void)has_internal_subset;
  stop(p, DMARC_FORBIDDEN,
       "DOCTYPE declaration <!DOCTYPE %.64s%s%.128s> "
       "refused (entity expansion and external entity defence)",
       name ? name : "", sysid ? " SYSTEM " : "", sysid ? sysid : "");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_pe,
                                   const XML_Char *value, int value_len,
                                   const XML_Char *base, const XML_Char *sysid,
                                   const XML_Char *pubid,
                                   const XML_Char *notation)
{
  struct dmarc_parser *p = ud;
  (void)is_pe;
  (void)value;
  (void)value_len;
  (void)base;
  (void)sysid;
  (void)pubid;
  (void)notation;
  stop(p, DMARC_FORBIDDEN, "entity declaration '%.64s' refused", name);
}

/* Single-byte encodings expat does not know itself (windows-1252 above
 * all, which AOL declares) are mapped through iconv. */
static int XMLCALL on_unknown_encoding(void *ud, const XML_Char *name,
                                       XML_Encoding *info)
{
  iconv_t cd = iconv_open("UTF-32LE", name);
  (void)ud;

  if(cd == (iconv_t)-1)
    return XML_STATUS_ERROR;
  for(int i = 0; i < 256; i++) {
    char in = (char)i;
    unsigned char out[8];
    char *ip = &in, *op = (char *)out;
    size_t il = 1, ol = sizeof(out);

    iconv(cd, NULL, NULL, NULL, NULL);
    if(iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || ol != 4)
      info->map[i] = -1; /* not a character, or multi-byte: refused */
    else
      info->map[i] = out[0] | out[1] << 8 | out[2] << 16 | out[3] << 24;
  }
  iconv_close(cd);
  info->data = NULL;
  info->convert = NULL;
  info->release = NULL;
  return XML_STATUS_OK;
}

static int XMLCALL on_external_entity(XML_Parser xp, const XML_Char *context,
                                      const XML_Char *base,
                                      const XML_Char *sysid,
                                      const XML_Char *pubid)
{
  (void)xp;
  (void)context;
  (void)base;
  (void)sysid;
  (void)pubid;
  return XML_STATUS_ERROR; /* never fetch anything */
}

/* Expat salts its hash tables against collision floods, reading the
 * salt from getrandom for every parser: one system call per report, a
 * measurable part of ingesting thousands of small ones.  One random salt
 * per process keeps the protection (an attacker still cannot predict it). */
static unsigned long salt;
static pthread_once_t salt_once = PTHREAD_ONCE_INIT;

static void salt_init(void)
{
  unsigned long s = 0;
  if(getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
    s = 0; /* expat then makes its own, per parser, as before */
  salt = s;
}

static unsigned long hash_salt(void)
{
  pthread_once(&salt_once, salt_init);
  return salt;
}

struct dmarc_parser *dmarc_parser_new(const struct dmarc_limits *lim,
                                      enum dmarc_format fmt,
                                      struct dmarc_spool *spool,
                                      const char *source)
{
  struct dmarc_parser *p = calloc(1, sizeof(*p));

  if(!p)
    return NULL;
  p->lim = *lim;
  if(p->lim.max_depth > 60)
    p->lim.max_depth = 60; /* the node stack has 64 levels */
  p->fmt = fmt;
  p->spool = spool;
  p->spool_start = dmarc_spool_mark(spool);
  p->source = strdup(source ? source : "");
  p->time = -1;
  p->arena.max = p->arena.cap = lim->max_element_bytes;
  p->arena.mem = malloc(p->arena.cap);
  p->xp = XML_ParserCreate(NULL);
  if(!p->source || !p->arena.mem || !p->xp) {
    dmarc_parser_done(p);
    return NULL;
  }
  XML_SetHashSalt(p->xp, hash_salt());
  for(unsigned i = 0; i < sizeof(p->text) / sizeof(p->text[0]); i++)
    buf_init(&p->text[i], lim->max_text);
  buf_init(&p->meta, lim->max_element_bytes * 2);
  buf_init(&p->policy, lim->max_element_bytes * 2);
  buf_init(&p->version, lim->max_element_bytes * 2);
  buf_init(&p->extras, lim->max_element_bytes * 4);
  buf_init(&p->meta_kv, lim->max_element_bytes * 2);
  buf_init(&p->policy_kv, lim->max_element_bytes * 2);
  buf_init(&p->frag, lim->max_element_bytes * 8);
  buf_init(&p->ips, 1u << 20);
  XML_SetUserData(p->xp, p);
  XML_SetElementHandler(p->xp, on_start, on_end);
  XML_SetCharacterDataHandler(p->xp, on_text);
  XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
  XML_SetEntityDeclHandler(p->xp, on_entity_decl);
  XML_SetExternalEntityRefHandler(p->xp, on_external_entity);
  XML_SetUnknownEncodingHandler(p->xp, on_unknown_encoding, NULL);
  XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  return p;
}

/* Decide from the first bytes whether this can be XML at all, so a PDF or
 * a text file gets "not XML" instead of an expat error at line 1. */
static int looks_like_xml(const unsigned char *s, size_t n)
{
  size_t i = 0;

  if(n >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
    i = 3;
  else if(n >= 2 &&
          ((s[0] == 0xff && s[1] == 0xfe) || (s[0] == 0xfe && s[1] == 0xff)))
    return 1; /* UTF-16 BOM */
  else if(n >= 2 && ((s[0] == '<' && s[1] == 0) || (s[0] == 0 && s[1] == '<')))
    return 1; /* UTF-16 without BOM */
  while(i < n && dmarc_is_space((char)s[i]))
    i++;
  return i == n || s[i] == '<';
}

static enum dmarc_verdict feed(struct dmarc_parser *p, const void *buf,
                               size_t len, int final)
{
  if(p->verdict != DMARC_OK)
    return p->verdict;
  while(len > INT_MAX / 2) { /* expat takes int lengths */
    if(feed(p, buf, INT_MAX / 2, 0) != DMARC_OK)
      return p->verdict;
    buf = (const char *)buf + INT_MAX / 2;
    len -= INT_MAX / 2;
  }
  if(XML_Parse(p->xp, buf, (int)len, final) == XML_STATUS_ERROR &&
     p->verdict == DMARC_OK) {
    enum XML_Error e = XML_GetErrorCode(p->xp);
    p->verdict = e == XML_ERROR_NO_MEMORY ? DMARC_NOMEM : DMARC_MALFORMED;
    snprintf(p->reason, sizeof(p->reason),
             "not well-formed XML at line "
             "%lu column %lu: %s",
             (unsigned long)XML_GetCurrentLineNumber(p->xp),
             (unsigned long)XML_GetCurrentColumnNumber(p->xp),
             XML_ErrorString(e));
    if(!p->root_seen && e == XML_ERROR_UNKNOWN_ENCODING)
      snprintf(p->reason, sizeof(p->reason),
               "unsupported XML encoding "
               "declared");
  }
  return p->verdict;
}

enum dmarc_verdict dmarc_parser_feed(struct dmarc_parser *p, const void *buf,
                                     size_t len)
{
  if(!p->sniff_done) {
    size_t take = SNIFF_LEN - p->sniffed < len ? SNIFF_LEN - p->sniffed : len;
    memcpy(p->sniff + p->sniffed, buf, take);
    p->sniffed += take;
    if(p->sniffed < SNIFF_LEN)
      return DMARC_OK; /* decide once we have enough, or at finish */
    p->sniff_done = 1;
    if(!looks_like_xml((const unsigned char *)p->sniff, p->sniffed)) {
      p->verdict = DMARC_NOT_REPORT;
      snprintf(p->reason, sizeof(p->reason),
               "not XML (begins with bytes "
               "%02x %02x %02x %02x)",
               (unsigned char)p->sniff[0], (unsigned char)p->sniff[1],
               (unsigned char)p->sniff[2], (unsigned char)p->sniff[3]);
      return p->verdict;
    }
    if(feed(p, p->sniff, p->sniffed, 0) != DMARC_OK)
      return p->verdict;
    buf = (const char *)buf + take;
    len -= take;
  }
  return len ? feed(p, buf, len, 0) : p->verdict;
}

enum dmarc_verdict dmarc_parser_finish(struct dmarc_parser *p)
{
  if(p->verdict != DMARC_OK)
    return p->verdict;
  if(!p->sniff_done) {
    p->sniff_done = 1;
    if(p->sniffed == 0) {
      p->verdict = DMARC_NOT_REPORT;
      snprintf(p->reason, sizeof(p->reason), "empty");
      return p->verdict;
    }
    if(!looks_like_xml((const unsigned char *)p->sniff, p->sniffed)) {
      p->verdict = DMARC_NOT_REPORT;
      snprintf(p->reason, sizeof(p->reason), "not XML");
      return p->verdict;
    }
    if(feed(p, p->sniff, p->sniffed, 0) != DMARC_OK)
      return p->verdict;
  }
  if(feed(p, "", 0, 1) != DMARC_OK)
    return p->verdict;
  if(!p->root_seen) {
    p->verdict = DMARC_NOT_REPORT;
    snprintf(p->reason, sizeof(p->reason), "no XML element");
  }
  p->finished = p->verdict == DMARC_OK;
  return p->verdict;
}

const char *dmarc_parser_reason(const struct dmarc_parser *p)
{
  return p->reason;
}

void dmarc_parser_drain_ips(struct dmarc_parser *p,
                            void (*cb)(void *ud, const char *ip), void *ud)
{
  for(size_t off = 0; off < p->ips.len; off += strlen(p->ips.data + off) + 1)
    cb(ud, p->ips.data + off);
  buf_reset(&p->ips);
}

static void parser_free(struct dmarc_parser *p)
{
  if(p->xp)
    XML_ParserFree(p->xp);
  for(unsigned i = 0; i < sizeof(p->text) / sizeof(p->text[0]); i++)
    buf_free(&p->text[i]);
  buf_free(&p->meta);
  buf_free(&p->policy);
  buf_free(&p->version);
  buf_free(&p->extras);
  buf_free(&p->meta_kv);
  buf_free(&p->policy_kv);
  buf_free(&p->frag);
  buf_free(&p->ips);
  free(p->arena.mem);
  free(p->source);
  free(p->org);
  free(p->report_id);
  free(p->domain);
  free(p->begin);
  free(p->end);
  free(p);
}

struct dmarc_report *dmarc_parser_done(struct dmarc_parser *p)
{
  struct dmarc_report *r;
  int rc;

  if(!p)
    return NULL;
  /* A document abandoned before its end (the archive around it failed)
   * is no report, whatever was parsed of it. */
  if(p->verdict != DMARC_OK || !p->finished || !p->xp ||
     !(r = calloc(1, sizeof(*r)))) {
    if(p->spool)
      dmarc_spool_rewind(p->spool, p->spool_start);
    parser_free(p);
    return NULL;
  }
  r->source = p->source;
  p->source = NULL;
  r->org = p->org ? p->org : strdup("");
  r->report_id = p->report_id ? p->report_id : strdup("");
  p->org = p->report_id = NULL;
  {
    /* The identity of a report for duplicate detection: reporters re-send,
     * and the same report id is reused across days and across reporters. */
    struct buf k;
    buf_init(&k, 1u << 20);
    if(buf_printf(&k, "%s\x1f%s\x1f%s\x1f%s\x1f%s", r->org ? r->org : "",
                  r->report_id ? r->report_id : "", p->domain ? p->domain : "",
                  p->begin ? p->begin : "", p->end ? p->end : "") == 0)
      r->key = buf_steal(&k);
    buf_free(&k);
  }
  r->time = p->time;
  r->fmt = p->fmt;
  r->start = p->spool_start;
  r->end = dmarc_spool_mark(p->spool);
  r->records = p->records;
  buf_init(&r->prefix, (size_t)-1);
  buf_init(&r->suffix_mid, (size_t)-1);
  if(p->fmt == DMARC_FORMAT_JSON) {
    /* The old add-on's order, whatever the document's: metadata, policy,
     * version, then (ours) unknown parts, then the record. */
    rc = buf_puts(&r->prefix, "{\"feedback\": [");
    if(p->have_meta)
      rc = rc || buf_append(&r->prefix, p->meta.data, p->meta.len) ||
           buf_puts(&r->prefix, ", ");
    if(p->have_policy)
      rc = rc || buf_append(&r->prefix, p->policy.data, p->policy.len) ||
           buf_puts(&r->prefix, ", ");
    if(p->have_version)
      rc = rc || buf_append(&r->prefix, p->version.data, p->version.len) ||
           buf_puts(&r->prefix, ", ");
    if(p->extras.len) /* each item starts with ", " */
      rc = rc ||
           buf_append(&r->prefix, p->extras.data + 2, p->extras.len - 2) ||
           buf_puts(&r->prefix, ", ");
    rc = rc || buf_puts(&r->prefix, "{\"record\": ") ||
         buf_puts(&r->suffix_mid, "}], \"vendor_rua_xsd_validations\": ");
  }
  else {
    rc = buf_puts(&r->prefix, "RUA BEGIN\n") ||
         (p->meta_kv.len &&
          buf_append(&r->prefix, p->meta_kv.data, p->meta_kv.len)) ||
         (p->policy_kv.len &&
          buf_append(&r->prefix, p->policy_kv.data, p->policy_kv.len)) ||
         buf_puts(&r->suffix_mid, "vendor_rua_xsd_validation=");
  }
  parser_free(p);
  if(rc || !r->org || !r->report_id || !r->key) {
    dmarc_report_free(r);
    return NULL;
  }
  return r;
}

uint64_t dmarc_report_records(const struct dmarc_report *r)
{
  return r->records;
}
const char *dmarc_report_source(const struct dmarc_report *r)
{
  return r->source;
}
const char *dmarc_report_org(const struct dmarc_report *r)
{
  return r->org;
}
const char *dmarc_report_id(const struct dmarc_report *r)
{
  return r->report_id;
}
const char *dmarc_report_key(const struct dmarc_report *r)
{
  return r->key;
}

void dmarc_report_free(struct dmarc_report *r)
{
  if(!r)
    return;
  buf_free(&r->prefix);
  buf_free(&r->suffix_mid);
  free(r->source);
  free(r->org);
  free(r->report_id);
  free(r->key);
  free(r);
}
