#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "spool.h"
#include "log.h"
#include "util.h"
#include "xsd.h"

/* A report that parsed, waiting for the end of its source. */
struct pending {
  struct dmarc_report *report;
  int validated;
  struct xsd_result xsd[XSD_SCHEMA_COUNT];
  int64_t dns_deadline;
  struct pending *next;
};

struct dmarc_ingest {
  struct dmarc_ingest_opts o;
  struct dmarc_spool *spool;
  struct dns_resolver *dns; /* ours, with resolve_ip; NULL: no lookups */

  /* Per source. */
  const char *source;
  struct pending *head, **tail;
  unsigned skipped, leaves;
  enum dmarc_verdict last_verdict;
  int transient; /* a leaf failed for want of memory or disk */
  char last_reason[600];
  char notes[640]; /* every leaf left out, with its reason */

  /* Per leaf. */
  struct dmarc_parser *parser;
  struct xsd_validation *xsd;
  char leaf[256];
  int64_t leaf_start;
};

void dmarc_ingest_opts_default(struct dmarc_ingest_opts *o)
{
  memset(o, 0, sizeof(*o));
  o->fmt = DMARC_FORMAT_JSON;
  o->validate_xml = 1;
  o->dns_deadline_ms = 10000;
  archive_limits_default(&o->alim);
  dmarc_limits_default(&o->dlim);
}

const char *dmarc_ingest_status_name(enum dmarc_ingest_status s)
{
  switch(s) {
  case INGEST_OK: return "ok";
  case INGEST_NOT_REPORT: return "not a report";
  case INGEST_REJECTED: return "rejected";
  case INGEST_TRANSIENT: return "transient failure";
  }
  return "?";
}

struct dmarc_ingest *dmarc_ingest_new(const struct dmarc_ingest_opts *opts,
                                      char *err, size_t errlen)
{
  struct dmarc_ingest *in = calloc(1, sizeof(*in));

  if(!in || !(in->spool = dmarc_spool_new())) {
    snprintf(err, errlen, "out of memory");
    free(in);
    return NULL;
  }
  in->o = *opts;
  in->o.dns_server = NULL; /* borrowed: not kept */
  if(opts->resolve_ip) {
    char derr[256];
    in->dns = dns_resolver_new(opts->dns_server, 0, derr, sizeof(derr));
    if(!in->dns)
      log_warn("DNS resolver unavailable, reports are ingested without "
               "ip_resolution: %s",
               derr);
  }
  if(in->o.validate_xml && xsd_init(err, errlen)) {
    dmarc_ingest_free(in);
    return NULL;
  }
  return in;
}

void dmarc_ingest_free(struct dmarc_ingest *in)
{
  if(!in)
    return;
  dmarc_spool_free(in->spool);
  dns_resolver_free(in->dns);
  free(in);
}

int dmarc_ingest_resolves(const struct dmarc_ingest *in)
{
  return in->dns != NULL;
}

static void submit_ip(void *ud, const char *ip)
{
  dns_submit(ud, ip);
}

/* What a leaf was, for the messages: "file.zip" or "file.zip/member.xml". */
static void leaf_label(struct dmarc_ingest *in, char *out, size_t len)
{
  if(!strcmp(in->leaf, in->source))
    snprintf(out, len, "%s", in->source);
  else
    snprintf(out, len, "%s: member '%s'", in->source, in->leaf);
}

/* Collect "member 'x': reason" for every leaf left out, so the caller can
 * log the source in one line that names them all. */
static void note_leaf(struct dmarc_ingest *in, const char *label)
{
  size_t used = strlen(in->notes);
  const char *what =
      strcmp(in->leaf, in->source) ? label + strlen(in->source) + 2 : NULL;

  if(used >= sizeof(in->notes) - 1)
    return;
  snprintf(in->notes + used, sizeof(in->notes) - used, "%s%s%s%s",
           used ? "; " : "", what ? what : "", what ? ": " : "",
           in->last_reason);
}

