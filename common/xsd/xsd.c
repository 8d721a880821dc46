/*
 * xsd: streamed validation of aggregate reports against the built-in
 * schemas (see xsd.h for the contract).
 *
 * Each schema gets its own libxml2 push parser with the compiled schema
 * plugged into its SAX stream (xmlSchemaSAXPlug), so no tree is built and
 * memory stays flat however large the report is.  The parsers are started
 * once the first bytes have arrived (the encoding is told by them), then
 * every chunk is pushed to each schema that has not failed yet.  The first
 * error a schema raises is kept, worded the way lxml words it (the
 * original TA-dmarc put lxml's text into its events), and that schema
 * stops consuming.
 *
 * libxml2 reports errors through callbacks; a callback it cannot route to
 * a context goes to the thread's global handlers, which print to stderr by
 * default.  So around every call into libxml2 we point the global handlers
 * at the schema being fed and restore them afterwards: nothing is printed,
 * and other users of libxml2 in the process keep their own handlers.
 */
#include "xsd.h"
#include "xsd_builtin.h"

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

/* libxml2 2.12 made the error argument of structured handlers const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xsd_error_arg;
#else
typedef xmlErrorPtr xsd_error_arg;
#endif

struct xsd_slot {
  xmlSchemaValidCtxtPtr vctxt;
  xmlSchemaSAXPlugPtr plug;
  /* xmlSchemaSAXPlug keeps the addresses of these two and writes them back
   * when unplugged, so they must live as long as the plug does. */
  xmlSAXHandlerPtr sax;
  void *sax_user;
  xmlParserCtxtPtr parser;
  xmlSAXHandler events;     /* our own callbacks, behind the validator's */
  unsigned depth;           /* open elements */
  int closing;              /* the last event was an end tag */
  int closing_line;         /* start-tag line of the element just closed */
  int start_line[XSD_LINE_DEPTH];
  int failed;               /* info holds the first error */
  char info[XSD_INFO_MAX];
};

struct xsd_validation {
  struct xsd_slot slot[XSD_SCHEMA_COUNT];
  unsigned char head[XSD_SNIFF_BYTES];
  size_t head_len;
  int started;              /* parsers created, head pushed */
};

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static xmlSchemaPtr schemas[XSD_SCHEMA_COUNT];
static const char *schema_names[XSD_SCHEMA_COUNT];
static int init_done;

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

  while(n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' ||
                  msg[n - 1] == ' '))
    n--;
  if(n > INT_MAX)
    n = INT_MAX;
  snprintf(out, outlen, "%.*s, line %d", (int)n, msg, e ? e->line : 0);
  utf8_trim_partial(out);
}

