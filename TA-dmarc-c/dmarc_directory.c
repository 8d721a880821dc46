/*
 * dmarc_directory: DMARC aggregate reports from a local folder into Splunk.
 *
 * Every regular file of the folder (not recursive) that has not changed for
 * quiet_time seconds is read once: XML, gzip or zip, whatever its name.
 * Each report record becomes one event; a file is checkpointed (by path,
 * size and modification time) only after its events are written and
 * flushed, and a file that can never be read (not a report, malformed, a
 * bomb) is checkpointed with its reason so it is not retried every run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "input.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#define SCHEME "dmarc_directory"

static const struct splunk_arg args[] = {
  { "dmarc_directory", "Directory", "Folder with DMARC aggregate reports "
    "(.xml, .gz, .zip; detected by content)", SPLUNK_ARG_STRING, 1 },
  { "quiet_time", "Quiet time", "Ignore files modified less than this many "
    "seconds ago (default 10)", SPLUNK_ARG_NUMBER, 0 },
  INPUT_SCHEME_REPORT_ARGS,
  { NULL, NULL, NULL, 0, 0 },
};

static const struct splunk_scheme scheme = {
  "DMARC aggregate reports from a directory",
  "Ingest DMARC aggregate reports (XML, gzip, zip) from a local folder, "
  "one event per report record.",
  args,
};

struct dir_job {
  const char *dir;
  uint64_t quiet_time;
  const char *stanza;    /* checkpoint key prefix */
};

struct run_totals {
  unsigned files, ingested, skipped_seen, skipped_quiet, rejected, not_report,
           failed;
  uint64_t events;
};

static int cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder's file names, sorted so runs are reproducible. */
static char **list_dir(const char *dir, size_t *count_r, char *err,
                       size_t errlen)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, cap = 0;

  if(!d) {
    snprintf(err, errlen, "cannot read folder %s: %s", dir, strerror(errno));
    return NULL;
  }
  while((de = readdir(d))) {
    if(de->d_name[0] == '.')
      continue;   /* dot files: editors' and our own temporary files */
    if(n == cap) {
      char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));
      if(!nn)
        break;
      names = nn;
    }
    if(!(names[n] = strdup(de->d_name)))
      break;
    n++;
  }
  closedir(d);
  if(n)
    qsort(names, n, sizeof(*names), cmp_names);
  *count_r = n;
  return names ? names : calloc(1, sizeof(char *));
}

/* Returns 0, or -1 when the run must stop (the checkpoint cannot be
 * written: going on would emit events that the next run emits again). */
static int ingest_file(const struct dir_job *job, const char *name,
                        struct dmarc_ingest *in, struct store *st,
                        struct splunk_writer *w, struct run_totals *t)
{
  char path[4096], key[4300], err[512], *seen = NULL, value[900];
  struct dmarc_ingest_result res;
  struct input_sink sink = { w, 0 };
  struct stat sb;
  int fd, rc;

  snprintf(path, sizeof(path), "%s/%s", job->dir, name);
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if(fd < 0) {
    if(errno != ELOOP)
      log_warn("%s: cannot open: %s", path, strerror(errno));
    return 0;
  }
  if(fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return 0;
  }
  t->files++;
  if(time(NULL) - sb.st_mtime < (time_t)job->quiet_time) {
    log_debug("%s: modified less than %llu s ago, left for the next run",
              path, (unsigned long long)job->quiet_time);
    t->skipped_quiet++;
    close(fd);
    return 0;
  }
  /* A file rewritten under the same name has another size or mtime, and
   * so another key: it is read again. */
  snprintf(key, sizeof(key), "%s|file|%s|%lld|%lld.%09ld", job->stanza, path,
           (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
           sb.st_mtim.tv_nsec);
  rc = store_get(st, key, &seen, err, sizeof(err));
  if(rc == 1) {
    log_debug("%s: already ingested (%s)", path, seen);
    free(seen);
    t->skipped_seen++;
    close(fd);
    return 0;
  }
  if(rc < 0)
    log_warn("%s", err);

  dmarc_ingest_fd(in, fd, name, input_sink_event, &sink, &res);
  close(fd);
  if(res.status == INGEST_OK && splunk_writer_flush(w)) {
    res.status = INGEST_TRANSIENT;
    snprintf(res.reason, sizeof(res.reason), "writing events to stdout "
             "failed");
  }
  t->events += sink.events;
  switch(res.status) {
  case INGEST_OK:
    t->ingested++;
    log_info("%s: %u report(s), %llu event(s)%s%s", path, res.reports,
             (unsigned long long)res.events, res.skipped_leaves ? "; " : "",
             res.skipped_leaves ? res.reason : "");
    snprintf(value, sizeof(value), "ok %u reports %llu events", res.reports,
             (unsigned long long)res.events);
    break;
  case INGEST_NOT_REPORT:
    t->not_report++;
    log_warn("%s: skipped, no DMARC aggregate report in it: %s", path,
             res.reason);
    snprintf(value, sizeof(value), "not a report: %s", res.reason);
    break;
  case INGEST_REJECTED:
    t->rejected++;
    log_warn("%s: rejected: %s", path, res.reason);
    snprintf(value, sizeof(value), "rejected: %s", res.reason);
    break;
  case INGEST_TRANSIENT:
    t->failed++;
    log_error("%s: failed, will retry next run: %s", path, res.reason);
    return 0;   /* no checkpoint: try again next run */
  }
  if(store_put(st, key, value, err, sizeof(err))) {
    log_error("%s: events written but %s; stopping this run (the file will "
              "be read again next run)", path, err);
    t->failed++;
    return -1;
  }
  return 0;
}

/* One run over the folder.  Returns the exit code. */
static int run(const struct dir_job *job, struct input_opts *o,
               struct splunk_writer *w)
{
  struct run_totals t = { 0 };
  struct dmarc_ingest *in;
  struct store *st;
  char err[512];
  char **names;
  size_t n = 0;
  int64_t start = util_now_ms();
  int rc = 0;

