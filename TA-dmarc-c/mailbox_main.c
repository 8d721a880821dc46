/*
 * mailbox_main: the command line and Splunk protocol shared by the mail
 * inputs (see mailbox.h, struct mailbox_frontend).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox.h"
#include "mailbox_auth.h"

#include "dmarc/pool.h"
#include "util/log.h"
#include "util/util.h"

#define MAX_OPTIONS 64

/* DKIM verification, when asked for: one verifier per process. */
static struct mailbox_dkim dkim_state;

/* Turn DKIM on with the resolver io names (--dns-server / dns_server):
 * 0, or -1 with the reason in err when that resolver cannot be used. */
static int dkim_on(struct mailbox_opts *m, const struct input_opts *io,
                   char *err, size_t errlen)
{
  dkim_state.dns_server = io->dns_server;
  m->dkim = mailbox_dkim_verify;
  m->dkim_ud = &dkim_state;
  return mailbox_dkim_check(&dkim_state, err, errlen);
}

/* First non-empty of a param and its old TA-dmarc names. */
static const char *param2(const struct splunk_config *c, const char *a,
                          const char *b)
{
  const char *v = splunk_param(c, a);
  if((!v || !*v) && b)
    v = splunk_param(c, b);
  return v && *v ? v : NULL;
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

static int from_stanza(const struct mailbox_frontend *fe,
                       struct mailbox_opts *m, struct input_opts *io,
                       const struct splunk_config *c, char *err,
                       size_t errlen)
{
  const char *v;
  bool imap = fe->proto == MAILBOX_IMAP;

  *err = '\0';
  if(input_opts_from_stanza(io, c, err, errlen))
    return -1;
  if((v = param2(c, "server", imap ? "imap_server" : "pop3_server")))
    m->server = v;
  m->username = param2(c, "username", imap ? "imap_username" : NULL);
  if(fe->password) {
    m->password = param2(c, "password", NULL);
    if(m->password && !(m->password = input_secret(io, c, m->password,
                                                   "password", err, errlen)))
      return -1;
  }
  m->ca_file = param2(c, "ca_file", NULL);
  if((v = param2(c, "dns_server", NULL))) {
    free(io->dns_server);
    if(!(io->dns_server = strdup(v))) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
  }
  if((v = param2(c, "port", NULL)) && set_port(m, v)) {
    snprintf(err, errlen, "port must be a number from 1 to 65535, not '%s'",
             v);
    return -1;
  }
  if((v = param2(c, "security", NULL)) && set_security(m, v)) {
    snprintf(err, errlen, "security must be tls or starttls, not '%s'", v);
    return -1;
  }
  if((v = param2(c, "batch_size", NULL)) && set_batch(m, v)) {
    snprintf(err, errlen, "batch_size must be a number from 1 to %d, not "
             "'%s'", MAILBOX_MAX_BATCH, v);
    return -1;
  }
  if(imap) {
    m->folder = param2(c, "mailbox", "imap_mailbox");
    m->search = param2(c, "search", NULL);
    if(check_search(m->search)) {
      snprintf(err, errlen, "search must be one line of IMAP SEARCH "
               "criteria");
      return -1;
    }
  }
  if((v = param2(c, "validate_dkim", NULL))) {
    int b = splunk_parse_bool(v);
    if(b < 0) {
      snprintf(err, errlen, "validate_dkim must be true or false, not '%s'",
               v);
      return -1;
    }
    if(b && dkim_on(m, io, err, errlen))
      return -1;
  }
  if(fe->extra_stanza && fe->extra_stanza(m, io, c, err, errlen))
    return -1;
  return check_opts(fe, m, err, errlen);
}

static int validate_arguments(const struct mailbox_frontend *fe,
                              const struct mailbox_opts *defaults)
{
  struct splunk_config cfg;
  struct input_opts io;
  struct mailbox_opts m = *defaults;
  char err[600];
  int rc = 0;

  if(splunk_read_config(stdin, &cfg, err, sizeof(err))) {
    splunk_print_validation_error(stdout, err);
    return 1;
  }
  input_opts_default(&io);
  if(from_stanza(fe, &m, &io, &cfg, err, sizeof(err)))
    rc = 1;
  if(rc)
    splunk_print_validation_error(stdout, err);
  input_opts_free(&io);
  splunk_config_free(&cfg);
  return rc;
}

struct mb_run {
  struct mailbox_opts *m;
  struct input_opts *io;
};

static int mb_run_cb(void *ud, struct splunk_writer *w)
{
  struct mb_run *mr = ud;
  return mailbox_run(mr->m, mr->io, w);
}

static int run_modinput(const struct mailbox_frontend *fe,
                        const struct mailbox_opts *defaults)
{
  struct splunk_config cfg;
  struct input_opts io;
  struct mailbox_opts m = *defaults;
  char err[600];
  int rc;

  if(splunk_read_config(stdin, &cfg, err, sizeof(err))) {
    log_error("%s", err);
    return 2;
  }
  log_set_input(cfg.stanza);
  input_opts_default(&io);
  if(from_stanza(fe, &m, &io, &cfg, err, sizeof(err)) ||
     (fe->prepare && fe->prepare(&m, &io, err, sizeof(err)))) {
    log_error("configuration: %s", err);
    input_opts_free(&io);
    splunk_config_free(&cfg);
    return 2;
  }
  {
    struct mb_run mr = { &m, &io };
    rc = input_run_stream(&cfg, &io, mb_run_cb, &mr);
  }
  mailbox_dkim_free(&dkim_state);
  input_opts_free(&io);
  splunk_config_free(&cfg);
  return rc;
}

static void usage(const struct mailbox_frontend *fe, FILE *out)
{
  bool imap = fe->proto == MAILBOX_IMAP;

  fprintf(out,
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
    fe->default_server ? ")" : "", imap ? "993" : "995",
    imap ? "143" : "110", imap ? "STARTTLS" : "STLS");
  if(fe->password)
    fprintf(out, "  --password-file F         read the password from the first "
            "line of F\n"
            "                            (never accepted on the command line)\n");
  if(imap)
    fprintf(out, "  --folder NAME             folder to read (default INBOX; "
            "UTF-8)\n"
            "  --search CRITERIA         IMAP SEARCH criteria (default ALL)\n");
  fprintf(out,
    "  --batch-size N            messages per round (default %d, at most %d)\n"
    "  --timeout-ms N            connect and read timeout (default %d)\n"
    "  --ingest-threads N        threads parsing reports while mail is\n"
    "                            fetched (default: 2 on 2+ CPUs; 0: none)\n"
    "  --validate-dkim           verify the report mails' DKIM signatures\n"
    "                            (keys looked up through --dns-server)\n"
    "%s" INPUT_OPTIONS_HELP
    "  --help                    this text\n"
    "  --version                 print the version\n"
    "\n"
    "Exit status: 0 done, 1 runtime failure (connection, TLS, login, folder),\n"
    "2 usage or configuration error.\n",
    MAILBOX_DEFAULT_BATCH, MAILBOX_MAX_BATCH, MAILBOX_DEFAULT_TIMEOUT_MS,
    fe->extra_help ? fe->extra_help : "");
}

enum {
  O_SERVER = 500, O_PORT, O_STARTTLS, O_USERNAME, O_PWFILE, O_PASSWORD,
  O_FOLDER, O_CAFILE, O_SEARCH, O_BATCH, O_DKIM, O_TIMEOUT, O_SCHEME,
  O_VALIDATE, O_HELP, O_THREADS, O_VERSION,
};

int mailbox_main(int argc, char **argv, const struct mailbox_frontend *fe)
{
  static const struct option own[] = {
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
    { "scheme", no_argument, NULL, O_SCHEME },
    { "validate-arguments", no_argument, NULL, O_VALIDATE },
    { "help", no_argument, NULL, O_HELP },
    { "version", no_argument, NULL, O_VERSION },
  };
  const unsigned nown = sizeof(own) / sizeof(own[0]);
  struct option all[MAX_OPTIONS];
  struct mailbox_opts m, defaults;
  struct input_opts io;
  struct splunk_writer *w;
  char err[600], *password = NULL;
  const char *pwfile = NULL;
  bool want_dkim = false;
  int c, rc, li = -1;
  unsigned k = 0;

  mailbox_opts_default(&defaults);
  defaults.proto = fe->proto;
  defaults.server = fe->default_server;
  if(argc == 1)
    return run_modinput(fe, &defaults);
  memcpy(all, own, sizeof(own));
  k = nown;
  memcpy(all + k, input_long_options,
         INPUT_LONG_OPTIONS_COUNT * sizeof(struct option));
  k += INPUT_LONG_OPTIONS_COUNT;
  for(unsigned i = 0; i < fe->extra_options_count && k + 1 < MAX_OPTIONS; i++)
    all[k++] = fe->extra_options[i];
  memset(&all[k], 0, sizeof(struct option));

  m = defaults;
  input_opts_default(&io);
  while((c = getopt_long(argc, argv, "h", all, &li)) != -1) {
    rc = 0;
    switch(c) {
    case O_SCHEME:
      rc = splunk_print_scheme(stdout, fe->scheme) ? 1 : 0;
      goto done;
    case O_VALIDATE:
      rc = validate_arguments(fe, &defaults);
      goto done;
    case 'h':
    case O_HELP:
      usage(fe, stdout);
      rc = 0;
      goto done;
    case O_VERSION:
      rc = util_print_version(fe->name);
      goto done;
    case O_SERVER: m.server = optarg; break;
    case O_PORT: rc = set_port(&m, optarg); break;
    case O_STARTTLS: m.security = MAILBOX_STARTTLS; break;
    case O_USERNAME: m.username = optarg; break;
    case O_PWFILE: pwfile = optarg; break;
    case O_PASSWORD:
      fprintf(stderr, "%s: a password is never accepted on the command line "
              "(it would show in the process list); use --password-file\n",
              fe->name);
      rc = 2;
      goto done;
    case O_FOLDER: m.folder = optarg; break;
    case O_CAFILE: m.ca_file = optarg; break;
    case O_SEARCH: m.search = optarg; rc = check_search(optarg); break;
    case O_BATCH: rc = set_batch(&m, optarg); break;
    case O_DKIM: want_dkim = true; break;
    case O_TIMEOUT: {
      uint64_t n;
      rc = util_parse_u64(optarg, 1, 3600000, &n);
      m.timeout_ms = (int)n;
      break;
    }
    case O_THREADS: {
      uint64_t n;
      rc = util_parse_u64(optarg, 0, DMARC_POOL_MAX_WORKERS, &n);
      m.ingest_threads = (int)n;
      break;
    }
    case '?':
      usage(fe, stderr);
      rc = 2;
      goto done;
    default:
      if(c >= 2000 && fe->extra_flag) {
        rc = fe->extra_flag(&m, c, optarg);
        if(rc == -2) {   /* refused and said why; optarg may be a secret */
          rc = 2;
          goto done;
        }
        break;
      }
      for(unsigned i = 0; i < INPUT_LONG_OPTIONS_COUNT; i++)
        if(input_long_options[i].val == c &&
           input_opts_flag(&io, input_long_options[i].name, optarg) < 0)
          rc = -1;
    }
    if(rc) {
      fprintf(stderr, "%s: bad value '%s' for --%s\n", fe->name,
              optarg ? optarg : "", li >= 0 ? all[li].name : "an option");
      rc = 2;
      goto done;
    }
  }
  if(optind < argc) {
    fprintf(stderr, "%s: unexpected argument '%s'\n", fe->name, argv[optind]);
    rc = 2;
    goto done;
  }
  if(fe->proto != MAILBOX_IMAP && (m.folder || m.search)) {
    fprintf(stderr, "%s: POP3 has no folders and no search\n", fe->name);
    rc = 2;
    goto done;
  }
  if(want_dkim && dkim_on(&m, &io, err, sizeof(err))) {
    fprintf(stderr, "%s: --validate-dkim: %s\n", fe->name, err);
    rc = 2;
    goto done;
  }
  if(fe->password && pwfile) {
    password = mailbox_read_password_file(pwfile, err, sizeof(err));
    if(!password) {
      fprintf(stderr, "%s: %s\n", fe->name, err);
      rc = 2;
      goto done;
    }
    m.password = password;
  }
  if(check_opts(fe, &m, err, sizeof(err)) ||
     (fe->prepare && fe->prepare(&m, &io, err, sizeof(err)))) {
    if(fe->password && !pwfile && strstr(err, "password"))
      snprintf(err, sizeof(err), "--password-file F is required");
    fprintf(stderr, "%s: %s (see --help)\n", fe->name, err);
    rc = 2;
    goto done;
  }
  w = splunk_writer_new(stdout, SPLUNK_WRITER_LINES, NULL, NULL, NULL, NULL);
  rc = w ? mailbox_run(&m, &io, w) : 1;
  if(splunk_writer_finish(w))
    rc = 1;
done:
  free(password);
  mailbox_dkim_free(&dkim_state);
  input_opts_free(&io);
  return rc;
}
