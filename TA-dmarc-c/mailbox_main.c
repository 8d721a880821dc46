/*
 * mailbox_main: what the mail inputs add to input_main (see mailbox.h,
 * struct mailbox_frontend): the mailbox flags and stanza params, and the
 * run.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input_main.h"
#include "mailbox.h"
#include "mailbox_dkim.h"

#include "pool.h"
#include "log.h"
#include "util.h"

/* The mailbox flags and a front-end's own (OAuth2). */
#define MAX_OPTIONS 48

/* What one process of a mail input collects before its run. */
struct mb_input {
  const struct mailbox_frontend *fe;
  struct mailbox_opts defaults;
  struct mailbox_opts m;
  const char *pwfile;       /* --password-file */
  char *password;           /* read from it */
  bool want_dkim;           /* --validate-dkim */
  struct mailbox_dkim dkim; /* one verifier per process */
};

/* Turn DKIM on with the resolver io names (--dns-server / dns_server):
 * 0, or -1 with the reason in err when that resolver cannot be used. */
static int dkim_on(struct mb_input *in, const struct input_opts *io, char *err,
                   size_t errlen)
{
  in->dkim.dns = &io->ingest;
  in->m.dkim = mailbox_dkim_verify;
  in->m.dkim_ud = &in->dkim;
  return mailbox_dkim_check(&in->dkim, err, errlen);
}

static int set_security(struct mailbox_opts *m, const char *v)
{
  if(!strcmp(v, "tls") || !strcmp(v, "ssl"))
    m->security = MAILBOX_TLS;
  else if(!strcmp(v, "starttls"))
    m->security = MAILBOX_STARTTLS;
  else
    return -1;
  return 0;
}

static int set_batch(struct mailbox_opts *m, const char *v)
{
  uint64_t n;
  if(util_parse_u64(v, 1, MAILBOX_MAX_BATCH, &n))
    return -1;
  m->batch_size = (unsigned)n;
  return 0;
}

static int set_port(struct mailbox_opts *m, const char *v)
{
  uint64_t n;
  if(util_parse_u64(v, 1, 65535, &n))
    return -1;
  m->port = (uint16_t)n;
  return 0;
}

static int check_search(const char *v)
{
  return v && strpbrk(v, "\r\n") ? -1 : 0;
}

/* What every run needs, whatever it came from. */
static int check_opts(const struct mailbox_frontend *fe,
                      const struct mailbox_opts *m, char *err, size_t errlen)
{
  if(!m->server || !*m->server)
    snprintf(err, errlen, "server is required");
  else if(!m->username || !*m->username)
    snprintf(err, errlen, "username is required");
  else if(fe->password && (!m->password || !*m->password))
    snprintf(err, errlen, "password is required");
  else if(m->ca_file && access(m->ca_file, R_OK))
    snprintf(err, errlen, "ca_file %s cannot be read", m->ca_file);
  else
    return 0;
  return -1;
}

static int from_stanza(struct mb_input *in, struct input_opts *io,
                       const struct splunk_config *c, char *err, size_t errlen)
{
  const struct mailbox_frontend *fe = in->fe;
  struct mailbox_opts *m = &in->m;
  const char *v;
  bool imap = fe->proto == MAILBOX_IMAP;

  *err = '\0';
  if(input_opts_from_stanza(io, c, err, errlen))
    return -1;
  if((v = input_param(c, "server", imap ? "imap_server" : "pop3_server")))
    m->server = v;
  m->username = input_param(c, "username", imap ? "imap_username" : NULL);
  if(fe->password) {
    m->password = input_param(c, "password", NULL);
    if(m->password && !(m->password = input_secret(io, c, m->password,
                                                   "password", err, errlen)))
      return -1;
  }
  m->ca_file = input_param(c, "ca_file", NULL);
  if((v = input_param(c, "dns_server", NULL)) && input_opts_dns_server(io, v)) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if((v = input_param(c, "port", NULL)) && set_port(m, v)) {
    snprintf(err, errlen, "port must be a number from 1 to 65535, not '%s'", v);
    return -1;
  }
  if((v = input_param(c, "security", NULL)) && set_security(m, v)) {
    snprintf(err, errlen, "security must be tls or starttls, not '%s'", v);
    return -1;
  }
  if((v = input_param(c, "batch_size", NULL)) && set_batch(m, v)) {
    snprintf(err, errlen,
             "batch_size must be a number from 1 to %d, not "
             "'%s'",
             MAILBOX_MAX_BATCH, v);
    return -1;
  }
  if(imap) {
    m->folder = input_param(c, "mailbox", "imap_mailbox");
    m->search = input_param(c, "search", NULL);
    if(check_search(m->search)) {
      snprintf(err, errlen,
               "search must be one line of IMAP SEARCH "
               "criteria");
      return -1;
    }
  }
  if((v = input_param(c, "validate_dkim", NULL))) {
    int b = splunk_parse_bool(v);
    if(b < 0) {
      snprintf(err, errlen, "validate_dkim must be true or false, not '%s'", v);
      return -1;
    }
    if(b && dkim_on(in, io, err, errlen))
      return -1;
  }
  if(fe->extra_stanza && fe->extra_stanza(m, io, c, err, errlen))
    return -1;
  return check_opts(fe, m, err, errlen);
}

