/*
 * Events of a finished DMARC report: each spooled record between the text
 * dmarc_parser_done assembled before it and the XSD annotation and extra
 * fields after it, with the name its source address resolves to put in
 * where the rendering marked the place.
 */
#include "report_private.h"

#include <ctype.h>
#include <string.h>

#include "buf.h"
#include "util.h"

struct emit_ctx {
  const struct dmarc_report *r;
  struct buf ev;
  struct buf suffix;
  const char *(*resolve)(void *ud, const char *ip);
  void *resolve_ud;
  dmarc_event_cb cb;
  void *ud;
  int64_t count;
};

static int emit_one(void *ud, const struct dmarc_spool_entry *e)
{
  struct emit_ctx *c = ud;
  const char *name = NULL;
  int rc;

  if(c->resolve && *e->ip && e->insert_at < e->len)
    name = c->resolve(c->resolve_ud, e->ip);
  if(c->r->fmt == DMARC_FORMAT_KV && c->resolve && *e->ip)
    name = c->resolve(c->resolve_ud, e->ip);
  buf_reset(&c->ev);
  rc = buf_append(&c->ev, c->r->prefix.data, c->r->prefix.len) ||
       buf_append(&c->ev, e->frag, e->insert_at);
  if(name) {
    size_t at = c->ev.len;
    if(c->r->fmt == DMARC_FORMAT_JSON)
      rc = rc || buf_puts(&c->ev, ", \"ip_resolution\": \"") ||
           util_json_escape(&c->ev, name, strlen(name)) ||
           buf_putc(&c->ev, '"');
    else
      rc = rc || buf_puts(&c->ev, "src=\"") || buf_puts(&c->ev, name) ||
           buf_puts(&c->ev, "\",\n");
    for(size_t i = at; i < c->ev.len; i++) /* DNS names: any case */
      c->ev.data[i] = (char)tolower((unsigned char)c->ev.data[i]);
  }
  rc = rc ||
       buf_append(&c->ev, e->frag + e->insert_at, e->len - e->insert_at) ||
       buf_append(&c->ev, c->suffix.data, c->suffix.len);
  if(rc || c->cb(c->ud, c->ev.data, c->ev.len, c->r->time, c->r->source))
    return -1;
  c->count++;
  return 0;
}

int64_t dmarc_report_emit(const struct dmarc_report *r,
                          struct dmarc_spool *spool,
                          const struct dmarc_xsd_annotation *xsd,
                          const char *extra,
                          const char *(*resolve)(void *ud, const char *ip),
                          void *resolve_ud, dmarc_event_cb cb, void *ud)
{
  struct emit_ctx c = {
    .r = r, .resolve = resolve, .resolve_ud = resolve_ud, .cb = cb, .ud = ud
  };
  int rc;

  buf_init(&c.ev, (size_t)-1);
  buf_init(&c.suffix, (size_t)-1);
  rc = buf_append(&c.suffix, r->suffix_mid.data, r->suffix_mid.len);
  if(r->fmt == DMARC_FORMAT_JSON) {
    if(!xsd)
      rc = rc || buf_puts(&c.suffix, "\"None\"");
    else {
      rc = rc || buf_putc(&c.suffix, '{');
      for(unsigned i = 0; i < xsd->count; i++) {
        rc =
            rc || (i && buf_puts(&c.suffix, ", ")) ||
            buf_putc(&c.suffix, '"') ||
            util_json_escape(&c.suffix, xsd->names[i], strlen(xsd->names[i])) ||
            buf_puts(&c.suffix, "\": {\"result\": \"") ||
            buf_puts(&c.suffix, xsd->pass[i] ? "pass\"" : "fail\"");
        if(!xsd->pass[i])
          rc =
              rc || buf_puts(&c.suffix, ", \"info\": \"") ||
              util_json_escape(&c.suffix, xsd->info[i], strlen(xsd->info[i])) ||
              buf_putc(&c.suffix, '"');
        rc = rc || buf_putc(&c.suffix, '}');
      }
      rc = rc || buf_putc(&c.suffix, '}');
    }
    if(extra && *extra)
      rc = rc || buf_puts(&c.suffix, ", ") || buf_puts(&c.suffix, extra);
    rc = rc || buf_putc(&c.suffix, '}');
  }
  else {
    /* Legacy KV: one word from the relaxed schema (the first). */
    const char *word = !xsd ? "unknown" : xsd->pass[0] ? "success" : "failure";
    rc = rc || buf_printf(&c.suffix, "\"%s\"\n", word);
    if(extra && *extra)
      rc = rc || buf_puts(&c.suffix, extra);
  }
  if(!rc)
    rc = dmarc_spool_each(spool, r->start, r->end, emit_one, &c);
  buf_free(&c.ev);
  buf_free(&c.suffix);
  return rc ? -1 : c.count;
}