  st = store_open(o->checkpoint_dir, err, sizeof(err));
  if(!st) {
    log_error("%s", err);
    return 1;
  }
  in = input_ingest_new(o, err, sizeof(err));
  if(!in) {
    log_error("%s", err);
    store_close(st);
    return 1;
  }
  names = list_dir(job->dir, &n, err, sizeof(err));
  if(!names) {
    log_error("%s", err);
    rc = 1;
  }
  for(size_t i = 0; names && i < n; i++) {
    if(!rc && ingest_file(job, names[i], in, st, w, &t))
      rc = 1;
    free(names[i]);
  }
  free(names);
  log_info("%s: %u file(s): %u ingested (%llu events), %u already seen, "
           "%u too recent, %u not reports, %u rejected, %u failed, in %lld ms",
           job->dir, t.files, t.ingested, (unsigned long long)t.events,
           t.skipped_seen, t.skipped_quiet, t.not_report, t.rejected,
           t.failed, (long long)(util_now_ms() - start));
  input_ingest_free(in, o);
  store_close(st);
  if(t.failed)
    rc = 1;
  return rc;
}

static int check_dir(const char *dir, char *err, size_t errlen)
{
  DIR *d;

  if(!dir || !*dir) {
    snprintf(err, errlen, "dmarc_directory is required");
    return -1;
  }
  d = opendir(dir);
  if(!d) {
    snprintf(err, errlen, "dmarc_directory %s cannot be read: %s", dir,
             strerror(errno));
    return -1;
  }
  closedir(d);
  return 0;
}

static int quiet_time_of(const char *v, uint64_t *out)
{
  if(!v || !*v) {
    *out = 10;
    return 0;
  }
  return util_parse_u64(v, 0, 10u * 365 * 24 * 3600, out);
}

/* --validate-arguments: splunkd shows our message to the user. */
static int validate_arguments(void)
{
  struct splunk_config cfg;
  struct input_opts o;
  char err[600];
  uint64_t q;
  int rc = 0;

  if(splunk_read_config(stdin, &cfg, err, sizeof(err))) {
    splunk_print_validation_error(stdout, err);
    return 1;
  }
  input_opts_default(&o);
  if(check_dir(splunk_param(&cfg, "dmarc_directory"), err, sizeof(err)))
    rc = 1;
  else if(quiet_time_of(splunk_param(&cfg, "quiet_time"), &q)) {
    snprintf(err, sizeof(err), "quiet_time must be a whole number of seconds, "
             "not '%s'", splunk_param(&cfg, "quiet_time"));
    rc = 1;
  }
  else if(input_opts_from_stanza(&o, &cfg, err, sizeof(err)))
    rc = 1;
  if(rc)
    splunk_print_validation_error(stdout, err);
  input_opts_free(&o);
  splunk_config_free(&cfg);
  return rc;
}

struct dir_run {
  const struct dir_job *job;
  struct input_opts *o;
};

static int dir_run_cb(void *ud, struct splunk_writer *w)
{
  struct dir_run *dr = ud;
  return run(dr->job, dr->o, w);
}

/* No arguments: splunkd sends the input definition on stdin. */
static int run_modinput(void)
{
  struct splunk_config cfg;
  struct input_opts o;
  struct dir_job job;
  char err[600];
  int rc;

  if(splunk_read_config(stdin, &cfg, err, sizeof(err))) {
    log_error("%s", err);
    return 2;
  }
  log_set_input(cfg.stanza);
  input_opts_default(&o);
  job.dir = splunk_param(&cfg, "dmarc_directory");
  job.stanza = cfg.stanza ? cfg.stanza : SCHEME;
  if(check_dir(job.dir, err, sizeof(err)) ||
     quiet_time_of(splunk_param(&cfg, "quiet_time"), &job.quiet_time) ||
     input_opts_from_stanza(&o, &cfg, err, sizeof(err))) {
    log_error("configuration: %s", *err ? err : "quiet_time is not a number");
    splunk_config_free(&cfg);
    input_opts_free(&o);
    return 2;
  }
  {
    struct dir_run dr = { &job, &o };
    rc = input_run_stream(&cfg, &o, dir_run_cb, &dr);
  }
  input_opts_free(&o);
  splunk_config_free(&cfg);
  return rc;
}

static void usage(FILE *out)
{
  fprintf(out,
    "Usage: dmarc_directory --dir PATH [options]\n"
    "       dmarc_directory --scheme | --validate-arguments   (for splunkd)\n"
    "       dmarc_directory                 (splunkd run: input XML on stdin)\n"
    "\n"
    "Reads the DMARC aggregate reports of a folder (XML, .gz, .zip, nested;\n"
    "detected by content) and prints one JSON event per report record on\n"
    "stdout.  Logs go to stderr.\n"
    "\n"
    "  --dir PATH                the folder (not recursive)\n"
    "  --quiet-time N            skip files modified less than N s ago (default 10)\n"
    INPUT_OPTIONS_HELP
    "  --help                    this text\n"
    "  --version                 print the version\n"
    "\n"
    "Exit status: 0 done (rejected files are logged and checkpointed),\n"
    "1 runtime failure, 2 usage or configuration error.\n");
}

int main(int argc, char **argv)
{
  static const struct option own[] = {
    { "dir", required_argument, NULL, 'd' },
    { "quiet-time", required_argument, NULL, 'q' },
    { "scheme", no_argument, NULL, 's' },
    { "validate-arguments", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
  };
  const unsigned nown = sizeof(own) / sizeof(own[0]);
  struct option all[INPUT_LONG_OPTIONS_COUNT + sizeof(own) / sizeof(own[0]) + 1];
  struct input_opts o;
  struct dir_job job = { NULL, 10, "cli" };
  struct splunk_writer *w;
  int c, rc;

  if(argc == 1)
    return run_modinput();
  memcpy(all, own, sizeof(own));
  memcpy(all + nown, input_long_options,
         INPUT_LONG_OPTIONS_COUNT * sizeof(struct option));
  memset(&all[nown + INPUT_LONG_OPTIONS_COUNT], 0, sizeof(struct option));
  input_opts_default(&o);
  while((c = getopt_long(argc, argv, "h", all, NULL)) != -1) {
    switch(c) {
    case 's':
      return splunk_print_scheme(stdout, &scheme) ? 1 : 0;
    case 'v':
      return validate_arguments();
    case 'h':
      usage(stdout);
      return 0;
    case 'V':
      return util_print_version("dmarc_directory");
    case 'd':
      job.dir = optarg;
      break;
    case 'q':
      if(quiet_time_of(optarg, &job.quiet_time)) {
        fprintf(stderr, "dmarc_directory: --quiet-time takes a whole number "
                "of seconds, not '%s'\n", optarg);
        return 2;
      }
      break;
    case '?':
      usage(stderr);
      return 2;
    default:
      for(unsigned i = 0; i < INPUT_LONG_OPTIONS_COUNT; i++) {
        if(input_long_options[i].val != c)
          continue;
        if(input_opts_flag(&o, input_long_options[i].name, optarg) < 0) {
          fprintf(stderr, "dmarc_directory: bad value '%s' for --%s\n",
                  optarg, input_long_options[i].name);
          return 2;
        }
      }
    }
  }
  if(optind < argc || !job.dir) {
    fprintf(stderr, "dmarc_directory: %s\n", job.dir ? "unexpected argument"
            : "--dir PATH is required (or --help)");
    return 2;
  }
  {
    char err[600];
    if(check_dir(job.dir, err, sizeof(err))) {
      fprintf(stderr, "dmarc_directory: %s\n", err);
      return 2;
    }
  }
  w = splunk_writer_new(stdout, SPLUNK_WRITER_LINES, NULL, NULL, NULL, NULL);
  rc = w ? run(&job, &o, w) : 1;
  if(splunk_writer_finish(w))
    rc = 1;
  input_opts_free(&o);
  return rc;
}
