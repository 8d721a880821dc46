/*
 * soar_imap: the SOAR IMAP connector as one executable.
 *
 *   soar_imap [--store DIR] [ACTION.json]
 *       Run a SOAR action JSON (from the file, else stdin): one run of the
 *       action per entry of "parameters".  The result JSON goes to stdout,
 *       progress to stderr.  Exit 0 when the action succeeded, 1 when it
 *       failed (the JSON says why), 2 on a usage error.
 *   soar_imap parse [--folder F] [--uid N] FILE.eml...
 *       Print, one line per file, the container with its artifacts that
 *       the email would produce (nothing is stored).
 *
 * The store (containers, vault, state) is --store DIR, else
 * $SOAR_IMAP_STORE, else ./soar-imap-data.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actions.h"
#include "container.h"
#include "pyjson.h"
#include "sstore.h"
#include "buf.h"
#include "log.h"
#include "util.h"

#define MAX_ACTION_JSON (16u * 1024 * 1024)
#define MAX_EML_FILE    (1024ull * 1024 * 1024) /* read; 64 MB are parsed */

/* The usage text: on stdout for --help, on stderr after a usage error. */
static void usage(FILE *out)
{
  fputs(
      "usage: soar_imap [--store DIR] [--log-level LEVEL] [ACTION.json]\n"
      "       soar_imap parse [--folder F] [--uid N] FILE.eml...\n"
      "       soar_imap --help | --version\n"
      "\n"
      "Runs the SOAR action JSON read from ACTION.json or stdin (test\n"
      "connectivity, get email) and prints the result JSON.  Containers go\n"
      "to --store DIR (or $SOAR_IMAP_STORE, default ./soar-imap-data).\n"
      "LEVEL: debug, info (default), warn, error; an action JSON with\n"
      "\"debug_level\" above 0 also turns on debug.  Config additions to the\n"
      "Python app's: server may be host:port, ca_file adds trust anchors,\n"
      "timeout (seconds, default 60) bounds connect and every read.\n"
      "\n"
      "parse prints the container each email file makes (one JSON line\n"
      "per file, in order); --folder and --uid fill the fields a mailbox\n"
      "would.\n"
      "\n"
      "Exit status: 0 done, 1 runtime failure, 2 usage error.\n",
      out);
}

/* Read all of f (at most max bytes). */
static char *read_all(FILE *f, size_t max, size_t *len_r)
{
  struct buf b;
  char chunk[65536];
  size_t n;

  buf_init(&b, max);
  while((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    if(buf_append(&b, chunk, n)) {
      buf_free(&b);
      errno = EFBIG;
      return NULL;
    }
  *len_r = b.len;
  char *s = buf_steal(&b);
  buf_free(&b);
  return s;
}

static int print_json(const cJSON *j)
{
  struct buf b;
  int rc;

  buf_init(&b, (size_t)1 << 30);
  rc = pyjson_dump(&b, j, false) || buf_putc(&b, '\n') ||
       fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout);
  buf_free(&b);
  return rc ? -1 : 0;
}

/* ---- parse mode -------------------------------------------------------- */

/* Parse mode keeps two workers busy while this thread prints, in the
 * order of the files.  What is held at once (files being parsed, and
 * parsed but not yet printed) is bounded: a file starts only while the
 * bytes held stay under twice the largest file plus PARSE_SLACK, or when
 * nothing is held.  A message being parsed costs about its own size (it
 * is mapped; attachments are decoded and hashed a buffer at a time and
 * the output is streamed), so the peak stays near twice the largest
 * message, under the 3x + 16 MB the benchmark allows. */
#define PARSE_WORKERS 2
#define PARSE_SLACK   (2u * 1024 * 1024)

/* One file of parse mode: read and turned into a container, kept until it
 * is printed. */
struct parse_job {
  const char *path;
  struct soar_email_opts o; /* --folder/--uid as given before the file */
  size_t cost;              /* its size when listed */
  bool done;
  char *raw;
  size_t len;
  int read_errno; /* raw == NULL: why */
  int rc;         /* of soar_email_process */
  char err[SOAR_ERR_LEN];
  struct soar_container c;
};

struct parse_queue {
  pthread_mutex_t mu;
  pthread_cond_t cond; /* a job finished, or room was made */
  struct parse_job *jobs;
  int n, next; /* next job to start */
  size_t held, budget;
};

/* The file mapped, not read: no copy of it, and no fresh pages for it
 * (which cost more than parsing a small message).  soar_email_process
 * reads raw[0..len) only.  NULL with errno on failure. */
static char *map_file(const char *path, size_t *len_r)
{
  static char empty[1];
  struct stat st;
  void *m;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if(fd < 0)
    return NULL;
  if(fstat(fd, &st) || !S_ISREG(st.st_mode) ||
     (unsigned long long)st.st_size > MAX_EML_FILE) {
    int e = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
    close(fd);
    errno = e;
    return NULL;
  }
  *len_r = (size_t)st.st_size;
  if(!st.st_size) {
    close(fd);
    return empty;
  }
  m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
           0);
  close(fd);
  return m == MAP_FAILED ? NULL : m;
}

