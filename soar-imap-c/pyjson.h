/*
 * pyjson: cJSON trees printed the way Python's json.dumps prints them.
 *
 * The SOAR connector we replace identifies each artifact by
 * md5(json.dumps(artifact, sort_keys=True)), so to deduplicate against
 * containers it made we must print byte for byte what Python prints:
 * separators ", " and ": ", ensure_ascii escapes (lower-case \uXXXX,
 * surrogate pairs), integers without a fraction, true/false/null, and
 * with sort_keys the keys ordered by code point (UTF-8 byte order is the
 * same order).  Strings in the tree must be UTF-8; invalid bytes print as
 * U+FFFD.
 */
#ifndef SOAR_PYJSON_H
#define SOAR_PYJSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "buf.h"

/* Append item, printed as json.dumps(item, sort_keys=sort) would, to b.
 * Returns 0, or -1 when the buffer limit or memory runs out. */
int pyjson_dump(struct buf *b, const cJSON *item, bool sort);

/* The lower-case hex MD5 of json.dumps(item, sort_keys=True), into
 * hex[33].  Returns 0 or -1. */
int pyjson_md5(const cJSON *item, char hex[33]);

/* Hex digests of data (hex must hold 2 * digest size + 1). */
void pyjson_md5_hex(const void *data, size_t len, char hex[33]);

#endif
