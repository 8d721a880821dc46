/*
 * pool: sources ingested on worker threads while the caller goes on
 * fetching the next ones.  What a source gives back (its events, the
 * duplicate checks against the seen-report store, its result) comes back
 * on the caller's thread and in the order the sources were handed in, so
 * output, the seen store and checkpoints see exactly what one thread
 * calling dmarc_ingest_mem for each source in turn would have produced.
 *
 * A worker has its own dmarc_ingest (and so its own DNS resolver).  It renders
 * a source's events into memory; dmarc_pool_drain writes them to the event
 * callback.  The seen(key) and emitted(key) callbacks of a source's
 * dmarc_source_info are called from dmarc_pool_drain, never from a worker:
 * a report already seen is then left out there, events and all.
 *
 * Memory is bounded by max_held: a submit waits (writing out what is
 * ready meanwhile) while more than that is held in sources not yet
 * ingested and events not yet written, and a worker that has rendered
 * more than a quarter of it for one source waits until the caller has
 * written them.  One source is always accepted, however large.
 */
#ifndef DMARC_POOL_H
#define DMARC_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "ingest.h"

#define DMARC_POOL_DEFAULT_MAX_HELD (16u << 20)
#define DMARC_POOL_MAX_WORKERS      8

struct dmarc_pool_opts {
  unsigned workers; /* 0: one per online CPU, at most 2 */
  size_t max_held;  /* bytes of sources and rendered events held
                       at once (not the archive's max_bytes);
                       0: DMARC_POOL_DEFAULT_MAX_HELD */
};

/* A finished source, on the caller's thread, after all of its events went
 * to the event callback.  res counts what was written: reports and events
 * of reports found already seen are in res->duplicates, not in
 * res->reports / res->events. */
typedef void (*dmarc_pool_done_cb)(void *ud, const char *name,
                                   const struct dmarc_ingest_result *res);

struct dmarc_pool;

/* Start the workers, each with a dmarc_ingest made from opts (copied; with
 * resolve_ip each makes its own resolver: when the first cannot, one WARN
 * says so and no worker resolves).  Every event goes to cb(cb_ud, ...) from
 * dmarc_pool_drain.  Returns NULL with a message in err when a worker's
 * ingest (the XSD schemas) or thread cannot be set up. */
struct dmarc_pool *dmarc_pool_new(const struct dmarc_ingest_opts *opts,
                                  const struct dmarc_pool_opts *po,
                                  dmarc_event_cb cb, void *cb_ud, char *err,
                                  size_t errlen);

/* Hand over a source.  data must come from malloc and is taken over (freed
 * by the pool, also on failure); name and info (its extras; its seen,
 * emitted and ud are kept as pointers) are copied.  done(done_ud, ...) is
 * called from dmarc_pool_drain once the source is written out.  Returns 0,
 * or -1 when out of memory or after the event callback failed (nothing
 * was queued; done is not called). */
int dmarc_pool_submit(struct dmarc_pool *p, void *data, size_t len,
                      const char *name, const struct dmarc_source_info *info,
                      dmarc_pool_done_cb done, void *done_ud);

/* Write out, in order, what is ready: events to the event callback and
 * done for every finished source.  wait: until every source handed in is
 * finished and written.  Returns 0, or -1 once the event callback has
 * failed (the sources not yet written are then finished with
 * INGEST_TRANSIENT, "writing the events failed"). */
int dmarc_pool_drain(struct dmarc_pool *p, bool wait);

/* Sources handed in and not yet finished and written. */
size_t dmarc_pool_pending(const struct dmarc_pool *p);

/* Stop the workers and free everything.  Sources not yet written are
 * dropped without their done being called.  NULL is ignored. */
void dmarc_pool_free(struct dmarc_pool *p);

#endif