static void unmap_file(char *raw, size_t len)
{
  if(raw && len)
    munmap(raw, len);
}

static void parse_run(struct parse_job *j)
{
  if(!(j->raw = map_file(j->path, &j->len)))
    j->read_errno = errno;
  else
    j->rc = soar_email_process(j->raw, j->len, &j->o, &j->c, j->err,
                               sizeof(j->err));
}

static void *parse_worker(void *arg)
{
  struct parse_queue *q = arg;

  pthread_mutex_lock(&q->mu);
  for(;;) {
    struct parse_job *j;
    while(q->next < q->n && q->held &&
          q->held + q->jobs[q->next].cost > q->budget)
      pthread_cond_wait(&q->cond, &q->mu);
    if(q->next >= q->n)
      break;
    j = &q->jobs[q->next++];
    q->held += j->cost;
    pthread_mutex_unlock(&q->mu);
    parse_run(j);
    pthread_mutex_lock(&q->mu);
    j->done = true;
    pthread_cond_broadcast(&q->cond);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

/* Print j's container (or its error) and free it.  0 or 1 (failed). */
static int parse_finish(struct parse_job *j)
{
  int rc = 0;

  if(!j->raw) {
    log_error("cannot read %s: %s", j->path, strerror(j->read_errno));
    return 1;
  }
  if(j->rc) {
    log_error("%s: %s", j->path, j->err);
    rc = 1;
  }
  else {
    if(soar_container_write(stdout, &j->c, -1)) {
      log_error("cannot write the output: %s", strerror(errno));
      rc = 1;
    }
    soar_container_free(&j->c);
  }
  unmap_file(j->raw, j->len);
  j->raw = NULL;
  return rc;
}

static int cmd_parse(int argc, char **argv)
{
  struct soar_email_opts o;
  struct parse_queue q;
  pthread_t th[PARSE_WORKERS];
  int rc = 0, nfiles = 0, started = 0;
  size_t largest = 0;
  struct parse_job *jobs = calloc((size_t)argc + 1, sizeof(*jobs));

  if(!jobs) {
    log_error("out of memory");
    return 1;
  }
  soar_email_opts_default(&o);
  for(int i = 0; i < argc; i++) {
    if(!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      free(jobs);
      usage(stdout);
      return 0;
    }
    if(!strcmp(argv[i], "--folder") && i + 1 < argc)
      o.folder = argv[++i];
    else if(!strcmp(argv[i], "--uid") && i + 1 < argc)
      o.uid = argv[++i];
    else if(argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "soar_imap parse: unknown option %s\n", argv[i]);
      free(jobs);
      usage(stderr);
      return 2;
    }
    else {
      struct stat st;
      jobs[nfiles].path = argv[i];
      jobs[nfiles].cost = stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)
                              ? (size_t)st.st_size
                              : 0;
      if(jobs[nfiles].cost > largest)
        largest = jobs[nfiles].cost;
      jobs[nfiles++].o = o;
    }
  }
  if(!nfiles) {
    free(jobs);
    usage(stderr);
    return 2;
  }
  /* What the threads share is set up before there are several. */
  soar_parse_init();
  /* Blocks of a megabyte and more (a message, a decoded attachment, the
   * output) are mapped and unmapped each time.  Left to itself glibc
   * raises that threshold after the first such free, and then every
   * thread's arena keeps the freed blocks of the biggest message it saw:
   * 40 MB instead of 28 over the benchmark's 5 MB messages. */
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  pthread_mutex_init(&q.mu, NULL);
  pthread_cond_init(&q.cond, NULL);
  q.jobs = jobs;
  q.n = nfiles;
  q.next = 0;
  q.held = 0;
  q.budget = 2 * largest + PARSE_SLACK;
  for(int i = 0; i < PARSE_WORKERS; i++)
    if(pthread_create(&th[started], NULL, parse_worker, &q) == 0)
      started++;
  if(!started) /* no thread to be had: this one does the work */
    parse_worker(&q);
  for(int i = 0; i < nfiles; i++) {
    pthread_mutex_lock(&q.mu);
    while(!jobs[i].done)
      pthread_cond_wait(&q.cond, &q.mu);
    pthread_mutex_unlock(&q.mu);
    rc |= parse_finish(&jobs[i]);
    pthread_mutex_lock(&q.mu);
    q.held -= jobs[i].cost;
    pthread_cond_broadcast(&q.cond);
    pthread_mutex_unlock(&q.mu);
  }
  for(int i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  pthread_cond_destroy(&q.cond);
  pthread_mutex_destroy(&q.mu);
  free(jobs);
  if(fflush(stdout))
    rc = 1;
  return rc;
}

/* ---- action mode ------------------------------------------------------- */

/* The app-run JSON around the action results. */
static cJSON *app_result(const char *identifier, cJSON *results)
{
  cJSON *out = cJSON_CreateObject();
  int total = cJSON_GetArraySize(results), ok = 0;
  const cJSON *r;
  char msg[128];

  cJSON_ArrayForEach(r, results) ok += !strcmp(
      cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "success");
  bool success = total > 0 && ok == total;
  if(success)
    snprintf(msg, sizeof(msg), "%d action%s succeeded", total,
             total == 1 ? "" : "s");
  else
    snprintf(msg, sizeof(msg), "%d action%s failed", total - ok,
             total - ok == 1 ? "" : "s");
  if(identifier)
    cJSON_AddStringToObject(out, "identifier", identifier);
  else
    cJSON_AddNullToObject(out, "identifier");
  cJSON_AddStringToObject(out, "status", success ? "success" : "failed");
  /* One failed run: its own message says more than a count. */
  if(!success && total == 1)
    cJSON_AddStringToObject(out, "message",
                            cJSON_GetStringValue(cJSON_GetObjectItem(
                                cJSON_GetArrayItem(results, 0), "message")));
  else
    cJSON_AddStringToObject(out, "message", msg);
  cJSON_AddItemToObject(out, "result_data", results);
  cJSON *sum = cJSON_AddObjectToObject(out, "result_summary");
  cJSON_AddNumberToObject(sum, "total_objects", total);
  cJSON_AddNumberToObject(sum, "total_objects_successful", ok);
  return out;
}

static int cmd_action(const char *file, const char *store_dir)
{
  size_t len;
  char *text;
  char err[SOAR_ERR_LEN];
  cJSON *results = cJSON_CreateArray();
  struct soar_action_doc doc;

  memset(&doc, 0, sizeof(doc));
  if(file) {
    FILE *f = fopen(file, "rb");
    text = f ? read_all(f, MAX_ACTION_JSON, &len) : NULL;
    if(f)
      fclose(f);
  }
  else
    text = read_all(stdin, MAX_ACTION_JSON, &len);
  if(!text) {
    snprintf(err, sizeof(err), "Cannot read the action JSON from %s: %s",
             file ? file : "stdin", strerror(errno));
    cJSON_AddItemToArray(results, soar_result_failed(NULL, err));
    goto out;
  }
  if(soar_action_doc_parse(text, len, &doc, err, sizeof(err))) {
    cJSON_AddItemToArray(results, soar_result_failed(NULL, err));
    goto out;
  }
  {
    /* The platform's debug switch for an action run. */
    const cJSON *dl = cJSON_GetObjectItem(doc.root, "debug_level");
    if(cJSON_IsNumber(dl) && dl->valuedouble > 0)
      log_set_level(LOG_DEBUG);
  }
  struct soar_env env = { store_dir, doc.asset_id };
  cJSON *empty = cJSON_CreateObject();
  const cJSON *p = (doc.params && cJSON_GetArraySize(doc.params))
                       ? doc.params->child
                       : empty;
  for(; p; p = (p == empty) ? NULL : p->next) {
    log_info("Running action %s", doc.identifier);
    if(!cJSON_IsObject(p))
      cJSON_AddItemToArray(
          results,
          soar_result_failed(
              p, "Invalid action JSON: a parameters entry is not an object"));
    else if(!doc.cfg_ok)
      cJSON_AddItemToArray(results, soar_result_failed(p, doc.cfg_err));
    else
      cJSON_AddItemToArray(results,
                           soar_action_run(doc.identifier, &doc.cfg, p, &env));
  }
  cJSON_Delete(empty);
out:;
  cJSON *outj = app_result(doc.identifier, results);
  int rc = print_json(outj) ? 2
           : strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(outj, "status")),
                    "success")
               ? 1
               : 0;
  cJSON_Delete(outj);
  soar_action_doc_free(&doc);
  free(text);
  return rc;
}

int main(int argc, char **argv)
{
  const char *store = getenv("SOAR_IMAP_STORE");
  const char *file = NULL;

  if(!store || !*store)
    store = "./soar-imap-data";
  if(argc >= 2 && !strcmp(argv[1], "parse"))
    return cmd_parse(argc - 2, argv + 2);
  for(int i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--store") && i + 1 < argc)
      store = argv[++i];
    else if(!strcmp(argv[i], "--log-level") && i + 1 < argc) {
      enum log_level l;
      if(log_level_parse(argv[++i], &l)) {
        usage(stderr);
        return 2;
      }
      log_set_level(l);
    }
    else if(!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    else if(!strcmp(argv[i], "--version"))
      return util_print_version("soar_imap");
    else if(argv[i][0] == '-' && argv[i][1]) {
      usage(stderr);
      return 2;
    }
    else if(!file)
      file = argv[i];
    else {
      usage(stderr);
      return 2;
    }
  }
  return cmd_action(file, store);
}
