/*
 * pool: ordered ingestion on worker threads (see pool.h for the contract).
 *
 * Every source is a job on one list, in the order it was handed in.  A
 * free worker takes the first job nobody has taken, ingests it with its
 * own dmarc_ingest, and renders what the ingest hands back as records into
 * a private buffer that it publishes to the job now and then (every 64 KiB
 * and at the end).  The caller only ever works on the head of the list: it
 * takes what the head job has published, replays it (the seen check, the
 * events, emitted), and once the head is finished calls its done and moves
 * on.  So whatever the workers' timing, the caller sees the sources in
 * order, and the seen-report store is only touched by the caller.
 *
 * The ingest of a worker is told that no report is ever seen; its seen and
 * emitted callbacks only mark where a report's events begin and end.  The
 * real check happens at replay, in order, exactly where the sequential
 * ingest would have made it: a report that an earlier source emitted is
 * then dropped with its events.
 *
 * Records in a job's buffer (integers in host order, never leave the
 * process):
 *   'B' u32 keylen, key                a report's events follow
 *   'E' i64 time, u32 srclen, u32 len, source, text     one event
 *   'F'                                the report's events are complete
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

#define POOL_PUBLISH_BYTES (64u * 1024)

struct job {
  struct job *next;
  char *data; /* the source; freed once ingested */
  size_t len;
  char *name;
  bool has_info;
  char *extra_json, *extra_kv;
  int (*seen)(void *ud, const char *key);
  void (*emitted)(void *ud, const char *key);
  void *info_ud;
  dmarc_pool_done_cb done;
  void *done_ud;

  /* under the pool's lock */
  bool taken;     /* a worker has it */
  bool finished;  /* res is final and all output published */
  struct buf out; /* published, not yet taken by the caller */
  struct dmarc_ingest_result res;

  /* the caller's replay */
  bool skipping; /* inside a report already seen */
  char *key;     /* of the report being replayed */
  unsigned reports, dups;
  uint64_t events;
};

struct worker {
  struct dmarc_pool *p;
  pthread_t th;
  bool started;
  struct dmarc_ingest *in;
  struct job *job;  /* being ingested */
  struct buf local; /* rendered, not yet published */
  bool nomem;       /* a record did not fit: the job fails */
};

struct dmarc_pool {
  pthread_mutex_t mu;
  pthread_cond_t work;  /* workers: a job, room, or stop */
  pthread_cond_t ready; /* caller: output published, job finished */
  struct job *head, **tail;
  size_t pending; /* jobs on the list */
  size_t held;    /* bytes of sources and of published output */
  size_t max_held, job_cap;
  bool stop;
  bool failed; /* the event callback failed: write nothing */
  dmarc_event_cb cb;
  void *cb_ud;
  unsigned nworkers;
  struct worker w[DMARC_POOL_MAX_WORKERS];
};

/* ---- worker side ------------------------------------------------------ */

static int put_u32(struct buf *b, size_t v)
{
  uint32_t u = (uint32_t)v;
  if(v > UINT32_MAX)
    return -1;
  return buf_append(b, &u, sizeof(u));
}

/* Hand the worker's rendered records to its job.  Waits while the job
 * already holds more than its share, unless the pool stops or failed.
 * Returns -1 when the records must not be written (failed). */
static int publish(struct worker *w)
{
  struct dmarc_pool *p = w->p;
  struct job *j = w->job;
  int rc = 0;

  pthread_mutex_lock(&p->mu);
  while(j->out.len > p->job_cap && !p->stop && !p->failed)
    pthread_cond_wait(&p->work, &p->mu);
  if(p->failed || p->stop)
    rc = -1;
  else if(w->local.len) {
    if(buf_append(&j->out, w->local.data, w->local.len)) {
      rc = -1;
      w->nomem = true;
    }
    else
      p->held += w->local.len;
    pthread_cond_signal(&p->ready);
  }
  pthread_mutex_unlock(&p->mu);
  buf_reset(&w->local);
  return rc;
}

