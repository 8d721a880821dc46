/*
 * ioc: indicators of compromise in the text of an email body.
 *
 * Finds, in UTF-8 text or HTML:
 *  - IPv4 addresses: four decimal octets 0-255 (no leading zeros) with a
 *    word boundary on both sides, so "1234.5.6.7" and "v1.2.3.4.5" give
 *    nothing;
 *  - IPv6 addresses: a run of hex digits, ':' and '.' standing alone (no
 *    word character touches it), holding a digit, accepted by inet_pton.
 *    So "Note::Foo" and "std::vector" give nothing; "::ffff:10.1.2.3" is
 *    one IPv6 address (not also an IPv4 one); a zone ("fe80::1%eth0") is
 *    dropped, since it only means something on the host that wrote it;
 *  - hashes: a standalone run of exactly 32, 40, 64 or 128 hex digits
 *    (MD5, SHA1, SHA256, SHA512), case kept;
 *  - URLs: http:// and https:// in text (HTML entities decoded, trailing
 *    punctuation and unbalanced closing brackets trimmed) and, in HTML,
 *    every href and src; a URL is kept only when its host is a valid IPv4,
 *    a bracketed IPv6 or a host name whose top-level label is letters
 *    (IDN: any non-ASCII letters, or xn--);
 *  - domains: the hosts of those URLs, the domains of email addresses in
 *    the text and of mailto: links, kept only when the top-level label is
 *    a known public suffix (libpsl, no "*" default rule) and the name is
 *    not itself an ICANN public suffix.  Lower-cased (ASCII letters only).
 *
 * Each value is kept once per ioc_result (exact string match), in the
 * order first seen, so one result can collect all bodies of one email.
 * Every list is capped at IOC_MAX_PER_KIND entries and every value at
 * IOC_MAX_VALUE bytes; what goes beyond is dropped and counted.
 */
#ifndef IOC_IOC_H
#define IOC_IOC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define IOC_MAX_PER_KIND 10000 /* values kept per kind per result */
#define IOC_MAX_VALUE    8192  /* longest URL (bytes) considered */
#define IOC_MAX_HTML_TEXT \
  (64u * 1024 * 1024) /* visible text of one HTML body */

enum ioc_kind {
  IOC_IP = 0,
  IOC_HASH,
  IOC_URL,
  IOC_DOMAIN,
  IOC_NKINDS /* never used as a kind */
};

struct ioc_opts {
  bool ips, hashes, urls, domains;
};

struct ioc_result;

/* Load what every scan shares (the public suffix list, libxml2's
 * globals).  Scans do it when needed; call it first when scanning on
 * several threads at once. */
void ioc_init(void);

/* An empty result, or NULL when out of memory. */
struct ioc_result *ioc_result_new(void);
void ioc_result_free(struct ioc_result *r);

/* Scan UTF-8 text (a text/plain body).  Returns 0, or -1 out of memory. */
int ioc_scan_text(struct ioc_result *r, const struct ioc_opts *o,
                  const char *text, size_t len);

/* Scan an HTML body (UTF-8): href/src attributes through libxml2's HTML
 * parser (mailto: links give domains), then the visible text (entities
 * decoded, <style> and comments left out) as by ioc_scan_text.  When
 * text_out is not NULL, that visible text is also appended to it (block
 * elements end a line).  Returns 0, or -1 out of memory. */
int ioc_scan_html(struct ioc_result *r, const struct ioc_opts *o,
                  const char *html, size_t len, struct buf *text_out);

/* Number of values of a kind, and the i-th one (NUL-terminated UTF-8). */
size_t ioc_count(const struct ioc_result *r, enum ioc_kind k);
const char *ioc_get(const struct ioc_result *r, enum ioc_kind k, size_t i);
/* Values dropped because a list or value limit was reached. */
size_t ioc_dropped(const struct ioc_result *r);

/* The validators, for callers and tests.  s need not be NUL-terminated. */
bool ioc_is_ipv4(const char *s, size_t len);
bool ioc_is_ipv6(const char *s, size_t len);
/* A host name (not an IP) under a known public suffix; see above. */
bool ioc_domain_ok(const char *s, size_t len);
/* If url[0..len) is a valid http(s) URL, return 1 and point *host_r /
 * *hostlen_r at its host inside url (brackets of an IPv6 literal removed);
 * else return 0. */
int ioc_url_host(const char *url, size_t len, const char **host_r,
                 size_t *hostlen_r);

#endif
