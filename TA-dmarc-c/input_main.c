/*
 * input_main: the Splunk modes and the command line of every input (see
 * input_main.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input_main.h"

#include "log.h"
#include "util.h"

/* Room for a front-end's own flags, the shared ones and ours. */
#define MAX_OPTIONS 64

enum { O_SCHEME = 3000, O_VALIDATE, O_HELP, O_VERSION };

static const struct option modes[] = {
  { "scheme", no_argument, NULL, O_SCHEME },
  { "validate-arguments", no_argument, NULL, O_VALIDATE },
  { "help", no_argument, NULL, O_HELP },
  { "version", no_argument, NULL, O_VERSION },
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

static void usage(const struct input_frontend *fe, FILE *out)
{
  fe->help(fe->ud, out);
  fputs(INPUT_OPTIONS_HELP "  --help                    this text\n"
                           "  --version                 print the version\n"
                           "\n",
        out);
  fputs(fe->help_tail, out);
}

static void cleanup(const struct input_frontend *fe, struct input_opts *o)
{
  if(fe->cleanup)
    fe->cleanup(fe->ud);
  input_opts_free(o);
}

/* --validate-arguments: splunkd shows our message to the user. */
static int validate_arguments(const struct input_frontend *fe)
{
  struct splunk_config cfg;
  struct input_opts o;
  char err[600];
  int rc = 0;

  if(splunk_read_config(stdin, &cfg, err, sizeof(err))) {
    splunk_print_validation_error(stdout, err);
    return 1;
  }
  input_opts_default(&o);
  *err = '\0';
  if(fe->stanza(fe->ud, &o, &cfg, true, err, sizeof(err))) {
    splunk_print_validation_error(stdout, err);
    rc = 1;
  }
  input_opts_free(&o);
  splunk_config_free(&cfg);
  return rc;
}

/* No arguments: splunkd sends the input definition on stdin. */
static int run_modinput(const struct input_frontend *fe)
{
  struct splunk_config cfg;
  struct input_opts o;
  char err[600];
  int rc;

  if(splunk_read_config(stdin, &cfg, err, sizeof(err))) {
    log_error("%s", err);
    return 2;
  }
  log_set_input(cfg.stanza);
  input_opts_default(&o);
  *err = '\0';
  if(fe->stanza(fe->ud, &o, &cfg, false, err, sizeof(err))) {
    log_error("configuration: %s", err);
    rc = 2;
  }
  else
    rc = input_run_stream(&cfg, &o, fe->run, fe->ud);
  cleanup(fe, &o);
  splunk_config_free(&cfg);
  return rc;
}

int input_main(int argc, char **argv, const struct input_frontend *fe)
{
  struct option all[MAX_OPTIONS];
  struct input_opts o;
  struct splunk_writer *w;
  unsigned k = 0;
  int c, rc, li = -1;

  if(argc == 1)
    return run_modinput(fe);
  for(unsigned i = 0; i < fe->noptions &&
                      k + INPUT_LONG_OPTIONS_COUNT + NMODES + 1 < MAX_OPTIONS;
      i++)
    all[k++] = fe->options[i];
  memcpy(all + k, input_long_options,
         INPUT_LONG_OPTIONS_COUNT * sizeof(struct option));
  k += INPUT_LONG_OPTIONS_COUNT;
  memcpy(all + k, modes, sizeof(modes));
  k += NMODES;
  memset(&all[k], 0, sizeof(struct option));

  input_opts_default(&o);
  while((c = getopt_long(argc, argv, "h", all, &li)) != -1) {
    switch(c) {
    case O_SCHEME:
      rc = splunk_print_scheme(stdout, fe->scheme) ? 1 : 0;
      goto done;
    case O_VALIDATE: rc = validate_arguments(fe); goto done;
    case 'h':
    case O_HELP:
      usage(fe, stdout);
      rc = 0;
      goto done;
    case O_VERSION: rc = util_print_version(fe->name); goto done;
    case '?':
      usage(fe, stderr);
      rc = 2;
      goto done;
    }
    if(c >= INPUT_OPTION_SHARED &&
       c < INPUT_OPTION_SHARED + INPUT_LONG_OPTIONS_COUNT)
      rc = input_opts_flag(&o, input_long_options[c - INPUT_OPTION_SHARED].name,
                           optarg) < 0
               ? -1
               : 0;
    else
      rc = fe->flag(fe->ud, c, optarg);
    if(rc == -2) { /* refused and said why; optarg may be a secret */
      rc = 2;
      goto done;
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
  if(fe->cli && (rc = fe->cli(fe->ud, &o)) != 0)
    goto done;
  w = splunk_writer_new(stdout, SPLUNK_WRITER_LINES, NULL, NULL, NULL, NULL);
  rc = w ? fe->run(fe->ud, &o, w) : 1;
  if(splunk_writer_finish(w))
    rc = 1;
done:
  cleanup(fe, &o);
  return rc;
}
