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
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "actions.h"
#include "container.h"
#include "pyjson.h"
#include "sstore.h"
#include "util/buf.h"
#include "util/log.h"

#define MAX_ACTION_JSON (16u * 1024 * 1024)
#define MAX_EML_FILE    (1024ull * 1024 * 1024)   /* read; 64 MB are parsed */

static void usage(void)
{
  fputs("usage: soar_imap [--store DIR] [--log-level LEVEL] [ACTION.json]\n"
        "       soar_imap parse [--folder F] [--uid N] FILE.eml...\n"
        "\n"
        "Runs the SOAR action JSON read from ACTION.json or stdin (test\n"
        "connectivity, get email) and prints the result JSON.  Containers go\n"
        "to --store DIR (or $SOAR_IMAP_STORE, default ./soar-imap-data).\n"
        "LEVEL: debug, info (default), warn, error; an action JSON with\n"
        "\"debug_level\" above 0 also turns on debug.  Config additions to the\n"
        "Python app's: server may be host:port, ca_file adds trust anchors,\n"
        "timeout (seconds, default 60) bounds connect and every read.\n", stderr);
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

/* Files up to this size are parsed two at a time, on two threads; bigger
 * ones alone (their MD5 already runs on a second thread, and two of them
 * at once would double the peak memory). */
#define PARSE_PAIR_MAX (1024u * 1024)

/* One file of parse mode: read and turned into a container, kept until it
 * is printed, so output and messages come in the order of the files. */
struct parse_job {
  const char *path;
  struct soar_email_opts o;   /* --folder/--uid as given before the file */
  char *raw;
  size_t len;
  int read_errno;             /* raw == NULL: why */
  int rc;                     /* of soar_email_process */
  char err[SOAR_ERR_LEN];
  struct soar_container c;
};

static void *parse_run(void *arg)
{
  struct parse_job *j = arg;

  if(!(j->raw = sstore_read_file(j->path, MAX_EML_FILE, &j->len)))
    j->read_errno = errno;
  else
    j->rc = soar_email_process(j->raw, j->len, &j->o, &j->c, j->err,
                               sizeof(j->err));
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
  free(j->raw);
  return rc;
}

static bool parse_small(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
         (unsigned long long)st.st_size <= PARSE_PAIR_MAX;
}

static int cmd_parse(int argc, char **argv)
{
  struct soar_email_opts o;
  int rc = 0, nfiles = 0;
  struct parse_job *jobs = calloc((size_t)argc + 1, sizeof(*jobs));

  if(!jobs) {
    log_error("out of memory");
    return 1;
  }
  soar_email_opts_default(&o);
  for(int i = 0; i < argc; i++) {
    if(!strcmp(argv[i], "--folder") && i + 1 < argc)
      o.folder = argv[++i];
    else if(!strcmp(argv[i], "--uid") && i + 1 < argc)
      o.uid = argv[++i];
    else {
      jobs[nfiles].path = argv[i];
      jobs[nfiles++].o = o;
    }
  }
  if(!nfiles) {
    free(jobs);
    usage();
    return 2;
  }
  /* What the threads share is set up before there are two. */
  soar_parse_init();
  for(int i = 0; i < nfiles;) {
    pthread_t th;
    bool pair = i + 1 < nfiles && parse_small(jobs[i].path) &&
                parse_small(jobs[i + 1].path) &&
                pthread_create(&th, NULL, parse_run, &jobs[i + 1]) == 0;
    parse_run(&jobs[i]);
    rc |= parse_finish(&jobs[i]);
    if(pair) {
      pthread_join(th, NULL);
      rc |= parse_finish(&jobs[i + 1]);
    }
    i += pair ? 2 : 1;
  }
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

  cJSON_ArrayForEach(r, results)
    ok += !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "success");
  bool success = total > 0 && ok == total;
  if(success)
    snprintf(msg, sizeof(msg), "%d action%s succeeded", total, total == 1 ? "" : "s");
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
      cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(results, 0), "message")));
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
  const cJSON *p = (doc.params && cJSON_GetArraySize(doc.params)) ?
                   doc.params->child : empty;
  for(; p; p = (p == empty) ? NULL : p->next) {
    log_info("Running action %s", doc.identifier);
    if(!cJSON_IsObject(p))
      cJSON_AddItemToArray(results, soar_result_failed(p,
        "Invalid action JSON: a parameters entry is not an object"));
    else if(!doc.cfg_ok)
      cJSON_AddItemToArray(results, soar_result_failed(p, doc.cfg_err));
    else
      cJSON_AddItemToArray(results, soar_action_run(doc.identifier, &doc.cfg,
                                                    p, &env));
  }
  cJSON_Delete(empty);
out:;
  cJSON *outj = app_result(doc.identifier, results);
  int rc = print_json(outj) ? 2 :
           strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(outj, "status")), "success") ? 1 : 0;
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
        usage();
        return 2;
      }
      log_set_level(l);
    }
    else if(!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage();
      return 0;
    }
    else if(argv[i][0] == '-' && argv[i][1]) {
      usage();
      return 2;
    }
    else if(!file)
      file = argv[i];
    else {
      usage();
      return 2;
    }
  }
  return cmd_action(file, store);
}
