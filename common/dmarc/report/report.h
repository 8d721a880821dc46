/*
 * report: a streaming parser for DMARC aggregate reports (the 2012 draft,
 * RFC 7489 and RFC 9990), turning each <record> into one event.
 *
 * Elements are matched by local name in any namespace and in any order.
 * Every top-level part of <feedback> is kept as it was written (values are
 * never reinterpreted, unknown elements are kept) and rendered in the shape
 * of the TA-dmarc add-on we replace:
 *
 *   JSON: {"feedback": [{"report_metadata": {..}}, {"policy_published": {..}},
 *          {"version": ".."}?, {<unknown top-level element>: ..}*,
 *          {"record": {..}}], "vendor_rua_xsd_validations": ..}
 *   KV:   the legacy "RUA BEGIN" lines.
 *
 * Safety: any DOCTYPE or entity declaration stops the parse (billion laughs,
 * quadratic blowup, external entities: nothing is ever read because of a
 * report), and depth, text length, subtree size and record count are capped.
 *
 * Records are rendered as they end and appended to a spool; the events are
 * assembled by dmarc_report_emit once the whole report (and so its header,
 * whatever its position) is known.  Nothing is emitted for a report that
 * fails part-way.
 */
#ifndef DMARC_REPORT_H
#define DMARC_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

enum dmarc_format { DMARC_FORMAT_JSON = 0, DMARC_FORMAT_KV };

struct dmarc_limits {
  unsigned max_depth;       /* element nesting; default 32 */
  uint64_t max_records;     /* records per report; default 1000000 */
  size_t max_text;          /* bytes of text in one element; default 65536 */
  size_t max_element_bytes; /* bytes held for one top-level element (a
                               record, the metadata); default 1 MiB */
};

void dmarc_limits_default(struct dmarc_limits *lim);

/* Why a leaf was not turned into events. */
enum dmarc_verdict {
  DMARC_OK = 0,     /* a report: its records are in the spool */
  DMARC_NOT_REPORT, /* well-formed or not, it is not an aggregate report */
  DMARC_MALFORMED,  /* looked like a report but is not well-formed XML */
  DMARC_FORBIDDEN,  /* DTD / entity declaration: refused as an attack */
  DMARC_LIMIT,      /* a limit of struct dmarc_limits was hit */
  DMARC_NOMEM,
};

struct dmarc_parser;

/* Start parsing one document whose records go to spool (shared by all the
 * reports of a source).  source names the document in messages and is the
 * events' source.  Returns NULL when out of memory. */
struct dmarc_parser *dmarc_parser_new(const struct dmarc_limits *lim,
                                      enum dmarc_format fmt,
                                      struct dmarc_spool *spool,
                                      const char *source);

/* Feed the next chunk.  Returns DMARC_OK to go on, or the verdict that
 * stopped the parse (then the reason is in dmarc_parser_reason and further
 * feeds are ignored). */
enum dmarc_verdict dmarc_parser_feed(struct dmarc_parser *p, const void *buf,
                                     size_t len);

/* End of document.  Returns the final verdict. */
enum dmarc_verdict dmarc_parser_finish(struct dmarc_parser *p);

/* One line saying why the parse stopped, naming the limit and the figure;
 * "" while all is well. */
const char *dmarc_parser_reason(const struct dmarc_parser *p);

/* Each source_ip met so far, for DNS look-ups as early as possible: calls
 * cb for addresses not yet reported by this function. */
void dmarc_parser_drain_ips(struct dmarc_parser *p,
                            void (*cb)(void *ud, const char *ip), void *ud);

struct dmarc_report;

/* After a DMARC_OK finish: take the report (header and the range of its
 * records in the spool) and free the parser.  Otherwise (another verdict,
 * or no finish at all: the document was abandoned): free the parser and
 * return NULL, with the spool rolled back to where this document began.
 * p may be NULL. */
struct dmarc_report *dmarc_parser_done(struct dmarc_parser *p);

uint64_t dmarc_report_records(const struct dmarc_report *r);
const char *dmarc_report_source(const struct dmarc_report *r);
const char *dmarc_report_org(const struct dmarc_report *r);
const char *dmarc_report_id(const struct dmarc_report *r);
/* The report's identity: org_name, report_id, policy domain, date range
 * begin and end, joined with 0x1f.  Reporters re-send reports and reuse
 * report ids, so all five together say "the same report". */
const char *dmarc_report_key(const struct dmarc_report *r);
void dmarc_report_free(struct dmarc_report *r);

/* Per-schema validation results to attach; NULL means validation was off
 * ("None" in JSON, "unknown" in KV). */
struct dmarc_xsd_annotation {
  unsigned count;
  const char *const *names; /* schema file names */
  const int *pass;
  const char *const *info; /* "" when pass */
};

/* Called for every event: text (not NUL-terminated), its time (date_range
 * end, or -1 when the report has none that parses) and its source.
 * Returns 0, or -1 to stop (a write error). */
typedef int (*dmarc_event_cb)(void *ud, const char *text, size_t len,
                              int64_t time, const char *source);

/* Build the report's events from the spool and pass each to cb.  extra, if
 * not NULL or "", is added to every event: for JSON, top-level members
 * ("\"k\": v, ..." without braces) after vendor_rua_xsd_validations; for
 * KV, whole lines.  resolve gives the confirmed name for a source address,
 * or NULL (may be NULL itself).  Returns the number of events, or -1 when
 * cb or the spool failed. */
int64_t dmarc_report_emit(const struct dmarc_report *r,
                          struct dmarc_spool *spool,
                          const struct dmarc_xsd_annotation *xsd,
                          const char *extra,
                          const char *(*resolve)(void *ud, const char *ip),
                          void *resolve_ud, dmarc_event_cb cb, void *ud);

#endif
