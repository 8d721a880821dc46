/*
 * archive: find the report payloads inside a source (a file or a memory
 * block) that may be gzip (RFC 1952: concatenated members, trailing bytes
 * after the last member, gzip inside gzip) or zip (every member, members in
 * sub-folders, empty or odd names, data descriptors), nested up to a depth.
 *
 * The type of every layer is sniffed from its first bytes, never from its
 * name.  Bytes that are neither gzip nor zip are a "leaf": they are handed to
 * the caller's handler in chunks, as they are inflated, so a report of any
 * size is never held in memory whole.
 *
 * Every limit is enforced on the bytes actually produced while inflating;
 * no size, count or offset read from a header is trusted.  A zip whose
 * members overlap (one local header reachable from two directory entries)
 * is rejected before anything is inflated.
 */
#ifndef ARCHIVE_ARCHIVE_H
#define ARCHIVE_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

struct archive_limits {
  uint64_t max_bytes;   /* decompressed bytes per source, all leaves and
                           all layers together; default 100 MB (100000000) */
  unsigned max_members; /* zip entries per zip file (directories count);
                           default 100 */
  unsigned max_depth;   /* nesting of gzip/zip layers; the source itself is
                           depth 0, so 3 allows e.g. zip > gz > gz; default 3 */
};

/* Fill in the defaults above. */
void archive_limits_default(struct archive_limits *lim);

/* What a walk reports about a source that it had to give up on. */
struct archive_error {
  int permanent; /* 1: the bytes are bad (corrupt, bomb, limit): reading
                    them again cannot help; 0: an I/O error, worth a retry */
  char msg[512]; /* one line naming the layer, the limit and the figure,
                    e.g. "gzip layer 2: decompressed size exceeds the limit
                    of 100000000 bytes (max_bytes)" */
};

/* The caller's side of a walk.  For each leaf: leaf_begin, then leaf_data
 * zero or more times, then leaf_end, always in that order and never
 * interleaved with another leaf.
 *
 * leaf_begin: name is the leaf's source name: for a zip member its base
 *   name (path stripped; "" stays "" for an empty name), for a gzip layer
 *   the name of the layer around it without a trailing ".gz"/".gzip" (any
 *   case), else the name given to the walk.  depth is the number of archive
 *   layers around the leaf.  Return 0 to receive the data, 1 to skip this
 *   leaf, -1 to stop the whole walk.
 * leaf_data: return 0 to go on, 1 to skip the rest of this leaf (leaf_end
 *   still follows), -1 to stop the whole walk.
 * leaf_end: status 0 when the leaf was delivered whole; -1 when the archive
 *   layer around it failed part-way (the walk then returns -1 with the
 *   reason in err); 1 when the handler skipped it (or stopped the walk from
 *   leaf_data).  It follows every leaf_begin that returned 0 or 1; after a
 *   leaf_begin that returned -1 nothing more is called.
 *
 * When the handler stops the walk, archive_walk_* returns -2.
 */
struct archive_handler {
  int (*leaf_begin)(void *ud, const char *name, unsigned depth);
  int (*leaf_data)(void *ud, const void *buf, size_t len);
  void (*leaf_end)(void *ud, int status);
};

/* Walk the source read from fd (read from its current offset to its end;
 * a zip at depth 0 is read with pread-style seeks on fd, a nested zip is
 * first spooled to an unlinked temporary file, bounded by max_bytes).
 * name is the source's name for leaf names and messages.
 *
 * Returns 0 when every layer was read whole (the handler may have skipped
 * leaves), -1 when the source was given up (err filled; leaves delivered
 * before the failure were ended with status -1 if in progress), -2 when the
 * handler stopped the walk. */
int archive_walk_fd(int fd, const char *name, const struct archive_limits *lim,
                    const struct archive_handler *h, void *ud,
                    struct archive_error *err);

/* The same over a memory block (for MIME parts); never modifies data. */
int archive_walk_mem(const void *data, size_t len, const char *name,
                     const struct archive_limits *lim,
                     const struct archive_handler *h, void *ud,
                     struct archive_error *err);

#endif
