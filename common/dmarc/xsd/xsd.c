/*
 * xsd: streamed validation of aggregate reports against the built-in
 * schemas (see xsd.h for the contract).
 *
 * One libxml2 push parser reads the document and our SAX handlers hand
 * every event to the validators of the schemas that have not failed yet
 * (each a validation context plugged with xmlSchemaSAXPlug, so no tree is
 * built and memory stays flat however large the report is).  The parser
 * is started once the first bytes have arrived (the encoding is told by
 * them).  The first error a schema raises is kept, worded the way lxml
 * words it (the original TA-dmarc put lxml's text into its events), and
 * that schema gets no more events; a well-formedness error ends every
 * schema still validating.
 *
 * Inputs validate thousands of small reports in a row, and setting up a
 * parser and four validation contexts cost more than validating a typical
 * report.  So the contexts outlive a document: a finished validation goes
 * back to a small pool, its validation contexts are re-plugged for the
 * next document (libxml2 clears them between runs), and its parser is
 * reset (xmlCtxtResetPush) when the document before ended cleanly, or
 * made anew when it did not.
 *
 * libxml2 reports errors through callbacks; a callback it cannot route to
 * a context goes to the thread's global handlers, which print to stderr by
 * default.  So around every call into libxml2 we point the global handlers
 * at the validation being fed and restore them afterwards: nothing is
 * printed, and other users of libxml2 in the process keep their own
 * handlers.
 */
#include "xsd.h"
#include "xsd_private.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlversion.h>

/* The parser tells the encoding from the first four bytes (a BOM, or "<?xm"
 * in UTF-8/16/32), so no parser is created before that many have arrived. */
#define XSD_SNIFF_BYTES 4

/* Start-tag lines remembered per open element, so an error raised when an
 * element closes (missing child, bad value) names the line of its start tag
 * as a tree validator would.  Deeper elements fall back to the current
 * line; reports are about six levels deep. */
#define XSD_LINE_DEPTH 64

/* Largest chunk handed to xmlParseChunk at once (its length is an int). */
#define XSD_MAX_PUSH (1 << 20)

/* Parser options: never touch the network, never substitute entities, never
 * load or validate a DTD (no XML_PARSE_NOENT, DTDLOAD, DTDATTR, DTDVALID).
 * A DOCTYPE is refused outright anyway (on_doctype). */
#define XSD_PARSE_OPTIONS XML_PARSE_NONET

#define XSD_INFO_MAX sizeof(((struct xsd_result *)0)->info)

/* A parser is reset for the next document only while its dictionary of
 * names stays below this many entries: a run of hostile reports with ever
 * new element names must not grow it without end.  A real report uses a
 * few dozen names. */
#define XSD_DICT_MAX 4096

/* Finished validations kept for reuse.  The inputs validate one report at
 * a time; the second serves an overlapping one. */
#define XSD_POOL_MAX 2

/* libxml2 2.12 made the error argument of structured handlers const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xsd_error_arg;
#else
typedef xmlErrorPtr xsd_error_arg;
#endif

struct xsd_validation;

struct xsd_slot {
  struct xsd_validation *v;
  xmlSchemaValidCtxtPtr vctxt; /* kept from one document to the next */
  xmlSchemaSAXPlugPtr plug;    /* one per document */
  /* Set by xmlSchemaSAXPlug to the validator's own handlers; it keeps the
   * addresses of these two and writes them back when unplugged, so they
   * must live as long as the plug does. */
  xmlSAXHandlerPtr sax;
  void *sax_user;
  int failed; /* info holds the first error */
  char info[XSD_INFO_MAX];
};

