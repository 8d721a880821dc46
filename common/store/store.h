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
int store_get(struct store *s, const char *key, char **value_r,
              char *err, size_t errlen);

/* Set key to value (both NUL-terminated text).  Returns 0, or -1 with a
 * message in err (the previous value is untouched). */
int store_put(struct store *s, const char *key, const char *value,
              char *err, size_t errlen);

#endif