/* The stanza: for a run, the front-end's prepare too (token source...). */
static int stanza(void *ud, struct input_opts *io,
                  const struct splunk_config *c, bool validate_only, char *err,
                  size_t errlen)
{
  struct mb_input *in = ud;

  in->m = in->defaults;
  if(from_stanza(in, io, c, err, errlen))
    return -1;
  if(!validate_only && in->fe->prepare &&
     in->fe->prepare(&in->m, io, err, errlen))
    return -1;
  return 0;
}

static int run(void *ud, struct input_opts *io, struct splunk_writer *w)
{
  struct mb_input *in = ud;
  return mailbox_run(&in->m, io, w);
}

static void cleanup(void *ud)
{
  struct mb_input *in = ud;

  free(in->password);
  in->password = NULL;
  mailbox_dkim_free(&in->dkim);
}

static void help(void *ud, FILE *out)
{
  const struct mailbox_frontend *fe = ((struct mb_input *)ud)->fe;
  bool imap = fe->proto == MAILBOX_IMAP;

  fprintf(
      out,
      "Usage: %s %s--username USER %s[options]\n"
      "       %s --scheme | --validate-arguments   (for splunkd)\n"
      "       %s                 (splunkd run: input XML on stdin)\n"
      "\n"
      "Reads the DMARC aggregate reports of a mailbox over %s and prints one\n"
      "JSON event per report record on stdout.  Logs go to stderr.\n"
      "\n"
      "  --server HOST             the %s server%s%s%s\n"
      "  --port N                  default %s (TLS), %s with --starttls\n"
      "  --starttls                plain connection upgraded with %s\n"
      "  --ca-file PEM             trust these CAs (default: the system store)\n"
      "  --username USER           login name\n",
      fe->name, fe->default_server ? "[--server HOST] " : "--server HOST ",
      fe->password ? "--password-file F " : "", fe->name, fe->name,
      imap ? "IMAP" : "POP3", imap ? "IMAP" : "POP3",
      fe->default_server ? " (default " : "",
      fe->default_server ? fe->default_server : "",
      fe->default_server ? ")" : "", imap ? "993" : "995", imap ? "143" : "110",
      imap ? "STARTTLS" : "STLS");
  if(fe->password)
    fprintf(
        out,
        "  --password-file F         read the password from the first "
        "line of F\n"
        "                            (never accepted on the command line)\n");
  if(imap)
    fprintf(out,
            "  --folder NAME             folder to read (default INBOX; "
            "UTF-8)\n"
            "  --search CRITERIA         IMAP SEARCH criteria (default ALL)\n");
  fprintf(
      out,
      "  --batch-size N            messages per round (default %d, at most %d)\n"
      "  --timeout-ms N            connect and read timeout (default %d)\n"
      "  --ingest-threads N        threads parsing reports while mail is\n"
      "                            fetched (default: 2 on 2+ CPUs; 0: none)\n"
      "  --validate-dkim           verify the report mails' DKIM signatures\n"
      "                            (keys looked up through --dns-server)\n"
      "%s",
      MAILBOX_DEFAULT_BATCH, MAILBOX_MAX_BATCH, MAILBOX_DEFAULT_TIMEOUT_MS,
      fe->extra_help ? fe->extra_help : "");
}

enum {
  O_SERVER = 500,
  O_PORT,
  O_STARTTLS,
  O_USERNAME,
  O_PWFILE,
  O_PASSWORD,
  O_FOLDER,
  O_CAFILE,
  O_SEARCH,
  O_BATCH,
  O_DKIM,
  O_TIMEOUT,
  O_THREADS,
};