struct xsd_validation {
  struct xsd_slot slot[XSD_SCHEMA_COUNT];
  xmlParserCtxtPtr parser; /* shared by the schemas */
  xmlSAXHandler events;    /* ours: hand events to the validators */
  unsigned live;           /* slots not failed */
  unsigned depth;          /* open elements */
  int closing;             /* the last event was an end tag */
  int closing_line;        /* start-tag line of the element just closed */
  int start_line[XSD_LINE_DEPTH];
  unsigned char head[XSD_SNIFF_BYTES];
  size_t head_len;
  int started;                 /* parser ready, head pushed */
  struct xsd_validation *next; /* in the pool */
};

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static xmlSchemaPtr schemas[XSD_SCHEMA_COUNT];
static const char *schema_names[XSD_SCHEMA_COUNT];
static int init_done;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xsd_validation *pool; /* finished validations */
static unsigned pool_len;

/* --- error capture ------------------------------------------------------ */

struct saved_handlers {
  xmlStructuredErrorFunc serror;
  void *serror_ctx;
  xmlGenericErrorFunc generic;
  void *generic_ctx;
};

static void silent_generic(void *ctx, const char *msg, ...)
{
  (void)ctx;
  (void)msg;
}

static void handlers_push(struct saved_handlers *saved,
                          xmlStructuredErrorFunc fn, void *ctx)
{
  saved->serror = xmlStructuredError;
  saved->serror_ctx = xmlStructuredErrorContext;
  saved->generic = xmlGenericError;
  saved->generic_ctx = xmlGenericErrorContext;
  xmlSetStructuredErrorFunc(ctx, fn);
  xmlSetGenericErrorFunc(NULL, silent_generic);
}

static void handlers_pop(const struct saved_handlers *saved)
{
  xmlSetStructuredErrorFunc(saved->serror_ctx, saved->serror);
  xmlSetGenericErrorFunc(saved->generic_ctx, saved->generic);
}

/* snprintf may have cut the text inside a UTF-8 sequence: drop the
 * incomplete tail so info is always valid UTF-8 (it goes into JSON). */
