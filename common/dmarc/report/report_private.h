/*
 * report_private: what the files of the DMARC report parser share.  Not
 * part of the public interface (that is report.h).
 *
 * Who provides what (calls run one way, down this list):
 *   report.c         the parser: expat callbacks building the tree of one
 *                    top-level element of <feedback>, the parser's life from
 *                    dmarc_parser_new to dmarc_parser_done (which assembles
 *                    the text around the record of every event), and the
 *                    report's accessors; hands each finished element to
 *                    dmarc_finish_part
 *   report_render.c  a finished element tree turned into JSON or KV text:
 *                    a record into the spool, a header part into the
 *                    parser's buffers; calls nothing in report.c
 *   report_emit.c    the events of a finished report (dmarc_report_emit);
 *                    reads struct dmarc_report and the spool, nothing else
 */
#ifndef DMARC_REPORT_PRIVATE_H
#define DMARC_REPORT_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include <expat.h>

#include "report.h"
#include "spool.h"
#include "buf.h"

#define SNIFF_LEN 4

/* ---- tree of one top-level element ------------------------------------ */

struct node {
  const char *name;
  const char *text; /* direct character data, NUL-terminated */
  size_t text_len;
  const char **attrs; /* name, value pairs */
  unsigned nattrs;
  unsigned nchildren;
  struct node *first, *last, *next;
};

/* Bump allocator reset for every top-level element. */
struct arena {
  char *mem;
  size_t used, cap, max;
};

/* ---- header of a finished report --------------------------------------- */

struct dmarc_report {
  char *source;
  char *org, *report_id;
  char *key;    /* org, report_id, domain, begin, end */
  int64_t time; /* date_range end, -1 if none */
  enum dmarc_format fmt;
  struct buf prefix;     /* event text before the record fragment */
  struct buf suffix_mid; /* after the fragment, before the xsd annotation */
  uint64_t start, end;   /* spool marks */
  uint64_t records;
};

/* ---- parser -------------------------------------------------------------- */

enum part {
  PART_NONE,
  PART_METADATA,
  PART_POLICY,
  PART_VERSION,
  PART_RECORD,
  PART_OTHER
};

struct dmarc_parser {
  XML_Parser xp;
  struct dmarc_limits lim;
  enum dmarc_format fmt;
  struct dmarc_spool *spool;
  uint64_t spool_start;
  char *source;

  enum dmarc_verdict verdict;
  char reason[512];

  unsigned depth; /* current element depth, root = 1 */
  int root_seen;
  char sniff[SNIFF_LEN];
  size_t sniffed;
  int sniff_done;

  /* The top-level element being built. */
  struct arena arena;
  enum part part;
  struct node *stack[64]; /* open nodes, index = depth - 2 */
  struct buf text[64];    /* their character data so far */

  /* Header parts, rendered. */
  struct buf meta, policy, version, extras; /* JSON: {"k": v} items */
  struct buf meta_kv, policy_kv;            /* KV lines */
  int have_meta, have_policy, have_version;
  char *org, *report_id;
  char *domain, *begin, *end;
  int64_t time;

  uint64_t records;
  int finished;    /* dmarc_parser_finish returned DMARC_OK */
  struct buf frag; /* scratch for rendering */
  struct buf ips;  /* addresses not yet drained, NUL-separated */
};

/* ASCII white space, the only kind these reports trim (no locale). */
static inline int dmarc_is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Render n, the top-level element of kind p->part that just ended: a record
 * goes to the spool (its source address to p->ips), the first metadata,
 * policy and version and any unknown part to p's header buffers and fields.
 * Returns 0, or -1 out of memory or spool space (errno says which). */
int dmarc_finish_part(struct dmarc_parser *p, const struct node *n);

#endif
