/*
 * input: what the four TA-dmarc-c modular inputs share: the report options
 * common to all of them (output format, DNS, XSD, limits), reading them
 * from Splunk's stanza or from command-line flags, and the event sink that
 * turns ingested reports into Splunk events.
 */
#ifndef TA_INPUT_H
#define TA_INPUT_H

#include <stdint.h>

#include "ingest.h"
#include "splunk.h"

/* The scheme args every input shares (after its own), so their names,
 * titles and defaults are written once.  (Laid out as rows of a table,
 * which clang-format cannot see inside a macro.) */
/* clang-format off */
#define INPUT_SCHEME_REPORT_ARGS \
  { "resolve_ip", "Resolve IP", "Add the forward-confirmed reverse DNS name " \
    "of each source IP (default true)", SPLUNK_ARG_BOOLEAN, 0 }, \
  { "validate_xml", "Validate XML", "Annotate events with XSD validation " \
    "results (default true)", SPLUNK_ARG_BOOLEAN, 0 }, \
  { "output_format", "Output format", "json (default) or kv (legacy)", \
    SPLUNK_ARG_STRING, 0 }

/* ... and the mail inputs' DKIM args. */
#define INPUT_SCHEME_DKIM_ARGS \
  { "validate_dkim", "Validate DKIM", "Verify the DKIM signatures of the " \
    "report mails (default false)", SPLUNK_ARG_BOOLEAN, 0 }, \
  { "dns_server", "DNS server", "IP[:PORT] of the resolver for DKIM keys and " \
    "resolve_ip (default: the system resolver)", SPLUNK_ARG_STRING, 0 }

/* The row that ends every scheme's arg table. */
#define INPUT_SCHEME_END { NULL, NULL, NULL, 0, 0 }
/* clang-format on */

struct input_opts {
  struct dmarc_ingest_opts ingest; /* its resolve_ip and dns_server too
                                      (dns_server malloc'd, ours) */
  char *checkpoint_dir;            /* NULL: remember nothing */
  const char *index;               /* from the stanza, or NULL */
  const char *host;
  char *secrets[4]; /* fetched from storage/passwords; wiped */
  unsigned nsecrets;
};

/* Defaults: JSON, resolve_ip on (system resolver), validate_xml on,
 * default limits. */
void input_opts_default(struct input_opts *o);
void input_opts_free(struct input_opts *o);

/* Apply the report args of a stanza (resolve_ip, validate_xml,
 * output_format).  Returns 0, or -1 with a message for the user in err. */
int input_opts_from_stanza(struct input_opts *o, const struct splunk_config *c,
                           char *err, size_t errlen);

/* A secret of the stanza (field: "password", "client_secret", ...):
 * value itself, or when value is a mask ("****") the secret splunkd keeps
 * for this input in storage/passwords (splunk_secret_get), which lives
 * until input_opts_free.  NULL when value is NULL, or with a message in
 * err when the stored secret cannot be had (saying how to store it). */
const char *input_secret(struct input_opts *o, const struct splunk_config *c,
                         const char *value, const char *field, char *err,
                         size_t errlen);

/* Set the DNS server of the lookups (resolve_ip and DKIM): 0, or -1 out of
 * memory. */
int input_opts_dns_server(struct input_opts *o, const char *server);

/* Apply one shared command-line flag (see INPUT_OPTIONS_HELP); returns 1
 * when the flag was one of ours, 0 when not, -1 for a bad value. */
int input_opts_flag(struct input_opts *o, const char *flag, const char *value);

/* getopt_long entries for the shared flags; ids from 1000 up. */
extern const struct option input_long_options[];
#define INPUT_LONG_OPTIONS_COUNT 11

#define INPUT_OPTIONS_HELP                                                                 \
  "  --output json|kv          event format (default json; kv is the legacy RUA format)\n" \
  "  --no-resolve-ip           do not add forward-confirmed reverse DNS names\n"           \
  "  --dns-server IP[:PORT]    resolver for --resolve-ip (default: /etc/resolv.conf)\n"    \
  "  --dns-deadline-ms N       DNS time budget per report (default 10000)\n"               \
  "  --no-validate-xml         do not annotate events with XSD validation results\n"       \
  "  --checkpoint-dir DIR      remember what was ingested (default: remember nothing)\n"   \
  "  --max-bytes N             decompressed bytes per source (default 100000000)\n"        \
  "  --max-members N           members per zip file (default 100)\n"                       \
  "  --max-nesting N           archive layers inside each other (default 3)\n"             \
  "  --max-records N           records per report (default 1000000)\n"                     \
  "  --log-level LEVEL         debug, info, warn or error (default info)\n"

/* A splunkd run's output: open the XML event stream with the stanza's
 * metadata (sourcetype dmarc, the stanza's index and host), call run(ud,
 * o, stream), then close the stream.  Returns run's exit code, or 1 when
 * the stream could not be opened or written to the end. */
int input_run_stream(const struct splunk_config *cfg, struct input_opts *o,
                     int (*run)(void *ud, struct input_opts *o,
                                struct splunk_writer *w),
                     void *ud);

/* A stanza param that is set: the first non-empty of name and old_name
 * (the old TA-dmarc add-on's name for it; may be NULL), else NULL. */
const char *input_param(const struct splunk_config *c, const char *name,
                        const char *old_name);

/* Sink for dmarc_ingest: every event to the writer, counted. */
struct input_sink {
  struct splunk_writer *w;
  uint64_t events;
};

int input_sink_event(void *ud, const char *text, size_t len, int64_t time,
                     const char *source);

#endif