static void utf8_trim_partial(char *s)
{
  size_t n = strlen(s), i = n, need;
  unsigned char lead;

  while(i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
    i--;
  if(i == 0)
    return;
  lead = (unsigned char)s[i - 1];
  if(lead < 0xC0)
    return;
  need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if(n - (i - 1) < need)
    s[i - 1] = '\0';
}

/* lxml's wording: libxml2's message without its trailing newline, then
 * ", line N". */
static void format_error(char *out, size_t outlen, const xmlError *e)
{
  const char *msg = (e && e->message) ? e->message : "unknown error";
  size_t n = strlen(msg);

  while(n > 0 &&
        (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
    n--;
  if(n > INT_MAX)
    n = INT_MAX;
  snprintf(out, outlen, "%.*s, line %d", (int)n, msg, e ? e->line : 0);
  utf8_trim_partial(out);
}

/* Mark s failed (its first error is already in info). */
static void slot_mark_failed(struct xsd_slot *s)
{
  s->failed = 1;
  if(s->v->live > 0)
    s->v->live--;
}

static void slot_fail(struct xsd_slot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void slot_fail(struct xsd_slot *s, const char *fmt, ...)
{
  va_list ap;

  if(s->failed)
    return;
  va_start(ap, fmt);
  vsnprintf(s->info, sizeof(s->info), fmt, ap);
  va_end(ap);
  utf8_trim_partial(s->info);
  slot_mark_failed(s);
}

/* Error callback of one schema's validation context: validity errors. */
static void slot_error(void *ctx, xsd_error_arg e)
{
  struct xsd_slot *s = ctx;

  if(!s || !e || s->failed || e->level == XML_ERR_NONE ||
     e->level == XML_ERR_WARNING)
    return;
  format_error(s->info, sizeof(s->info), e);
  slot_mark_failed(s);
  /* A validity error ends this schema's work; when it was the last one
   * validating, nothing is left to parse for.  (Only from a validity
   * error: it is raised from a SAX callback, where stopping is safe.) */
  if(e->domain == XML_FROM_SCHEMASV && !s->v->live && s->v->parser)
    xmlStopParser(s->v->parser);
}

/* Global error callback while libxml2 works for validation v: the
 * parser's errors (the document is not well-formed, or its encoding is
 * unknown) hold for every schema still validating. */
static void parser_error(void *ctx, xsd_error_arg e)
{
  struct xsd_validation *v = ctx;
  unsigned i;

  if(!v || !e || e->level == XML_ERR_NONE || e->level == XML_ERR_WARNING)
    return;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    if(s->failed)
      continue;
    format_error(s->info, sizeof(s->info), e);
    slot_mark_failed(s);
  }
}

static int parser_line(const struct xsd_validation *v)
{
  return (v->parser && v->parser->input) ? v->parser->input->line : 0;
}

/* Locator for validity errors: the validator sees only SAX events, so it
 * asks us.  An error raised while an element closes is about that element
 * and gets the line of its start tag; any other error the line the parser
 * is on (the end of the start tag being checked).  Both are what lxml
 * reports from a tree. */
static int slot_locate(void *ctx, const char **file, unsigned long *line)
{
  struct xsd_slot *s = ctx;
  const struct xsd_validation *v = s ? s->v : NULL;
  int l;

  if(file)
    *file = NULL;
  if(line)
    *line = 0;
  if(!v || !v->parser || !v->parser->input)
    return -1;
  l = v->closing ? v->closing_line : parser_line(v);
  if(line && l > 0)
    *line = (unsigned long)l;
  return 0;
}

/* Our SAX callbacks: note what the locator needs, then hand the event to
 * every schema still validating, so the state above describes the event
 * each validator is about to check.  A validator that fails on the event
 * is skipped from then on. */
static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nb_namespaces,
                     const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
  struct xsd_validation *v = ctx;
  unsigned i;

  if(v->depth < XSD_LINE_DEPTH)
    v->start_line[v->depth] = parser_line(v);
  if(v->depth < UINT_MAX)
    v->depth++;
  v->closing = 0;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    if(!s->failed && s->sax && s->sax->startElementNs)
      s->sax->startElementNs(s->sax_user, localname, prefix, uri, nb_namespaces,
                             namespaces, nb_attributes, nb_defaulted,
                             attributes);
  }
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                   const xmlChar *uri)
{
  struct xsd_validation *v = ctx;
  unsigned i;

  if(v->depth > 0)
    v->depth--;
  v->closing_line =
      v->depth < XSD_LINE_DEPTH ? v->start_line[v->depth] : parser_line(v);
  v->closing = 1;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    if(!s->failed && s->sax && s->sax->endElementNs)
      s->sax->endElementNs(s->sax_user, localname, prefix, uri);
  }
}

/* Text, and whitespace too: the same handler for both keeps the parser
 * from guessing which whitespace is ignorable. */
static void on_text(void *ctx, const xmlChar *ch, int len)
{
  struct xsd_validation *v = ctx;
  unsigned i;

  v->closing = 0;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    if(!s->failed && s->sax && s->sax->characters)
      s->sax->characters(s->sax_user, ch, len);
  }
}

static void on_cdata(void *ctx, const xmlChar *value, int len)
{
  struct xsd_validation *v = ctx;
  unsigned i;

  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    if(!s->failed && s->sax && s->sax->cdataBlock)
      s->sax->cdataBlock(s->sax_user, value, len);
  }
}

static void on_reference(void *ctx, const xmlChar *name)
{
  struct xsd_validation *v = ctx;
  unsigned i;

  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    if(!s->failed && s->sax && s->sax->reference)
      s->sax->reference(s->sax_user, name);
  }
}

/* A report has no use for a DTD, and a DTD is where entity bombs and
 * external fetches live: refuse the document at its DOCTYPE, before the
 * parser reads any declaration. */
static void on_doctype(void *ctx, const xmlChar *name,
                       const xmlChar *external_id, const xmlChar *system_id)
{
  struct xsd_validation *v = ctx;
  unsigned i;

  (void)name;
  (void)external_id;
  (void)system_id;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++)
    slot_fail(&v->slot[i],
              "DOCTYPE is not allowed in a DMARC report, "
              "line %d",
              parser_line(v));
  xmlStopParser(v->parser);
}