static void leaf_rejected(struct dmarc_ingest *in)
{
  char label[512];

  in->last_verdict = in->parser ? DMARC_MALFORMED : DMARC_NOMEM;
  leaf_label(in, label, sizeof(label));
  if(in->parser) {
    /* feed/finish already decided; re-read the verdict via finish */
    in->last_verdict = dmarc_parser_finish(in->parser);
    snprintf(in->last_reason, sizeof(in->last_reason), "%s",
             dmarc_parser_reason(in->parser));
  }
  else
    snprintf(in->last_reason, sizeof(in->last_reason), "out of memory");
  if(in->last_verdict == DMARC_NOMEM)
    in->transient = 1;
  log_debug("%s: left out: %s", label, in->last_reason);
  note_leaf(in, label);
  in->skipped++;
  dmarc_parser_done(in->parser);
  in->parser = NULL;
  xsd_validation_abort(in->xsd);
  in->xsd = NULL;
}

static int on_leaf_begin(void *ud, const char *name, unsigned depth)
{
  struct dmarc_ingest *in = ud;

  (void)depth;
  in->leaves++;
  snprintf(in->leaf, sizeof(in->leaf), "%s", *name ? name : in->source);
  in->leaf_start = util_now_ms();
  in->parser = dmarc_parser_new(&in->o.dlim, in->o.fmt, in->spool, in->leaf);
  if(in->parser && in->o.validate_xml)
    in->xsd = xsd_validation_begin();
  if(!in->parser || (in->o.validate_xml && !in->xsd)) {
    leaf_rejected(in);
    return -1;
  }
  return 0;
}

static int on_leaf_data(void *ud, const void *buf, size_t len)
{
  struct dmarc_ingest *in = ud;

  if(dmarc_parser_feed(in->parser, buf, len) != DMARC_OK) {
    leaf_rejected(in);
    return 1;
  }
  /* The validator only ever sees bytes the report parser accepted, so no
   * DTD or entity reaches libxml2. */
  if(in->xsd)
    xsd_validation_feed(in->xsd, buf, len);
  if(in->dns) {
    dmarc_parser_drain_ips(in->parser, submit_ip, in->dns);
    dns_poll(in->dns);
  }
  return 0;
}

static void on_leaf_end(void *ud, int status)
{
  struct dmarc_ingest *in = ud;
  struct pending *pd;

  if(!in->parser)
    return; /* already rejected and logged */
  if(status != 0) {
    /* The archive layer failed: the walk reports why.  The parser never
     * saw the end, so its verdict may still be OK and done then hands back
     * a report, which is dropped with the source. */
    dmarc_report_free(dmarc_parser_done(in->parser));
    in->parser = NULL;
    xsd_validation_abort(in->xsd);
    in->xsd = NULL;
    return;
  }
  if(dmarc_parser_finish(in->parser) != DMARC_OK) {
    leaf_rejected(in);
    return;
  }
  if(in->dns) {
    dmarc_parser_drain_ips(in->parser, submit_ip, in->dns);
    dns_poll(in->dns);
  }
  pd = calloc(1, sizeof(*pd));
  if(!pd || !(pd->report = dmarc_parser_done(in->parser))) {
    in->parser = NULL;
    free(pd);
    in->skipped++;
    in->last_verdict = DMARC_NOMEM;
    in->transient = 1;
    snprintf(in->last_reason, sizeof(in->last_reason), "out of memory");
    xsd_validation_abort(in->xsd);
    in->xsd = NULL;
    return;
  }
  in->parser = NULL;
  if(in->xsd) {
    xsd_validation_end(in->xsd, pd->xsd);
    pd->validated = 1;
    in->xsd = NULL;
  }
  pd->dns_deadline = in->leaf_start + in->o.dns_deadline_ms;
  *in->tail = pd;
  in->tail = &pd->next;
}

static const char *resolve(void *ud, const char *ip)
{
  return dns_lookup(ud, ip);
}

static void drop_pending(struct dmarc_ingest *in)
{
  while(in->head) {
    struct pending *n = in->head->next;
    dmarc_report_free(in->head->report);
    free(in->head);
    in->head = n;
  }
  in->tail = &in->head;
}

static enum dmarc_ingest_status ingest(struct dmarc_ingest *in, int fd,
                                       const void *data, size_t len,
                                       const char *name,
                                       const struct dmarc_source_info *info,
                                       dmarc_event_cb cb, void *ud,
                                       struct dmarc_ingest_result *res)
{
  static const struct archive_handler h = { on_leaf_begin, on_leaf_data,
                                            on_leaf_end };
  struct archive_error err = { 0, "" };
  int rc;

  memset(res, 0, sizeof(*res));
  in->source = name;
  in->head = NULL;
  in->tail = &in->head;
  in->skipped = in->leaves = 0;
  in->last_verdict = DMARC_OK;
  in->transient = 0;
  in->last_reason[0] = '\0';
  in->notes[0] = '\0';
  dmarc_spool_clear(in->spool);

