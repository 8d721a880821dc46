/*
 * store: checkpoints, as a folder of small files.
 *
 * One file per key (the file name is the SHA-256 of the key, so any key is
 * safe), holding the key and its value.  A put writes a temporary file with
 * mode 0600, fsyncs it, renames it over the old one and fsyncs the folder,
 * so after a crash a key has either its old or its new value, never a torn
 * one.  A failed put (disk full, read-only) leaves the old value in place.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stddef.h>

struct store;

/* Open (and create, mode 0700, if missing) the store in dir.  dir NULL gives
 * a store that keeps nothing (every get misses, every put succeeds).
 * Returns NULL with a message in err. */
struct store *store_open(const char *dir, char *err, size_t errlen);
void store_close(struct store *s);

/* Look key up.  Returns 1 with *value_r set (caller frees), 0 when absent,
 * -1 on an I/O error (message in err). */
int store_get(struct store *s, const char *key, char **value_r, char *err,
              size_t errlen);

/* Set key to value (both NUL-terminated text).  Returns 0, or -1 with a
 * message in err (the previous value is untouched). */
int store_put(struct store *s, const char *key, const char *value, char *err,
              size_t errlen);

/* Set several keys at once: each value is written and fsynced under a
 * temporary name, then all are renamed into place and the folder is
 * fsynced once (n + 1 syncs instead of 2n).  After a crash each key has
 * its old or its new value, but not necessarily all the new ones; a
 * caller that needs all-or-nothing writes its parts under fresh keys and
 * then points to them from one small record (store_put).  Returns 0, or
 * -1 with a message in err: values not yet renamed keep their old one. */
#define STORE_MAX_MANY 4096
int store_put_many(struct store *s, const char *const *keys,
                   const char *const *values, size_t n, char *err,
                   size_t errlen);

/* Values of any length up to STORE_MAX_PARTS records: the value is cut
 * after a '\n' or ',' (or anywhere when a piece has none) into parts of
 * at most ~60 KB.  The parts after the first are written under fresh keys
 * (store_put_many), then key itself is switched to them, holding the
 * first part and a count, so after a crash key has its whole old or whole
 * new value.  Keys up to STORE_MAX_KEY bytes.  Same returns as
 * store_put / store_get; a part missing on read is an error. */
#define STORE_MAX_PARTS 4096
#define STORE_MAX_KEY   1400
int store_put_long(struct store *s, const char *key, const char *value,
                   char *err, size_t errlen);
int store_get_long(struct store *s, const char *key, char **value_r, char *err,
                   size_t errlen);

#endif