/* --- schemas ------------------------------------------------------------ */

struct compile_err {
  char msg[256];
  int set;
};

static void compile_error(void *ctx, xsd_error_arg e)
{
  struct compile_err *ce = ctx;

  if(!ce || !e || ce->set || e->level == XML_ERR_WARNING)
    return;
  ce->set = 1;
  format_error(ce->msg, sizeof(ce->msg), e);
}

static xmlSchemaPtr compile_one(const struct xsd_builtin *b, char *err,
                                size_t errlen)
{
  struct compile_err ce = { "", 0 };
  struct saved_handlers saved;
  xmlSchemaParserCtxtPtr pctxt;
  xmlSchemaPtr schema = NULL;

  if(b->len > INT_MAX) {
    snprintf(err, errlen, "xsd: schema %s is too large", b->name);
    return NULL;
  }
  handlers_push(&saved, compile_error, &ce);
  pctxt = xmlSchemaNewMemParserCtxt((const char *)b->data, (int)b->len);
  if(pctxt) {
    xmlSchemaSetParserStructuredErrors(pctxt, compile_error, &ce);
    schema = xmlSchemaParse(pctxt);
    xmlSchemaFreeParserCtxt(pctxt);
  }
  handlers_pop(&saved);
  if(!schema)
    snprintf(err, errlen, "xsd: cannot compile built-in schema %s: %s", b->name,
             ce.set ? ce.msg : "out of memory");
  return schema;
}

int xsd_init(char *err, size_t errlen)
{
  xmlSchemaPtr compiled[XSD_SCHEMA_COUNT];
  char dummy[1];
  unsigned i;
  int rc = 0;

  if(!err || !errlen) {
    err = dummy;
    errlen = sizeof(dummy);
  }
  err[0] = '\0';
  pthread_mutex_lock(&init_lock);
  if(__atomic_load_n(&init_done, __ATOMIC_ACQUIRE))
    goto out;
  xmlInitParser();
  if(xsd_builtin_count != XSD_SCHEMA_COUNT) {
    snprintf(err, errlen, "xsd: %u built-in schemas, expected %u",
             xsd_builtin_count, (unsigned)XSD_SCHEMA_COUNT);
    rc = -1;
    goto out;
  }
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    compiled[i] = compile_one(&xsd_builtins[i], err, errlen);
    if(!compiled[i]) {
      while(i-- > 0)
        xmlSchemaFree(compiled[i]);
      rc = -1;
      goto out;
    }
  }
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    schemas[i] = compiled[i];
    schema_names[i] = xsd_builtins[i].name;
  }
  __atomic_store_n(&init_done, 1, __ATOMIC_RELEASE);
out:
  pthread_mutex_unlock(&init_lock);
  return rc;
}

const char *xsd_schema_name(unsigned i)
{
  if(i >= XSD_SCHEMA_COUNT)
    return NULL;
  /* Names come from the generated table, which exists before init. */
  return xsd_builtins[i].name;
}

/* --- one validation ----------------------------------------------------- */

static void parser_free(struct xsd_validation *v)
{
  if(!v->parser)
    return;
  /* The parser may have made itself a document to hold declarations; it
   * is ours to free. */
  if(v->parser->myDoc) {
    xmlFreeDoc(v->parser->myDoc);
    v->parser->myDoc = NULL;
  }
  xmlFreeParserCtxt(v->parser);
  v->parser = NULL;
}

/* Take the validators off the document (libxml2 clears their state for
 * the next run); the contexts stay. */
static void unplug_all(struct xsd_validation *v)
{
  unsigned i;

  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    if(s->plug) {
      xmlSchemaSAXUnplug(s->plug);
      s->plug = NULL;
    }
    s->sax = NULL;
    s->sax_user = NULL;
  }
}