static int local_full(struct worker *w)
{
  return w->local.len >= POOL_PUBLISH_BYTES ? publish(w) : 0;
}

static int w_event(void *ud, const char *text, size_t len, int64_t time,
                   const char *source)
{
  struct worker *w = ud;
  size_t sl = source ? strlen(source) : 0, start = w->local.len;
  char t = 'E';

  if(buf_append(&w->local, &t, 1) ||
     buf_append(&w->local, &time, sizeof(time)) || put_u32(&w->local, sl) ||
     put_u32(&w->local, len) || buf_append(&w->local, source, sl) ||
     buf_append(&w->local, text, len)) {
    w->local.len = start; /* never a record cut in half */
    w->nomem = true;
    return -1;
  }
  return local_full(w);
}

/* The worker never knows a report as seen: it marks where one begins. */
static int w_seen(void *ud, const char *key)
{
  struct worker *w = ud;
  size_t kl = strlen(key), start = w->local.len;
  char t = 'B';

  if(buf_append(&w->local, &t, 1) || put_u32(&w->local, kl) ||
     buf_append(&w->local, key, kl)) {
    w->local.len = start;
    w->nomem = true;
  }
  return 0;
}

static void w_emitted(void *ud, const char *key)
{
  struct worker *w = ud;
  char t = 'F';

  (void)key;
  if(buf_append(&w->local, &t, 1))
    w->nomem = true;
}