  rc = fd >= 0 ? archive_walk_fd(fd, name, &in->o.alim, &h, in, &err)
               : archive_walk_mem(data, len, name, &in->o.alim, &h, in, &err);
  if(in->parser) { /* a walk that stopped inside a leaf */
    dmarc_report_free(dmarc_parser_done(in->parser));
    in->parser = NULL;
    xsd_validation_abort(in->xsd);
    in->xsd = NULL;
  }
  if(rc != 0) {
    drop_pending(in);
    dmarc_spool_clear(in->spool);
    res->status =
        rc == -1 && !err.permanent ? INGEST_TRANSIENT : INGEST_REJECTED;
    snprintf(res->reason, sizeof(res->reason), "%s",
             rc == -1 ? err.msg : in->last_reason);
    return res->status;
  }
  /* Memory or the spool's disk ran out: nothing is wrong with the bytes,
   * so nothing may be checkpointed as rejected; emit nothing, try again. */
  if(in->transient) {
    drop_pending(in);
    dmarc_spool_clear(in->spool);
    res->status = INGEST_TRANSIENT;
    snprintf(res->reason, sizeof(res->reason), "%s", in->last_reason);
    return res->status;
  }
  if(!in->head) {
    res->status = in->last_verdict == DMARC_NOT_REPORT || in->leaves == 0
                      ? INGEST_NOT_REPORT
                      : INGEST_REJECTED;
    snprintf(res->reason, sizeof(res->reason), "%s",
             in->leaves ? in->notes : "empty archive");
    return res->status;
  }
  for(struct pending *pd = in->head; pd; pd = pd->next) {
    const char *names[XSD_SCHEMA_COUNT], *infos[XSD_SCHEMA_COUNT];
    int pass[XSD_SCHEMA_COUNT];
    struct dmarc_xsd_annotation ann = { XSD_SCHEMA_COUNT, names, pass, infos };
    const char *key = dmarc_report_key(pd->report);
    int64_t n;

    if(info && info->seen && info->seen(info->ud, key)) {
      log_info("%s: report %s from %s was already ingested, not emitted "
               "again",
               name, dmarc_report_id(pd->report), dmarc_report_org(pd->report));
      res->duplicates++;
      continue;
    }
    for(unsigned i = 0; i < XSD_SCHEMA_COUNT; i++) {
      names[i] = xsd_schema_name(i);
      pass[i] = pd->xsd[i].pass;
      infos[i] = pd->xsd[i].info;
    }
    if(in->dns)
      dns_wait(in->dns, pd->dns_deadline);
    n = dmarc_report_emit(pd->report, in->spool, pd->validated ? &ann : NULL,
                          !info                            ? NULL
                          : in->o.fmt == DMARC_FORMAT_JSON ? info->extra_json
                                                           : info->extra_kv,
                          in->dns ? resolve : NULL, in->dns, cb, ud);
    if(n < 0) {
      drop_pending(in);
      res->status = INGEST_TRANSIENT;
      snprintf(res->reason, sizeof(res->reason), "writing the events failed");
      return res->status;
    }
    res->events += (uint64_t)n;
    res->reports++;
    if(info && info->emitted)
      info->emitted(info->ud, key);
  }
  drop_pending(in);
  dmarc_spool_clear(in->spool);
  res->skipped_leaves = in->skipped;
  if(in->skipped)
    snprintf(res->reason, sizeof(res->reason), "%u part(s) left out: %s",
             in->skipped, in->notes);
  res->status = INGEST_OK;
  return res->status;
}

enum dmarc_ingest_status dmarc_ingest_fd(struct dmarc_ingest *in, int fd,
                                         const char *name, dmarc_event_cb cb,
                                         void *ud,
                                         struct dmarc_ingest_result *res)
{
  return ingest(in, fd, NULL, 0, name, NULL, cb, ud, res);
}

enum dmarc_ingest_status dmarc_ingest_mem(struct dmarc_ingest *in,
                                          const void *data, size_t len,
                                          const char *name,
                                          const struct dmarc_source_info *info,
                                          dmarc_event_cb cb, void *ud,
                                          struct dmarc_ingest_result *res)
{
  return ingest(in, -1, data, len, name, info, cb, ud, res);
}
