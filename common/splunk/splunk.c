#include "splunk.h"

#include <expat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "util.h"

#define CONFIG_MAX (1u << 20)

/* ---- scheme
 * ------------------------------------------------------------------- */

static void put_escaped(FILE *out, const char *s)
{
  struct buf b;

  buf_init(&b, 1u << 20);
  if(util_xml_escape(&b, s, strlen(s)) == 0 && b.data)
    fputs(b.data, out);
  buf_free(&b);
}

int splunk_print_scheme(FILE *out, const struct splunk_scheme *s)
{
  static const char *const types[] = { "string", "number", "boolean" };

  fputs("<scheme>\n    <title>", out);
  put_escaped(out, s->title);
  fputs("</title>\n    <description>", out);
  put_escaped(out, s->description);
  fputs("</description>\n"
        "    <use_external_validation>true</use_external_validation>\n"
        "    <use_single_instance>false</use_single_instance>\n"
        "    <streaming_mode>xml</streaming_mode>\n"
        "    <endpoint>\n        <args>\n",
        out);
  for(const struct splunk_arg *a = s->args; a->name; a++) {
    fputs("            <arg name=\"", out);
    put_escaped(out, a->name);
    fputs("\">\n                <title>", out);
    put_escaped(out, a->title);
    fputs("</title>\n                <description>", out);
    put_escaped(out, a->description);
    fprintf(out,
            "</description>\n"
            "                <data_type>%s</data_type>\n"
            "                <required_on_edit>false</required_on_edit>\n"
            "                <required_on_create>%s</required_on_create>\n"
            "            </arg>\n",
            types[a->type], a->required_on_create ? "true" : "false");
  }
  fputs("        </args>\n    </endpoint>\n</scheme>\n", out);
  return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

/* ---- configuration
 * -------------------------------------------------------------- */

struct cfg_parse {
  struct splunk_config *cfg;
  XML_Parser xp;
  unsigned depth;
  char *capture; /* element whose text we are collecting */
  int in_param_list;
  struct buf text;
  int failed;
};

static char *xstrdup(struct cfg_parse *cp, const char *s)
{
  char *d = strdup(s ? s : "");
  if(!d)
    cp->failed = 1;
  return d;
}

static const char *attr(const XML_Char **atts, const char *name)
{
  for(; atts[0]; atts += 2)
    if(!strcmp(atts[0], name))
      return atts[1];
  return NULL;
}

static void XMLCALL cfg_start(void *ud, const XML_Char *name,
                              const XML_Char **atts)
{
  struct cfg_parse *cp = ud;
  struct splunk_config *cfg = cp->cfg;

  cp->depth++;
  if(cp->depth > 8) {
    cp->failed = 1;
    XML_StopParser(cp->xp, XML_FALSE);
    return;
  }
  if((!strcmp(name, "stanza") || !strcmp(name, "item")) && !cfg->stanza)
    cfg->stanza = xstrdup(cp, attr(atts, "name"));
  else if(!strcmp(name, "param") || !strcmp(name, "param_list")) {
    struct splunk_param *np;
    if(cfg->nparams >= 256)
      return;
    np = realloc(cfg->params, (cfg->nparams + 1) * sizeof(*np));
    if(!np) {
      cp->failed = 1;
      return;
    }
    cfg->params = np;
    np[cfg->nparams].name = xstrdup(cp, attr(atts, "name"));
    np[cfg->nparams].value = NULL;
    cfg->nparams++;
    cp->in_param_list = !strcmp(name, "param_list");
    buf_reset(&cp->text);
    free(cp->capture);
    cp->capture = xstrdup(cp, name);
  }
  else if(!strcmp(name, "value") && cp->in_param_list) {
    if(cp->text.len)
      buf_putc(&cp->text, ',');
  }
  else if(!strcmp(name, "server_host") || !strcmp(name, "server_uri") ||
          !strcmp(name, "session_key") || !strcmp(name, "checkpoint_dir")) {
    buf_reset(&cp->text);
    free(cp->capture);
    cp->capture = xstrdup(cp, name);
  }
}

static void XMLCALL cfg_text(void *ud, const XML_Char *s, int len)
{
  struct cfg_parse *cp = ud;

  if(cp->capture && buf_append(&cp->text, s, (size_t)len))
    cp->failed = 1;
}

static char *trimmed(struct cfg_parse *cp)
{
  const char *s = cp->text.data ? cp->text.data : "";
  size_t len = cp->text.len;
  char *d;

  while(len && strchr(" \t\r\n", *s)) {
    s++;
    len--;
  }
  while(len && strchr(" \t\r\n", s[len - 1]))
    len--;
  d = malloc(len + 1);
  if(!d) {
    cp->failed = 1;
    return NULL;
  }
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

static void XMLCALL cfg_end(void *ud, const XML_Char *name)
{
  struct cfg_parse *cp = ud;
  struct splunk_config *cfg = cp->cfg;

  cp->depth--;
  if(!cp->capture || strcmp(cp->capture, name))
    return;
  if(!strcmp(name, "param") || !strcmp(name, "param_list")) {
    if(cfg->nparams)
      cfg->params[cfg->nparams - 1].value = trimmed(cp);
    cp->in_param_list = 0;
  }
  else {
    char **slot = !strcmp(name, "server_host")   ? &cfg->server_host
                  : !strcmp(name, "server_uri")  ? &cfg->server_uri
                  : !strcmp(name, "session_key") ? &cfg->session_key
                                                 : &cfg->checkpoint_dir;
    free(*slot);
    *slot = trimmed(cp);
  }
  free(cp->capture);
  cp->capture = NULL;
}

static void XMLCALL cfg_doctype(void *ud, const XML_Char *n, const XML_Char *s,
                                const XML_Char *p, int i)
{
  struct cfg_parse *cp = ud;
  (void)n;
  (void)s;
  (void)p;
  (void)i;
  cp->failed = 1;
  XML_StopParser(cp->xp, XML_FALSE);
}

int splunk_read_config(FILE *in, struct splunk_config *cfg, char *err,
                       size_t errlen)
{
  struct cfg_parse cp = { .cfg = cfg };
  struct buf doc;
  char chunk[8192];
  size_t n;
  int rc = -1;

  memset(cfg, 0, sizeof(*cfg));
  buf_init(&doc, CONFIG_MAX);
  buf_init(&cp.text, 64 * 1024);
  while((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
    if(buf_append(&doc, chunk, n)) {
      snprintf(err, errlen, "configuration on stdin is larger than %u bytes",
               CONFIG_MAX);
      goto out;
    }
  }
  if(ferror(in)) {
    snprintf(err, errlen, "cannot read the configuration from stdin");
    goto out;
  }
  if(!doc.len) {
    snprintf(err, errlen,
             "no configuration on stdin (splunkd sends an "
             "<input> document; for a manual run see --help)");
    goto out;
  }
  cp.xp = XML_ParserCreate("UTF-8");
  if(!cp.xp) {
    snprintf(err, errlen, "out of memory");
    goto out;
  }
  XML_SetUserData(cp.xp, &cp);
  XML_SetElementHandler(cp.xp, cfg_start, cfg_end);
  XML_SetCharacterDataHandler(cp.xp, cfg_text);
  XML_SetStartDoctypeDeclHandler(cp.xp, cfg_doctype);
  if(XML_Parse(cp.xp, doc.data, (int)doc.len, 1) == XML_STATUS_ERROR ||
     cp.failed) {
    snprintf(err, errlen,
             "configuration on stdin is not valid XML: %s "
             "(line %lu)",
             cp.failed ? "refused or out of memory"
                       : XML_ErrorString(XML_GetErrorCode(cp.xp)),
             (unsigned long)XML_GetCurrentLineNumber(cp.xp));
    XML_ParserFree(cp.xp);
    goto out;
  }
  XML_ParserFree(cp.xp);
  rc = 0;
out:
  free(cp.capture);
  buf_free(&cp.text);
  buf_free(&doc);
  if(rc)
    splunk_config_free(cfg);
  return rc;
}

const char *splunk_param(const struct splunk_config *cfg, const char *name)
{
  for(unsigned i = 0; i < cfg->nparams; i++)
    if(cfg->params[i].name && !strcmp(cfg->params[i].name, name))
      return cfg->params[i].value;
  return NULL;
}

int splunk_parse_bool(const char *s)
{
  static const char *const yes[] = { "1", "true", "t", "yes", "y", "on" };
  static const char *const no[] = { "0", "false", "f", "no", "n", "off" };

  for(size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    if(!strcasecmp(s, yes[i]))
      return 1;
    if(!strcasecmp(s, no[i]))
      return 0;
  }
  return -1;
}

void splunk_config_free(struct splunk_config *cfg)
{
  free(cfg->server_host);
  free(cfg->server_uri);
  free(cfg->session_key);
  free(cfg->checkpoint_dir);
  free(cfg->stanza);
  for(unsigned i = 0; i < cfg->nparams; i++) {
    free(cfg->params[i].name);
    free(cfg->params[i].value);
  }
  free(cfg->params);
  memset(cfg, 0, sizeof(*cfg));
}

void splunk_print_validation_error(FILE *out, const char *msg)
{
  fputs("<error><message>", out);
  put_escaped(out, msg);
  fputs("</message></error>\n", out);
  fflush(out);
}

/* ---- events
 * ---------------------------------------------------------------------- */

struct splunk_writer {
  FILE *out;
  enum splunk_writer_mode mode;
  struct buf head; /* "<event stanza=..>" */
  struct buf tail; /* "<sourcetype>..</sourcetype><index>..</index>.." */
  struct buf ev;
  int started;
};

static int put_elem(struct buf *b, const char *name, const char *val)
{
  return buf_printf(b, "<%s>", name) || util_xml_escape(b, val, strlen(val)) ||
         buf_printf(b, "</%s>", name);
}

struct splunk_writer *splunk_writer_new(FILE *out, enum splunk_writer_mode mode,
                                        const char *stanza,
                                        const char *sourcetype,
                                        const char *index, const char *host)
{
  struct splunk_writer *w = calloc(1, sizeof(*w));
  int rc = 0;

  if(!w)
    return NULL;
  w->out = out;
  w->mode = mode;
  /* Events are flushed per source before its checkpoint anyway; between
   * flushes a large buffer saves a write(2) per 4 KiB. */
  setvbuf(out, NULL, _IOFBF, 1u << 20);
  buf_init(&w->head, 64 * 1024);
  buf_init(&w->tail, 64 * 1024);
  buf_init(&w->ev, (size_t)-1);
  if(stanza)
    rc = buf_puts(&w->head, "<event stanza=\"") ||
         util_xml_escape(&w->head, stanza, strlen(stanza)) ||
         buf_puts(&w->head, "\">");
  else
    rc = buf_puts(&w->head, "<event>");
  if(sourcetype)
    rc = rc || put_elem(&w->tail, "sourcetype", sourcetype);
  if(index)
    rc = rc || put_elem(&w->tail, "index", index);
  if(host)
    rc = rc || put_elem(&w->tail, "host", host);
  rc = rc || buf_puts(&w->tail, "");
  if(rc) {
    buf_free(&w->head);
    buf_free(&w->tail);
    free(w);
    return NULL;
  }
  return w;
}

int splunk_write_event(struct splunk_writer *w, const char *data, size_t len,
                       int64_t time, const char *source)
{
  struct buf *b = &w->ev;
  int rc;

  if(w->mode == SPLUNK_WRITER_LINES) {
    if(fwrite(data, 1, len, w->out) != len)
      return -1;
    if((!len || data[len - 1] != '\n') && putc('\n', w->out) == EOF)
      return -1;
    return 0;
  }
  buf_reset(b);
  rc = (!w->started && buf_puts(b, "<stream>\n")) ||
       buf_append(b, w->head.data, w->head.len);
  if(time >= 0)
    rc = rc || buf_printf(b, "<time>%lld</time>", (long long)time);
  if(source)
    rc = rc || put_elem(b, "source", source);
  rc = rc || buf_append(b, w->tail.data, w->tail.len) ||
       buf_puts(b, "<data>") || util_xml_escape(b, data, len) ||
       buf_puts(b, "</data></event>\n");
  if(rc || fwrite(b->data, 1, b->len, w->out) != b->len)
    return -1;
  w->started = 1;
  return 0;
}

int splunk_writer_flush(struct splunk_writer *w)
{
  return fflush(w->out) == 0 && !ferror(w->out) ? 0 : -1;
}

int splunk_writer_finish(struct splunk_writer *w)
{
  int rc = 0;

  if(!w)
    return 0;
  if(w->mode == SPLUNK_WRITER_XML && w->started &&
     fputs("</stream>\n", w->out) == EOF)
    rc = -1;
  if(splunk_writer_flush(w))
    rc = -1;
  buf_free(&w->head);
  buf_free(&w->tail);
  buf_free(&w->ev);
  free(w);
  return rc;
}