static void ingest_job(struct worker *w, struct job *j)
{
  struct dmarc_source_info info;

  memset(&info, 0, sizeof(info));
  info.extra_json = j->extra_json;
  info.extra_kv = j->extra_kv;
  info.seen = w_seen;
  info.emitted = w_emitted;
  info.ud = w;
  w->job = j;
  w->nomem = false;
  buf_reset(&w->local);
  dmarc_ingest_mem(w->in, j->data, j->len, j->name, &info, w_event, w, &j->res);
  if(w->nomem && j->res.status == INGEST_OK) {
    /* a begin or end mark was lost: what was rendered cannot be trusted */
    j->res.status = INGEST_TRANSIENT;
    snprintf(j->res.reason, sizeof(j->res.reason), "out of memory");
  }
  (void)publish(w);
}

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  struct dmarc_pool *p = w->p;

  pthread_mutex_lock(&p->mu);
  for(;;) {
    struct job *j = p->head;
    if(p->stop)
      break;
    while(j && j->taken)
      j = j->next;
    if(!j) {
      if(p->stop)
        break;
      pthread_cond_wait(&p->work, &p->mu);
      continue;
    }
    j->taken = true;
    if(!p->failed) {
      pthread_mutex_unlock(&p->mu);
      ingest_job(w, j);
      pthread_mutex_lock(&p->mu);
    }
    free(j->data);
    j->data = NULL;
    p->held -= j->len;
    j->finished = true;
    w->job = NULL;
    pthread_cond_signal(&p->ready);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* ---- caller side ------------------------------------------------------ */

static uint32_t get_u32(const char **q)
{
  uint32_t u;
  memcpy(&u, *q, sizeof(u));
  *q += sizeof(u);
  return u;
}

/* Replay records the head job published: the seen check, the events,
 * emitted.  After a failure of the event callback nothing is written.
 * Records are always whole: a worker takes back one it could not finish. */
static void replay(struct dmarc_pool *p, struct job *j, const struct buf *b)
{
  const char *q = b->data, *end = b->data + b->len;

  while(q < end) {
    char t = *q++;
    if(t == 'B') {
      uint32_t kl = get_u32(&q);
      free(j->key);
      j->key = strndup(q, kl);
      q += kl;
      j->skipping =
          j->key && j->has_info && j->seen && j->seen(j->info_ud, j->key);
      if(j->skipping) {
        /* the key is org 0x1f id 0x1f ...: worded as ingest words it */
        const char *org = j->key, *id = strchr(org, 0x1f);
        int ol = id ? (int)(id - org) : (int)strlen(org);
        const char *ide = id ? strchr(id + 1, 0x1f) : NULL;
        j->dups++;
        log_info("%s: report %.*s from %.*s was already ingested, not "
                 "emitted again",
                 j->name,
                 id ? (ide ? (int)(ide - id - 1) : (int)strlen(id + 1)) : 0,
                 id ? id + 1 : "", ol, org);
      }
    }
    else if(t == 'E') {
      int64_t time;
      uint32_t sl, len;
      char src[1024];
      memcpy(&time, q, sizeof(time));
      q += sizeof(time);
      sl = get_u32(&q);
      len = get_u32(&q);
      snprintf(src, sizeof(src), "%.*s",
               (int)(sl < sizeof(src) ? sl : sizeof(src) - 1), q);
      q += sl;
      if(!j->skipping && !p->failed) {
        if(p->cb(p->cb_ud, q, len, time, sl ? src : NULL)) {
          pthread_mutex_lock(&p->mu);
          p->failed = true;
          pthread_cond_broadcast(&p->work);
          pthread_mutex_unlock(&p->mu);
        }
        else
          j->events++;
      }
      q += len;
    }
    else { /* 'F' */
      if(!j->skipping && !p->failed) {
        j->reports++;
        if(j->has_info && j->emitted && j->key)
          j->emitted(j->info_ud, j->key);
      }
      j->skipping = false;
    }
  }
}

static void job_free(struct job *j)
{
  free(j->data);
  free(j->name);
  free(j->extra_json);
  free(j->extra_kv);
  free(j->key);
  buf_free(&j->out);
  free(j);
}

/* The head job is finished and all its output replayed. */
static void finish(struct dmarc_pool *p, struct job *j)
{
  struct dmarc_ingest_result res = j->res;

  if(p->failed) {
    res.status = INGEST_TRANSIENT;
    snprintf(res.reason, sizeof(res.reason), "writing the events failed");
  }
  res.reports = j->reports;
  res.duplicates += j->dups;
  res.events = j->events;
  if(j->done)
    j->done(j->done_ud, j->name, &res);
  job_free(j);
}

/* The caller's loop: replay the head's output, finish the head, and wait
 * for the workers when told to: until everything is done (wait_all) or
 * until `need` more bytes fit (room). */
static void pump(struct dmarc_pool *p, bool wait_all, bool room, size_t need)
{
  pthread_mutex_lock(&p->mu);
  for(;;) {
    struct job *j = p->head;
    if(!j || (room && p->held + need <= p->max_held))
      break;
    if(j->out.len) {
      struct buf b = j->out;
      buf_init(&j->out, SIZE_MAX);
      p->held -= b.len;
      pthread_cond_broadcast(&p->work); /* room for a waiting worker */
      pthread_mutex_unlock(&p->mu);
      replay(p, j, &b);
      buf_free(&b);
      pthread_mutex_lock(&p->mu);
      continue;
    }
    if(j->finished) {
      p->head = j->next;
      if(!p->head)
        p->tail = &p->head;
      p->pending--;
      pthread_mutex_unlock(&p->mu);
      finish(p, j);
      pthread_mutex_lock(&p->mu);
      continue;
    }
    if(!wait_all && !room)
      break;
    pthread_cond_wait(&p->ready, &p->mu);
  }
  pthread_mutex_unlock(&p->mu);
}

int dmarc_pool_drain(struct dmarc_pool *p, bool wait)
{
  pump(p, wait, false, 0);
  return p->failed ? -1 : 0;
}

size_t dmarc_pool_pending(const struct dmarc_pool *p)
{
  return p->pending;
}

static char *dup_or_null(const char *s, bool *nomem)
{
  char *d;
  if(!s)
    return NULL;
  if(!(d = strdup(s)))
    *nomem = true;
  return d;
}

int dmarc_pool_submit(struct dmarc_pool *p, void *data, size_t len,
                      const char *name, const struct dmarc_source_info *info,
                      dmarc_pool_done_cb done, void *done_ud)
{
  struct job *j;
  bool nomem = false;

  if(p->failed || !(j = calloc(1, sizeof(*j)))) {
    free(data);
    return -1;
  }
  j->data = data;
  j->len = len;
  j->name = dup_or_null(name ? name : "", &nomem);
  if(info) {
    j->has_info = true;
    j->extra_json = dup_or_null(info->extra_json, &nomem);
    j->extra_kv = dup_or_null(info->extra_kv, &nomem);
    j->seen = info->seen;
    j->emitted = info->emitted;
    j->info_ud = info->ud;
  }
  j->done = done;
  j->done_ud = done_ud;
  buf_init(&j->out, SIZE_MAX);
  if(nomem) {
    job_free(j);
    return -1;
  }
  /* Bounded memory: write out what is ready until this source fits (the
   * first one always does). */
  pump(p, false, true, len);
  pthread_mutex_lock(&p->mu);
  *p->tail = j;
  p->tail = &j->next;
  p->pending++;
  p->held += len;
  /* broadcast: `work` also wakes workers waiting for room, and a signal
   * could go to one of them instead of an idle worker */
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  pump(p, false, false, 0);
  return p->failed ? -1 : 0;
}

/* ---- life ------------------------------------------------------------- */

static unsigned default_workers(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 2 ? 2 : 1;
}

struct dmarc_pool *dmarc_pool_new(const struct dmarc_ingest_opts *opts,
                                  const struct dmarc_pool_opts *po,
                                  dmarc_event_cb cb, void *cb_ud, char *err,
                                  size_t errlen)
{
  struct dmarc_pool *p = calloc(1, sizeof(*p));
  unsigned n = po->workers ? po->workers : default_workers();
  struct dmarc_ingest_opts o = *opts;

  if(!p) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if(n > DMARC_POOL_MAX_WORKERS)
    n = DMARC_POOL_MAX_WORKERS;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->ready, NULL);
  p->tail = &p->head;
  p->max_held = po->max_held ? po->max_held : DMARC_POOL_DEFAULT_MAX_HELD;
  p->job_cap = p->max_held / 4;
  p->cb = cb;
  p->cb_ud = cb_ud;
  /* Everything a worker needs is made here, on this thread, before any
   * worker runs (libxml2, c-ares and the schemas want their global set-up
   * done once, up front). */
  for(unsigned i = 0; i < n; i++) {
    struct worker *w = &p->w[i];
    w->p = p;
    buf_init(&w->local, SIZE_MAX);
    p->nworkers = i + 1;
    if(!(w->in = dmarc_ingest_new(&o, err, errlen))) {
      dmarc_pool_free(p);
      return NULL;
    }
    /* a resolver the first worker could not make, the others cannot
     * either: said once, not tried again */
    if(o.resolve_ip && !dmarc_ingest_resolves(w->in))
      o.resolve_ip = 0;
  }
  for(unsigned i = 0; i < n; i++) {
    int rc = pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]);
    if(rc) {
      snprintf(err, errlen, "cannot start an ingest thread: %s", strerror(rc));
      dmarc_pool_free(p);
      return NULL;
    }
    p->w[i].started = true;
  }
  return p;
}

void dmarc_pool_free(struct dmarc_pool *p)
{
  if(!p)
    return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for(unsigned i = 0; i < p->nworkers; i++) {
    struct worker *w = &p->w[i];
    if(w->started)
      pthread_join(w->th, NULL);
    dmarc_ingest_free(w->in);
    buf_free(&w->local);
  }
  while(p->head) {
    struct job *j = p->head;
    p->head = j->next;
    job_free(j);
  }
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->ready);
  pthread_mutex_destroy(&p->mu);
  free(p);
}
