#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"

#include "log.h"
#include "util.h"

const struct option input_long_options[] = {
  { "output", required_argument, NULL, 1000 },
  { "no-resolve-ip", no_argument, NULL, 1001 },
  { "dns-server", required_argument, NULL, 1002 },
  { "dns-deadline-ms", required_argument, NULL, 1003 },
  { "no-validate-xml", no_argument, NULL, 1004 },
  { "checkpoint-dir", required_argument, NULL, 1005 },
  { "max-bytes", required_argument, NULL, 1006 },
  { "max-members", required_argument, NULL, 1007 },
  { "max-nesting", required_argument, NULL, 1008 },
  { "max-records", required_argument, NULL, 1009 },
  { "log-level", required_argument, NULL, 1010 },
};

void input_opts_default(struct input_opts *o)
{
  memset(o, 0, sizeof(*o));
  dmarc_ingest_opts_default(&o->ingest);
  o->ingest.resolve_ip = 1;
}

void input_opts_free(struct input_opts *o)
{
  for(unsigned i = 0; i < o->nsecrets; i++) {
    explicit_bzero(o->secrets[i], strlen(o->secrets[i]));
    free(o->secrets[i]);
  }
  o->nsecrets = 0;
  free((char *)o->ingest.dns_server);
  free(o->checkpoint_dir);
  o->ingest.dns_server = NULL;
  o->checkpoint_dir = NULL;
}

int input_opts_dns_server(struct input_opts *o, const char *server)
{
  char *s = strdup(server);

  if(!s)
    return -1;
  free((char *)o->ingest.dns_server);
  o->ingest.dns_server = s;
  return 0;
}

const char *input_secret(struct input_opts *o, const struct splunk_config *c,
                         const char *value, const char *field, char *err,
                         size_t errlen)
{
  char *s;
  const char *name = c->stanza ? c->stanza : "";

  if(!splunk_secret_masked(value))
    return value;
  if(o->nsecrets == sizeof(o->secrets) / sizeof(o->secrets[0])) {
    snprintf(err, errlen, "too many secrets in one stanza");
    return NULL;
  }
  if(!(s = splunk_secret_get(c, name, field, err, errlen))) {
    if(!*err)
      snprintf(err, errlen,
               "%s is masked in the stanza but splunkd's "
               "storage/passwords has no %s for it: store it as user \"%s\" "
               "in realm %s (POST servicesNS/nobody/%s/storage/passwords "
               "name=<that user> realm=%s password=<the secret>)",
               field, field, name, SPLUNK_SECRET_REALM, SPLUNK_SECRET_APP,
               SPLUNK_SECRET_REALM);
    return NULL;
  }
  o->secrets[o->nsecrets++] = s;
  return s;
}

const char *input_param(const struct splunk_config *c, const char *name,
                        const char *old_name)
{
  const char *v = splunk_param(c, name);
  if((!v || !*v) && old_name)
    v = splunk_param(c, old_name);
  return v && *v ? v : NULL;
}

static int set_format(struct input_opts *o, const char *v)
{
  if(!strcmp(v, "json"))
    o->ingest.fmt = DMARC_FORMAT_JSON;
  else if(!strcmp(v, "kv"))
    o->ingest.fmt = DMARC_FORMAT_KV;
  else
    return -1;
  return 0;
}

int input_opts_from_stanza(struct input_opts *o, const struct splunk_config *c,
                           char *err, size_t errlen)
{
  static const char *const bools[] = { "resolve_ip", "validate_xml" };
  const char *v;

  for(unsigned i = 0; i < 2; i++) {
    int b;
    v = splunk_param(c, bools[i]);
    if(!v || !*v)
      continue;
    b = splunk_parse_bool(v);
    if(b < 0) {
      snprintf(err, errlen, "%s must be true or false, not '%s'", bools[i], v);
      return -1;
    }
    if(i == 0)
      o->ingest.resolve_ip = b;
    else
      o->ingest.validate_xml = b;
  }
  v = splunk_param(c, "output_format");
  if(v && *v && set_format(o, v)) {
    snprintf(err, errlen, "output_format must be json or kv, not '%s'", v);
    return -1;
  }
  o->index = splunk_param(c, "index");
  o->host = splunk_param(c, "host");
  if(c->checkpoint_dir && *c->checkpoint_dir) {
    free(o->checkpoint_dir);
    o->checkpoint_dir = strdup(c->checkpoint_dir);
  }
  return 0;
}

static int number(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
  return util_parse_u64(v, min, max, out);
}

int input_opts_flag(struct input_opts *o, const char *flag, const char *v)
{
  uint64_t n;

  if(!strcmp(flag, "output"))
    return set_format(o, v) ? -1 : 1;
  if(!strcmp(flag, "no-resolve-ip")) {
    o->ingest.resolve_ip = 0;
    return 1;
  }
  if(!strcmp(flag, "dns-server")) {
    input_opts_dns_server(o, v);
    return 1;
  }
  if(!strcmp(flag, "dns-deadline-ms")) {
    if(number(v, 1, 3600000, &n))
      return -1;
    o->ingest.dns_deadline_ms = (int)n;
    return 1;
  }
  if(!strcmp(flag, "no-validate-xml")) {
    o->ingest.validate_xml = 0;
    return 1;
  }
  if(!strcmp(flag, "checkpoint-dir")) {
    free(o->checkpoint_dir);
    o->checkpoint_dir = strdup(v);
    return 1;
  }
  if(!strcmp(flag, "max-bytes"))
    return number(v, 1, UINT64_MAX, &o->ingest.alim.max_bytes) ? -1 : 1;
  if(!strcmp(flag, "max-members")) {
    if(number(v, 1, 1000000, &n))
      return -1;
    o->ingest.alim.max_members = (unsigned)n;
    return 1;
  }
  if(!strcmp(flag, "max-nesting")) {
    if(number(v, 0, 16, &n))
      return -1;
    o->ingest.alim.max_depth = (unsigned)n;
    return 1;
  }
  if(!strcmp(flag, "max-records"))
    return number(v, 1, UINT64_MAX, &o->ingest.dlim.max_records) ? -1 : 1;
  if(!strcmp(flag, "log-level")) {
    enum log_level l;
    if(log_level_parse(v, &l))
      return -1;
    log_set_level(l);
    return 1;
  }
  return 0;
}

int input_run_stream(const struct splunk_config *cfg, struct input_opts *o,
                     int (*run)(void *ud, struct input_opts *o,
                                struct splunk_writer *w),
                     void *ud)
{
  struct splunk_writer *w = splunk_writer_new(
      stdout, SPLUNK_WRITER_XML, cfg->stanza, "dmarc", o->index, o->host);
  int rc = w ? run(ud, o, w) : 1;

  if(splunk_writer_finish(w))
    rc = 1;
  return rc;
}

int input_sink_event(void *ud, const char *text, size_t len, int64_t time,
                     const char *source)
{
  struct input_sink *s = ud;

  if(splunk_write_event(s->w, text, len, time, source))
    return -1;
  s->events++;
  return 0;
}
