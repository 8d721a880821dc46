/*
 * spool: the rendered records of one source, held until the source has
 * been read whole so that a source rejected part-way emits nothing.
 *
 * Entries live in memory up to DMARC_SPOOL_MEM bytes, then in an unlinked
 * temporary file, so memory stays flat however many records a report has.
 * Each entry is a record fragment, the address to resolve for it, and the
 * offset where the resolved name is to be inserted.
 */
#ifndef DMARC_SPOOL_H
#define DMARC_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define DMARC_SPOOL_MEM (4u << 20)

struct dmarc_spool;

struct dmarc_spool_entry {
  const char *frag; /* the rendered record */
  size_t len;
  size_t insert_at; /* where a resolved name goes; == len: nowhere */
  const char *ip;   /* source address ("" when none) */
};

/* Returns NULL when out of memory. */
struct dmarc_spool *dmarc_spool_new(void);
void dmarc_spool_free(struct dmarc_spool *s);

/* Forget every entry (start of a new source). */
void dmarc_spool_clear(struct dmarc_spool *s);

/* The current end of the spool, for dmarc_spool_rewind and _each. */
uint64_t dmarc_spool_mark(const struct dmarc_spool *s);

/* Forget every entry added after mark was taken (a document failed
 * part-way).  Returns 0, or -1 when the temporary file cannot be cut. */
int dmarc_spool_rewind(struct dmarc_spool *s, uint64_t mark);

/* Append an entry.  Returns 0, or -1 with errno (disk full, no memory). */
int dmarc_spool_add(struct dmarc_spool *s, const char *frag, size_t len,
                    size_t insert_at, const char *ip);

/* Visit the entries between two marks, in order; cb returns 0 to go on, -1 to
 * stop. The entry is valid during the call only.  Returns 0, -1 when cb stopped
 * or the temporary file could not be read. */
int dmarc_spool_each(struct dmarc_spool *s, uint64_t from, uint64_t to,
                     int (*cb)(void *ud, const struct dmarc_spool_entry *e),
                     void *ud);

#endif