static void slot_fail(struct xsd_slot *s, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

static void slot_fail(struct xsd_slot *s, const char *fmt, ...)
{
  va_list ap;

  if(s->failed)
    return;
  s->failed = 1;
  va_start(ap, fmt);
  vsnprintf(s->info, sizeof(s->info), fmt, ap);
  va_end(ap);
  utf8_trim_partial(s->info);
}

/* Structured error callback of one schema: validity errors (from the
 * validation context) and, through the global handler, parser errors. */
static void slot_error(void *ctx, xsd_error_arg e)
{
  struct xsd_slot *s = ctx;

  if(!s || !e || s->failed || e->level == XML_ERR_NONE ||
     e->level == XML_ERR_WARNING)
    return;
  s->failed = 1;
  format_error(s->info, sizeof(s->info), e);
  /* A validity error ends this schema's work: stop parsing the rest of the
   * chunk.  Well-formedness errors stop the parser by themselves. */
  if(e->domain == XML_FROM_SCHEMASV && s->parser)
    xmlStopParser(s->parser);
}

static int parser_line(const struct xsd_slot *s)
{
  return (s->parser && s->parser->input) ? s->parser->input->line : 0;
}

/* Locator for validity errors: the validator sees only SAX events, so it
 * asks us.  An error raised while an element closes is about that element
 * and gets the line of its start tag; any other error the line the parser
 * is on (the end of the start tag being checked).  Both are what lxml
 * reports from a tree. */
static int slot_locate(void *ctx, const char **file, unsigned long *line)
{
  struct xsd_slot *s = ctx;
  int l;

  if(file)
    *file = NULL;
  if(line)
    *line = 0;
  if(!s || !s->parser || !s->parser->input)
    return -1;
  l = s->closing ? s->closing_line : parser_line(s);
  if(line && l > 0)
    *line = (unsigned long)l;
  return 0;
}

/* Our SAX callbacks.  The plug calls each before the validator's own, so
 * the state below describes the event the validator is about to check. */
static void on_start(void *ctx, const xmlChar *localname,
                     const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces,
                     int nb_attributes, int nb_defaulted,
                     const xmlChar **attributes)
{
  struct xsd_slot *s = ctx;

  (void)localname; (void)prefix; (void)uri; (void)nb_namespaces;
  (void)namespaces; (void)nb_attributes; (void)nb_defaulted;
  (void)attributes;
  if(s->depth < XSD_LINE_DEPTH)
    s->start_line[s->depth] = parser_line(s);
  if(s->depth < UINT_MAX)
    s->depth++;
  s->closing = 0;
}

static void on_end(void *ctx, const xmlChar *localname,
                   const xmlChar *prefix, const xmlChar *uri)
{
  struct xsd_slot *s = ctx;

  (void)localname; (void)prefix; (void)uri;
  if(s->depth > 0)
    s->depth--;
  s->closing_line = s->depth < XSD_LINE_DEPTH ? s->start_line[s->depth]
                                              : parser_line(s);
  s->closing = 1;
}

/* A report has no use for a DTD, and a DTD is where entity bombs and
 * external fetches live: refuse the document at its DOCTYPE, before the
 * parser reads any declaration. */
static void on_doctype(void *ctx, const xmlChar *name,
                       const xmlChar *external_id, const xmlChar *system_id)
{
  struct xsd_slot *s = ctx;

  (void)name; (void)external_id; (void)system_id;
  slot_fail(s, "DOCTYPE is not allowed in a DMARC report, line %d",
            parser_line(s));
  xmlStopParser(s->parser);
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
  struct xsd_slot *s = ctx;

  (void)ch; (void)len;
  s->closing = 0;
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

static xmlSchemaPtr compile_one(const struct xsd_builtin *b,
                                char *err, size_t errlen)
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
    snprintf(err, errlen, "xsd: cannot compile built-in schema %s: %s",
             b->name, ce.set ? ce.msg : "out of memory");
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

static void slot_free(struct xsd_slot *s)
{
  struct saved_handlers saved;

  handlers_push(&saved, slot_error, s);
  if(s->parser) {
    /* The parser may have made itself a document to hold declarations;
     * it is ours to free. */
    if(s->parser->myDoc) {
      xmlFreeDoc(s->parser->myDoc);
      s->parser->myDoc = NULL;
    }
    xmlFreeParserCtxt(s->parser);
    s->parser = NULL;
  }
  if(s->plug) {
    xmlSchemaSAXUnplug(s->plug);
    s->plug = NULL;
  }
  if(s->vctxt) {
    xmlSchemaFreeValidCtxt(s->vctxt);
    s->vctxt = NULL;
  }
  handlers_pop(&saved);
}

/* Create the parser of slot i, giving it the first bytes of the document
 * (fewer than XSD_SNIFF_BYTES only when the document is that short). */
static void slot_start(struct xsd_slot *s, unsigned i,
                       const unsigned char *head, size_t n)
{
  struct saved_handlers saved;

  if(!s->plug) {
    slot_fail(s, "xsd: out of memory");
    return;
  }
  handlers_push(&saved, slot_error, s);
  s->parser = xmlCreatePushParserCtxt(s->sax, s->sax_user,
                                      (const char *)head, (int)n, NULL);
  if(s->parser) {
    xmlCtxtUseOptions(s->parser, XSD_PARSE_OPTIONS);
    s->parser->loadsubset = 0;
    s->parser->replaceEntities = 0;
    s->parser->validate = 0;
    xmlSchemaValidateSetLocator(s->vctxt, slot_locate, s);
  }
  handlers_pop(&saved);
  if(!s->parser)
    slot_fail(s, "xsd: cannot create a parser for %s: out of memory",
              schema_names[i]);
}

/* Push p[0..len) to every schema still validating (terminate: end of
 * document).  A schema that failed gives its parser back at once. */
static void push_all(struct xsd_validation *v, const unsigned char *p,
                     size_t len, int terminate)
{
  unsigned i;

  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];
    struct saved_handlers saved;
    const unsigned char *q = p;
    size_t left = len;
    int rc = 0;

    if(s->failed || !s->parser)
      continue;
    handlers_push(&saved, slot_error, s);
    do {
      size_t n = left < XSD_MAX_PUSH ? left : XSD_MAX_PUSH;
      int last = terminate && n == left;

      rc = xmlParseChunk(s->parser, (const char *)q, (int)n, last);
      q += n;
      left -= n;
    } while(left > 0 && !s->failed && rc == 0);
    handlers_pop(&saved);
    if(!s->failed && rc != 0) {
      /* The parser gave up without a callback reaching us. */
      const xmlError *e = xmlCtxtGetLastError(s->parser);

      s->failed = 1;
      if(e && e->message)
        format_error(s->info, sizeof(s->info), e);
      else
        snprintf(s->info, sizeof(s->info), "parser error %d, line %d", rc,
                 s->parser->input ? s->parser->input->line : 0);
    }
    if(s->failed)
      slot_free(s);
  }
}

