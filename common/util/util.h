/*
 * util: small helpers shared by every subsystem: clocks, bounded number
 * parsing, and the two text escapes our outputs need (JSON strings the way
 * Python's json.dumps writes them, and XML 1.0 character data).
 */
#ifndef UTIL_UTIL_H
#define UTIL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* What every executable's --version prints: "PROG VERSION" on stdout.
 * Returns 0, or 1 when stdout cannot be written (an exit status). */
int util_print_version(const char *prog);

/* Milliseconds on the monotonic clock (for deadlines). */
int64_t util_now_ms(void);

/* Parse a whole decimal unsigned number in [min, max] from s.  Leading and
 * trailing ASCII white space is allowed; nothing else.  Returns 0 and sets
 * *val_r, or -1. */
int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *val_r);

/* Append s[0..len) to b as the inside of a JSON string, escaped as Python's
 * json.dumps(ensure_ascii=True) does: \" \\ \n \r \t \b \f, other controls
 * and every non-ASCII code point as \uXXXX (surrogate pairs above U+FFFF).
 * Invalid UTF-8 bytes become U+FFFD.  Returns 0 or -1 (buffer limit). */
int util_json_escape(struct buf *b, const char *s, size_t len);

/* The same, with ASCII letters lower-cased when lower is set. */
int util_json_escape_case(struct buf *b, const char *s, size_t len, int lower);

/* Append s[0..len) to b as XML 1.0 character data: & < > and " escaped, C0
 * controls other than TAB, LF and CR removed, invalid UTF-8 replaced with
 * U+FFFD.  Returns 0 or -1 (buffer limit). */
int util_xml_escape(struct buf *b, const char *s, size_t len);

/* Decode one UTF-8 sequence at s (at most len bytes).  Returns the code
 * point and sets *used_r to its length, or returns -1 with *used_r = 1 for
 * an invalid, overlong, surrogate or truncated sequence. */
int32_t util_utf8_decode(const unsigned char *s, size_t len, size_t *used_r);

/* Days since 1970-01-01 of a date in the proleptic Gregorian calendar
 * (month 1-12, day 1-31; no range check).  For turning mail and IMAP dates
 * into epoch seconds without the local time zone getting involved. */
int64_t util_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Write all of p[0..n) to fd, retrying on EINTR and short writes.
 * Returns 0 or -1 with errno set. */
int util_write_all(int fd, const void *p, size_t n);

#endif
