/*
 * ingest: one source (a file, or a mail part in memory) in, its events out.
 *
 * The source is walked by archive (gzip/zip layers, limits), every leaf is
 * parsed by report (and, with validation on, checked against the XSDs in
 * the same pass), source addresses are sent to DNS as they are met, and
 * only when the whole source has been read are its events handed to the
 * caller: a source rejected part-way (a bomb, a corrupt archive) emits
 * nothing.  A source with several reports (a zip) emits every report that
 * parsed, and logs each member it had to leave out.
 */
#ifndef DMARC_INGEST_H
#define DMARC_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "archive.h"
#include "report.h"

/* The ingest owns its DNS: with resolve_ip, dmarc_ingest_new makes the
 * resolver of its ip_resolution lookups from dns_server (one per ingest, so
 * one per pool worker), and dmarc_ingest_free frees it.  The mail inputs'
 * DKIM key lookups take the same dns_server from here. */
struct dmarc_ingest_opts {
  enum dmarc_format fmt;
  int validate_xml;       /* annotate with XSD results */
  int resolve_ip;         /* add ip_resolution (forward-confirmed
                             reverse DNS of each source IP) */
  const char *dns_server; /* "IP[:PORT]" for those lookups; NULL: the
                             system's.  Borrowed, read by
                             dmarc_ingest_new only */
  int dns_deadline_ms;    /* per report; default 10000 */
  struct archive_limits alim;
  struct dmarc_limits dlim;
};

/* Defaults: JSON, validation on, resolve_ip off, 10 s deadline, default
 * limits. */
void dmarc_ingest_opts_default(struct dmarc_ingest_opts *o);

enum dmarc_ingest_status {
  INGEST_OK = 0,     /* at least one report; its events were emitted */
  INGEST_NOT_REPORT, /* read whole, but nothing in it is a report */
  INGEST_REJECTED,   /* bad bytes: bomb, corrupt, malformed, attack */
  INGEST_TRANSIENT,  /* I/O or output error: worth trying again */
};

/* What a mail input knows about a source beyond its bytes. */
struct dmarc_source_info {
  /* Added to every event (see dmarc_report_emit): JSON members, or KV
   * lines, matching the format.  NULL: nothing. */
  const char *extra_json;
  const char *extra_kv;
  /* Duplicate suppression: seen(key) returns 1 when the report with this
   * dmarc_report_key was already ingested (it is then not emitted again);
   * emitted(key) is called once its events are written.  Both may be
   * NULL. */
  int (*seen)(void *ud, const char *key);
  void (*emitted)(void *ud, const char *key);
  void *ud;
};

struct dmarc_ingest_result {
  enum dmarc_ingest_status status;
  unsigned reports;        /* reports emitted */
  unsigned duplicates;     /* reports left out as already seen */
  unsigned skipped_leaves; /* leaves left out of an INGEST_OK source */
  uint64_t events;
  char reason[768]; /* for anything but INGEST_OK with no skips */
};

struct dmarc_ingest;

/* opts is copied.  With resolve_ip, the ingest's resolver is made here: one
 * that cannot be made is logged (one WARN) and the ingest goes on without
 * ip_resolution.  Returns NULL when out of memory or when validation is on
 * and the schemas cannot be loaded (message in err). */
struct dmarc_ingest *dmarc_ingest_new(const struct dmarc_ingest_opts *opts,
                                      char *err, size_t errlen);
/* Free in and its resolver.  NULL is ignored. */
void dmarc_ingest_free(struct dmarc_ingest *in);

/* Whether in adds ip_resolution: resolve_ip was on and its resolver was
 * made. */
int dmarc_ingest_resolves(const struct dmarc_ingest *in);

/* Ingest the source read from fd (named name in events and messages).
 * Every event goes to cb.  Fills res; returns res->status. */
enum dmarc_ingest_status dmarc_ingest_fd(struct dmarc_ingest *in, int fd,
                                         const char *name, dmarc_event_cb cb,
                                         void *ud,
                                         struct dmarc_ingest_result *res);

/* The same for a memory block, with what the caller knows about it (info
 * may be NULL). */
enum dmarc_ingest_status dmarc_ingest_mem(struct dmarc_ingest *in,
                                          const void *data, size_t len,
                                          const char *name,
                                          const struct dmarc_source_info *info,
                                          dmarc_event_cb cb, void *ud,
                                          struct dmarc_ingest_result *res);

const char *dmarc_ingest_status_name(enum dmarc_ingest_status s);

#endif