static const struct option options[] = {
  { "server", required_argument, NULL, O_SERVER },
  { "port", required_argument, NULL, O_PORT },
  { "starttls", no_argument, NULL, O_STARTTLS },
  { "username", required_argument, NULL, O_USERNAME },
  { "password-file", required_argument, NULL, O_PWFILE },
  { "password", required_argument, NULL, O_PASSWORD },
  { "folder", required_argument, NULL, O_FOLDER },
  { "ca-file", required_argument, NULL, O_CAFILE },
  { "search", required_argument, NULL, O_SEARCH },
  { "batch-size", required_argument, NULL, O_BATCH },
  { "validate-dkim", no_argument, NULL, O_DKIM },
  { "timeout-ms", required_argument, NULL, O_TIMEOUT },
  { "ingest-threads", required_argument, NULL, O_THREADS },
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int flag(void *ud, int id, const char *v)
{
  struct mb_input *in = ud;
  struct mailbox_opts *m = &in->m;
  uint64_t n;
  int rc;

  switch(id) {
  case O_SERVER: m->server = v; return 0;
  case O_PORT: return set_port(m, v);
  case O_STARTTLS: m->security = MAILBOX_STARTTLS; return 0;
  case O_USERNAME: m->username = v; return 0;
  case O_PWFILE: in->pwfile = v; return 0;
  case O_PASSWORD:
    fprintf(stderr,
            "%s: a password is never accepted on the command line "
            "(it would show in the process list); use --password-file\n",
            in->fe->name);
    return -2;
  case O_FOLDER: m->folder = v; return 0;
  case O_CAFILE: m->ca_file = v; return 0;
  case O_SEARCH: m->search = v; return check_search(v);
  case O_BATCH: return set_batch(m, v);
  case O_DKIM: in->want_dkim = true; return 0;
  case O_TIMEOUT:
    rc = util_parse_u64(v, 1, 3600000, &n);
    m->timeout_ms = (int)n;
    return rc;
  case O_THREADS:
    rc = util_parse_u64(v, 0, DMARC_POOL_MAX_WORKERS, &n);
    m->ingest_threads = (int)n;
    return rc;
  }
  if(id >= 2000 && in->fe->extra_flag)
    return in->fe->extra_flag(m, id, v);
  return -1;
}

/* By hand, after the flags: what they leave to check, the password file
 * read, and the front-end's prepare.  0, or 2 once the reason is said. */
static int cli(void *ud, struct input_opts *io)
{
  struct mb_input *in = ud;
  const struct mailbox_frontend *fe = in->fe;
  struct mailbox_opts *m = &in->m;
  char err[600];

  if(fe->proto != MAILBOX_IMAP && (m->folder || m->search)) {
    fprintf(stderr, "%s: POP3 has no folders and no search\n", fe->name);
    return 2;
  }
  if(in->want_dkim && dkim_on(in, io, err, sizeof(err))) {
    fprintf(stderr, "%s: --validate-dkim: %s\n", fe->name, err);
    return 2;
  }
  if(fe->password && in->pwfile) {
    in->password = mailbox_read_password_file(in->pwfile, err, sizeof(err));
    if(!in->password) {
      fprintf(stderr, "%s: %s\n", fe->name, err);
      return 2;
    }
    m->password = in->password;
  }
  if(check_opts(fe, m, err, sizeof(err)) ||
     (fe->prepare && fe->prepare(m, io, err, sizeof(err)))) {
    if(fe->password && !in->pwfile && strstr(err, "password"))
      snprintf(err, sizeof(err), "--password-file F is required");
    fprintf(stderr, "%s: %s (see --help)\n", fe->name, err);
    return 2;
  }
  return 0;
}

int mailbox_main(int argc, char **argv, const struct mailbox_frontend *mfe)
{
  struct option all[MAX_OPTIONS];
  struct mb_input in;
  struct input_frontend fe;
  unsigned k = NOPTIONS;

  memcpy(all, options, sizeof(options));
  for(unsigned i = 0; i < mfe->extra_options_count && k < MAX_OPTIONS; i++)
    all[k++] = mfe->extra_options[i];
  memset(&in, 0, sizeof(in));
  in.fe = mfe;
  mailbox_opts_default(&in.defaults);
  in.defaults.proto = mfe->proto;
  in.defaults.server = mfe->default_server;
  in.m = in.defaults;
  memset(&fe, 0, sizeof(fe));
  fe.name = mfe->name;
  fe.scheme = mfe->scheme;
  fe.help = help;
  fe.help_tail =
      "Exit status: 0 done, 1 runtime failure (connection, TLS, login, folder),\n"
      "2 usage or configuration error.\n";
  fe.options = all;
  fe.noptions = k;
  fe.flag = flag;
  fe.stanza = stanza;
  fe.cli = cli;
  fe.run = run;
  fe.cleanup = cleanup;
  fe.ud = &in;
  return input_main(argc, argv, &fe);
}
