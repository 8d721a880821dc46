/*
 * input_main: the one main of the four modular inputs.
 *
 * Every input is run the same ways, so those ways are written once here:
 *
 *   input                      splunkd run: the input XML on stdin, events
 *                              streamed as splunkd's XML
 *   input --scheme             the introspection scheme
 *   input --validate-arguments <items> on stdin; <error> + exit 1 when bad
 *   input --help | --version   on stdout, exit 0
 *   input FLAGS...             by hand: one event per line on stdout
 *
 * A front-end only says what is its own: its scheme, its flags and their
 * help, how its stanza is read and what a run does.  The report options
 * every input shares (input.h, INPUT_OPTIONS_HELP) are handled here.
 * Exit codes: 0 done, 1 runtime failure, 2 usage or configuration error.
 */
#ifndef TA_INPUT_MAIN_H
#define TA_INPUT_MAIN_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "input.h"

/* Option ids a front-end may use: below INPUT_OPTION_SHARED (1000, where
 * input_long_options start) or from 2000 up; 3000 up are input_main's. */
#define INPUT_OPTION_SHARED 1000

struct input_frontend {
  const char *name; /* "dmarc_imap": messages, --version */
  const struct splunk_scheme *scheme;
  /* --help: the usage and the front-end's own flags; input_main adds the
   * shared flags, --help and --version, then help_tail (exit status). */
  void (*help)(void *ud, FILE *out);
  const char *help_tail;
  const struct option *options; /* own flags (getopt_long entries) */
  unsigned noptions;
  /* One own flag: 0, -1 for a bad value (input_main says so, exit 2), or
   * -2 when refused with the reason already printed (the value is not
   * repeated: it may be a secret). */
  int (*flag)(void *ud, int id, const char *value);
  /* Read the stanza c into ud and o (the front-end applies the shared
   * report params itself, with input_opts_from_stanza, where it wants
   * their errors to rank).  validate_only: for --validate-arguments,
   * nothing may be prepared that a run alone needs (files, caches).  0,
   * or -1 with a message for the user in err. */
  int (*stanza)(void *ud, struct input_opts *o, const struct splunk_config *c,
                bool validate_only, char *err, size_t errlen);
  /* By hand, after the flags: check and complete what they gave.  0, or
   * the exit code once the reason is printed on stderr.  May be NULL. */
  int (*cli)(void *ud, struct input_opts *o);
  /* One run: events to w.  Returns the exit code (0 or 1). */
  int (*run)(void *ud, struct input_opts *o, struct splunk_writer *w);
  /* Free what ud holds, whatever mode ran.  May be NULL. */
  void (*cleanup)(void *ud);
  void *ud; /* the front-end's state */
};

/* Run the input as argc/argv say (see the top of this file).  Returns the
 * process's exit code. */
int input_main(int argc, char **argv, const struct input_frontend *fe);

#endif