static void engine_free(struct xsd_validation *v)
{
  struct saved_handlers saved;
  unsigned i;

  handlers_push(&saved, parser_error, v);
  parser_free(v);
  unplug_all(v);
  for(i = 0; i < XSD_SCHEMA_COUNT; i++)
    if(v->slot[i].vctxt)
      xmlSchemaFreeValidCtxt(v->slot[i].vctxt);
  handlers_pop(&saved);
  free(v);
}

/* A validation with its contexts made, not yet plugged. */
static struct xsd_validation *engine_new(void)
{
  struct xsd_validation *v = calloc(1, sizeof(*v));
  unsigned i;

  if(!v)
    return NULL;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    s->v = v;
    s->vctxt = xmlSchemaNewValidCtxt(schemas[i]);
    if(!s->vctxt) {
      engine_free(v);
      return NULL;
    }
    /* Both survive the clearing between documents. */
    xmlSchemaSetValidStructuredErrors(s->vctxt, slot_error, s);
    xmlSchemaValidateSetLocator(s->vctxt, slot_locate, s);
  }
  /* Element, text and DOCTYPE callbacks only: the parser builds no tree,
   * and a document with a DTD is refused before any declaration. */
  v->events.initialized = XML_SAX2_MAGIC;
  v->events.startElementNs = on_start;
  v->events.endElementNs = on_end;
  v->events.characters = on_text;
  v->events.ignorableWhitespace = on_text;
  v->events.cdataBlock = on_cdata;
  v->events.reference = on_reference;
  v->events.internalSubset = on_doctype;
  return v;
}

/* Whether the parser may be reset for another document: it finished this
 * one cleanly, so nothing of it (open elements, namespace bindings) is
 * left behind, and its dictionary is still small. */
static int parser_reusable(const xmlParserCtxt *p)
{
  return p && p->instate == XML_PARSER_EOF && p->wellFormed &&
         p->errNo == XML_ERR_OK && !p->disableSAX && p->nameNr == 0 &&
         p->nsNr == 0 && p->inputNr <= 1 &&
         xmlDictSize(p->dict) <= XSD_DICT_MAX;
}

/* Give v back: to the pool (its parser only if reusable), or free it. */
static void engine_release(struct xsd_validation *v)
{
  struct saved_handlers saved;
  int keep;

  handlers_push(&saved, parser_error, v);
  unplug_all(v);
  if(!parser_reusable(v->parser))
    parser_free(v);
  handlers_pop(&saved);
  pthread_mutex_lock(&pool_lock);
  keep = pool_len < XSD_POOL_MAX;
  if(keep) {
    v->next = pool;
    pool = v;
    pool_len++;
  }
  pthread_mutex_unlock(&pool_lock);
  if(!keep)
    engine_free(v);
}

/* Create (or reset) the parser, giving it the first bytes of the document
 * (fewer than XSD_SNIFF_BYTES only when the document is that short). */
static void parser_start(struct xsd_validation *v)
{
  struct saved_handlers saved;
  unsigned i;

  v->started = 1;
  handlers_push(&saved, parser_error, v);
  /* A reset parser tells the encoding from exactly XSD_SNIFF_BYTES bytes;
   * a shorter document gets a new parser, as it always did. */
  if(v->parser && (v->head_len < XSD_SNIFF_BYTES ||
                   xmlCtxtResetPush(v->parser, (const char *)v->head,
                                    (int)v->head_len, NULL, NULL)))
    parser_free(v);
  if(!v->parser) {
    v->parser = xmlCreatePushParserCtxt(&v->events, v, (const char *)v->head,
                                        (int)v->head_len, NULL);
    if(v->parser) {
      xmlCtxtUseOptions(v->parser, XSD_PARSE_OPTIONS);
      v->parser->loadsubset = 0;
      v->parser->replaceEntities = 0;
      v->parser->validate = 0;
    }
  }
  handlers_pop(&saved);
  if(!v->parser)
    for(i = 0; i < XSD_SCHEMA_COUNT; i++)
      slot_fail(&v->slot[i],
                "xsd: cannot create a parser for %s: out of "
                "memory",
                schema_names[i]);
}

