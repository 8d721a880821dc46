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
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "input_main.h"
#include "store.h"
#include "log.h"
#include "util.h"

#define SCHEME "dmarc_directory"

static const struct splunk_arg args[] = {
  { "dmarc_directory", "Directory",
    "Folder with DMARC aggregate reports "
    "(.xml, .gz, .zip; detected by content)",
    SPLUNK_ARG_STRING, 1 },
  { "quiet_time", "Quiet time",
    "Ignore files modified less than this many "
    "seconds ago (default 10)",
    SPLUNK_ARG_NUMBER, 0 },
  INPUT_SCHEME_REPORT_ARGS,
  INPUT_SCHEME_END,
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
  const char *stanza; /* checkpoint key prefix */
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
      continue; /* dot files: editors' and our own temporary files */
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
    log_debug("%s: modified less than %llu s ago, left for the next run", path,
              (unsigned long long)job->quiet_time);
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
    snprintf(res.reason, sizeof(res.reason),
             "writing events to stdout "
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
    return 0; /* no checkpoint: try again next run */
  }
  if(store_put(st, key, value, err, sizeof(err))) {
    log_error("%s: events written but %s; stopping this run (the file will "
              "be read again next run)",
              path, err);
    t->failed++;
    return -1;
  }
  return 0;
}

/* One run over the folder (ud: the struct dir_job).  Returns the exit
 * code. */
static int run(void *ud, struct input_opts *o, struct splunk_writer *w)
{
  const struct dir_job *job = ud;
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
  in = dmarc_ingest_new(&o->ingest, err, sizeof(err));
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
           t.skipped_seen, t.skipped_quiet, t.not_report, t.rejected, t.failed,
           (long long)(util_now_ms() - start));
  dmarc_ingest_free(in);
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

/* The stanza's params (for a run or --validate-arguments alike). */
static int stanza(void *ud, struct input_opts *o, const struct splunk_config *c,
                  bool validate_only, char *err, size_t errlen)
{
  struct dir_job *job = ud;
  const char *q = splunk_param(c, "quiet_time");

  (void)validate_only;
  job->dir = splunk_param(c, "dmarc_directory");
  job->stanza = c->stanza ? c->stanza : SCHEME;
  if(check_dir(job->dir, err, errlen))
    return -1;
  if(quiet_time_of(q, &job->quiet_time)) {
    snprintf(err, errlen,
             "quiet_time must be a whole number of seconds, "
             "not '%s'",
             q);
    return -1;
  }
  return input_opts_from_stanza(o, c, err, errlen);
}

static const struct option options[] = {
  { "dir", required_argument, NULL, 'd' },
  { "quiet-time", required_argument, NULL, 'q' },
};

static int flag(void *ud, int id, const char *v)
{
  struct dir_job *job = ud;

  if(id == 'd')
    job->dir = v;
  else if(id != 'q')
    return -1;
  else if(quiet_time_of(v, &job->quiet_time)) {
    fprintf(stderr,
            "dmarc_directory: --quiet-time takes a whole number "
            "of seconds, not '%s'\n",
            v);
    return -2;
  }
  return 0;
}

/* By hand: the folder is required and must be readable. */
static int cli(void *ud, struct input_opts *o)
{
  struct dir_job *job = ud;
  char err[600];

  (void)o;
  if(!job->dir) {
    fprintf(stderr, "dmarc_directory: --dir PATH is required (or --help)\n");
    return 2;
  }
  if(check_dir(job->dir, err, sizeof(err))) {
    fprintf(stderr, "dmarc_directory: %s\n", err);
    return 2;
  }
  return 0;
}

static void help(void *ud, FILE *out)
{
  (void)ud;
  fputs(
      "Usage: dmarc_directory --dir PATH [options]\n"
      "       dmarc_directory --scheme | --validate-arguments   (for splunkd)\n"
      "       dmarc_directory                 (splunkd run: input XML on stdin)\n"
      "\n"
      "Reads the DMARC aggregate reports of a folder (XML, .gz, .zip, nested;\n"
      "detected by content) and prints one JSON event per report record on\n"
      "stdout.  Logs go to stderr.\n"
      "\n"
      "  --dir PATH                the folder (not recursive)\n"
      "  --quiet-time N            skip files modified less than N s ago (default 10)\n",
      out);
}

int main(int argc, char **argv)
{
  static struct dir_job job = { NULL, 10, "cli" };
  static const struct input_frontend fe = {
    .name = SCHEME,
    .scheme = &scheme,
    .help = help,
    .help_tail =
        "Exit status: 0 done (rejected files are logged and checkpointed),\n"
        "1 runtime failure, 2 usage or configuration error.\n",
    .options = options,
    .noptions = sizeof(options) / sizeof(options[0]),
    .flag = flag,
    .stanza = stanza,
    .cli = cli,
    .run = run,
    .ud = &job,
  };

  return input_main(argc, argv, &fe);
}