static void start_all(struct xsd_validation *v)
{
  unsigned i;

  v->started = 1;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++)
    slot_start(&v->slot[i], i, v->head, v->head_len);
}

struct xsd_validation *xsd_validation_begin(void)
{
  struct xsd_validation *v;
  unsigned i;

  if(!__atomic_load_n(&init_done, __ATOMIC_ACQUIRE))
    return NULL;
  v = calloc(1, sizeof(*v));
  if(!v)
    return NULL;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    s->vctxt = xmlSchemaNewValidCtxt(schemas[i]);
    if(!s->vctxt)
      goto oom;
    xmlSchemaSetValidStructuredErrors(s->vctxt, slot_error, s);
    /* Element, text and DOCTYPE callbacks only: the parser builds no tree,
     * and a document with a DTD is refused before any declaration. */
    memset(&s->events, 0, sizeof(s->events));
    s->events.initialized = XML_SAX2_MAGIC;
    s->events.startElementNs = on_start;
    s->events.endElementNs = on_end;
    s->events.characters = on_text;
    s->events.internalSubset = on_doctype;
    s->sax = &s->events;
    s->sax_user = s;
    s->plug = xmlSchemaSAXPlug(s->vctxt, &s->sax, &s->sax_user);
    if(!s->plug)
      goto oom;
  }
  return v;
oom:
  xsd_validation_abort(v);
  return NULL;
}

void xsd_validation_feed(struct xsd_validation *v, const void *buf,
                         size_t len)
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
    start_all(v);
  }
  if(len)
    push_all(v, p, len, 0);
}

void xsd_validation_end(struct xsd_validation *v,
                        struct xsd_result results[XSD_SCHEMA_COUNT])
{
  unsigned i;

  if(!v)
    return;
  if(!v->started)
    start_all(v);
  /* Not NULL: push_all steps the pointer, and NULL + 0 is undefined. */
  push_all(v, (const unsigned char *)"", 0, 1);
  for(i = 0; i < XSD_SCHEMA_COUNT; i++) {
    struct xsd_slot *s = &v->slot[i];

    /* Belt and braces: a parser or validator that recorded an error
     * without calling us still makes the document invalid. */
    if(!s->failed && s->parser && !s->parser->wellFormed)
      slot_fail(s, "document is not well-formed, line %d",
                s->parser->input ? s->parser->input->line : 0);
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
  xsd_validation_abort(v);
}

void xsd_validation_abort(struct xsd_validation *v)
{
  unsigned i;

  if(!v)
    return;
  for(i = 0; i < XSD_SCHEMA_COUNT; i++)
    slot_free(&v->slot[i]);
  free(v);
}