/* Push p[0..len) (terminate: end of document) while a schema is still
 * validating. */
static void push(struct xsd_validation *v, const unsigned char *p, size_t len,
                 int terminate)
{
  struct saved_handlers saved;
  const xmlError *e;
  unsigned i;
  int rc = 0;

  if(!v->live || !v->parser)
    return;
  handlers_push(&saved, parser_error, v);
  do {
    size_t n = len < XSD_MAX_PUSH ? len : XSD_MAX_PUSH;
    int last = terminate && n == len;

    rc = xmlParseChunk(v->parser, (const char *)p, (int)n, last);
    p += n;
    len -= n;
  } while(len > 0 && v->live && rc == 0);
  handlers_pop(&saved);
  if(!v->live || rc == 0)
    return;
  /* The parser gave up without a callback reaching us. */
  e = xmlCtxtGetLastError(v->parser);
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    if(s->failed)
      continue;
    if(e && e->message)
      format_error(s->info, sizeof(s->info), e);
    else
      snprintf(s->info, sizeof(s->info), "parser error %d, line %d", rc,
               parser_line(v));
    slot_mark_failed(s);
  }
}

struct xsd_validation *xsd_validation_begin(void)
{
  struct xsd_validation *v;
  unsigned i;

  if(!__atomic_load_n(&init_done, __ATOMIC_ACQUIRE))
    return NULL;
  pthread_mutex_lock(&pool_lock);
  v = pool;
  if(v) {
    pool = v->next;
    pool_len--;
  }
  pthread_mutex_unlock(&pool_lock);
  if(!v && !(v = engine_new()))
    return NULL;
  v->next = NULL;
  v->live = XSD_SCHEMA_COUNT;
  v->depth = 0;
  v->closing = 0;
  v->closing_line = 0;
  v->head_len = 0;
  v->started = 0;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    s->failed = 0;
    s->info[0] = '\0';
    s->sax = NULL;
    s->sax_user = NULL;
    /* No old handlers: the plug sends events straight to the validator,
     * and on_* call it through s->sax. */
    s->plug = xmlSchemaSAXPlug(s->vctxt, &s->sax, &s->sax_user);
    if(!s->plug) {
      engine_free(v);
      return NULL;
    }
  }
  return v;
}

void xsd_validation_feed(struct xsd_validation *v, const void *buf, size_t len)
{
  const unsigned char *p = buf;

  if(!v || !p || !len)
    return;
  if(!v->started) {
    size_t take = XSD_SNIFF_BYTES - v->head_len;

    if(take > len)
      take = len;
    memcpy(v->head + v->head_len, p, take);
    v->head_len += take;
    p += take;
    len -= take;
    if(v->head_len < XSD_SNIFF_BYTES)
      return;
    parser_start(v);
  }
  if(len)
    push(v, p, len, 0);
}

void xsd_validation_end(struct xsd_validation *v,
                        struct xsd_result results[XSD_SCHEMA_COUNT])
{
  unsigned i;

  if(!v)
    return;
  if(!v->started)
    parser_start(v);
  /* Not NULL: push steps the pointer, and NULL + 0 is undefined. */
  push(v, (const unsigned char *)"", 0, 1);
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    /* Belt and braces: a parser or validator that recorded an error
     * without calling us still makes the document invalid. */
    if(!s->failed && v->parser && !v->parser->wellFormed)
      slot_fail(s, "document is not well-formed, line %d", parser_line(v));
    if(!s->failed && s->vctxt && xmlSchemaIsValid(s->vctxt) != 1)
      slot_fail(s, "document is not valid against %s", schema_names[i]);
    if(results) {
      results[i].pass = !s->failed;
      if(s->failed)
        memcpy(results[i].info, s->info, sizeof(results[i].info));
      else
        results[i].info[0] = '\0';
    }
  }
  engine_release(v);
}

void xsd_validation_abort(struct xsd_validation *v)
{
  if(!v)
    return;
  engine_release(v);
}
