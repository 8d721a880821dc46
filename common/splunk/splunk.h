/*
 * splunk: the modular-input protocol, for native executables.
 *
 *   <exe> --scheme               print the scheme XML (splunk_print_scheme)
 *   <exe> --validate-arguments   read <items> on stdin, answer with
 *                                <error><message>..</message></error> + exit 1
 *   <exe>                        read <input> on stdin, stream <event>s
 *
 * Both stdin documents are parsed with the same bounded reader
 * (splunk_read_config).  Events go through a writer that is either the XML
 * stream splunkd expects or, for people and tests, one event per line.
 */
#ifndef SPLUNK_SPLUNK_H
#define SPLUNK_SPLUNK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- scheme ----------------------------------------------------------------
 */

enum splunk_arg_type {
  SPLUNK_ARG_STRING,
  SPLUNK_ARG_NUMBER,
  SPLUNK_ARG_BOOLEAN
};

struct splunk_arg {
  const char *name;
  const char *title;
  const char *description;
  enum splunk_arg_type type;
  int required_on_create;
};

struct splunk_scheme {
  const char *title;
  const char *description;
  const struct splunk_arg *args; /* terminated by a {NULL} entry */
};

/* Write the scheme XML (external validation on, streaming mode xml, one
 * process per stanza) to out.  Returns 0 or -1 on a write error. */
int splunk_print_scheme(FILE *out, const struct splunk_scheme *s);

/* ---- configuration from stdin ----------------------------------------------
 */

struct splunk_param {
  char *name;
  char *value; /* for a param_list, the values joined with "," */
};

struct splunk_config {
  char *server_host, *server_uri, *session_key, *checkpoint_dir;
  char *stanza; /* <stanza name> or <item name>; NULL if none */
  struct splunk_param *params;
  unsigned nparams;
};

/* Read a whole <input> or <items> document (at most 1 MiB) from in.
 * Returns 0, or -1 with a message in err (not XML, too large, ...). */
int splunk_read_config(FILE *in, struct splunk_config *cfg, char *err,
                       size_t errlen);

/* The value of param name, or NULL. */
const char *splunk_param(const struct splunk_config *cfg, const char *name);

/* Splunk's boolean words: 1/0, true/false, t/f, yes/no, y/n, on/off (any
 * case).  Returns 0/1, or -1 for anything else. */
int splunk_parse_bool(const char *s);

void splunk_config_free(struct splunk_config *cfg);

/* Print <error><message>msg</message></error> to out (for
 * --validate-arguments). */
void splunk_print_validation_error(FILE *out, const char *msg);

/* ---- secrets kept in storage/passwords --------------------------------------
 */

/* Where the inputs keep secrets: app (the REST namespace) and realm.  The
 * entry's user name is the input's stanza name (e.g. "dmarc_imap://corp"),
 * its password the secret itself or a JSON object with one member per
 * secret ({"password": ..} or {"client_secret": .., "refresh_token": ..}). */
#define SPLUNK_SECRET_APP   "TA-dmarc-c"
#define SPLUNK_SECRET_REALM "TA-dmarc-c"

/* True when a stanza value only says "stored elsewhere": one or more '*'
 * and nothing else (how Splunk masks a secret in a .conf file). */
bool splunk_secret_masked(const char *v);

/* Fetch the secret `field` of input `name` from splunkd's storage/passwords
 * (GET with cfg's server_uri and session key; a loopback splunkd's
 * self-signed certificate is accepted, any other is verified).  Returns a
 * malloc'd string (wipe it before freeing), or NULL: with err set when
 * splunkd could not be asked or refused, with err "" when it has no such
 * entry or the entry no such member. */
char *splunk_secret_get(const struct splunk_config *cfg, const char *name,
                        const char *field, char *err, size_t errlen);

/* ---- events
 * ------------------------------------------------------------------ */

enum splunk_writer_mode {
  SPLUNK_WRITER_XML,   /* <stream><event>..</event>..</stream> */
  SPLUNK_WRITER_LINES, /* the event text, then a newline */
};

struct splunk_writer;

/* Events go to out (usually stdout, which gets a large buffer).  stanza,
 * sourcetype, index, host may be NULL (then left out of the events). */
struct splunk_writer *splunk_writer_new(FILE *out, enum splunk_writer_mode mode,
                                        const char *stanza,
                                        const char *sourcetype,
                                        const char *index, const char *host);

/* Write one event.  time < 0 leaves <time> out (Splunk picks one).
 * Returns 0, or -1 on a write error. */
int splunk_write_event(struct splunk_writer *w, const char *data, size_t len,
                       int64_t time, const char *source);

/* Push everything written so far to the consumer (before a checkpoint).
 * Returns 0, or -1 on a write error (splunkd gone, disk full). */
int splunk_writer_flush(struct splunk_writer *w);

/* Close the stream (</stream>), flush, free.  Returns 0 or -1. */
int splunk_writer_finish(struct splunk_writer *w);

#endif
