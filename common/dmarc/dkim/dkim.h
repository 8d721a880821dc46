/*
 * dkim: verify the DKIM signatures (RFC 6376) of one mail message with
 * libopendkim, looking the keys up through c-ares so the DNS server (and its
 * port) can be chosen: the system's resolver, or "IP[:PORT]" (tests point it
 * at dnsmasq on 127.0.0.1 and a random port).
 *
 * The result is one entry per DKIM-Signature header field, in the order the
 * fields appear in the message (topmost first), each with the signing domain
 * (d=), the selector (s=), a result word and a short reason.  Result words
 * are the RFC 8601 / DMARC-report vocabulary:
 *
 *   "pass"       the signature verified: header hash, RSA/Ed25519 signature
 *                and body hash all match.  reason "".
 *   "fail"       the key was found and the signature checked, but it does not
 *                verify: "body hash mismatch" (the body was changed),
 *                "signature mismatch" (the signed header fields or the key
 *                do not match), "signature expired" (x= in the past),
 *                "signature in the future" (t= ahead of our clock).
 *   "permerror"  it cannot ever verify as it is: "no key" (the selector's TXT
 *                record does not exist, NXDOMAIN or no TXT data), "key
 *                revoked" (p= empty), "key too small", "multiple key
 *                records", "key name not valid in DNS" (s._domainkey.d over
 *                253 bytes or a label over 63), another key record problem
 *                ("bad key: ..."), or a malformed signature field
 *                ("malformed signature: ...", e.g. a missing d=/s=/b= tag).
 *                Texts after "bad key:" and "malformed signature:" come from
 *                libopendkim.
 *   "temperror"  the key could not be fetched now: "DNS timeout", "DNS
 *                error: ..." (SERVFAIL, REFUSED, connection refused, ...) or
 *                "DNS skipped: server unreachable earlier in this message".
 *   "neutral"    libopendkim reached no verdict for a reason not listed above
 *                (e.g. an unknown error); the reason says what it reported.
 *
 * A message with no DKIM-Signature field gives no entries; "none" is never
 * produced by this module (callers may use it for an empty list).
 *
 * Bounds: messages over DKIM_MAX_MESSAGE are refused (error, no result);
 * only the first DKIM_MAX_SIGNATURES signatures are verified and reported
 * (later ones are ignored, with one DEBUG line).  Each key lookup waits at
 * most the verifier's timeout; after one lookup timed out, the remaining
 * lookups of the same message are not sent (temperror), so a dead server
 * costs one timeout per message, not one per signature.
 *
 * A verifier is not thread-safe; use one per thread.
 */
#ifndef DKIM_DKIM_H
#define DKIM_DKIM_H

#include <stddef.h>

#define DKIM_MAX_MESSAGE        (64u * 1024 * 1024)
#define DKIM_MAX_SIGNATURES     10
#define DKIM_DEFAULT_TIMEOUT_MS 5000
#define DKIM_REASON_MAX         160

struct dkim_verifier;

struct dkim_result {
  char *domain;                 /* d= as written; "" when the tag is absent */
  char *selector;               /* s= as written; "" when the tag is absent */
  const char *result;           /* static: "pass", "fail", "permerror", ... */
  char reason[DKIM_REASON_MAX]; /* short, "" for pass; see above */
};

/* Create a verifier.  dns_server: "IPv4", "IPv4:PORT", "[IPv6]" or
 * "[IPv6]:PORT" to ask that server only; NULL for the system's resolvers
 * (/etc/resolv.conf).  timeout_ms: the longest one key lookup may take (0:
 * DKIM_DEFAULT_TIMEOUT_MS; at least 100).  Returns NULL with the reason in
 * err. */
struct dkim_verifier *dkim_verifier_new(const char *dns_server, int timeout_ms,
                                        char *err, size_t errlen);

/* Free v and its resolver.  NULL is ok. */
void dkim_verifier_free(struct dkim_verifier *v);

/* Verify every DKIM signature of the raw message msg (len bytes, header and
 * body as received; CRLF or bare LF line ends, bare LFs are taken as CRLF).
 * On success returns 0 with *results (NULL when *n is 0) and *n set: one
 * entry per DKIM-Signature field, at most DKIM_MAX_SIGNATURES.  Returns -1
 * with the reason in err (and *results NULL, *n 0) only when nothing could be
 * verified at all: message over DKIM_MAX_MESSAGE, out of memory, or a
 * libopendkim failure on the message as a whole.  Free the results with
 * dkim_results_free. */
int dkim_verify_message(struct dkim_verifier *v, const void *msg, size_t len,
                        struct dkim_result **results, size_t *n, char *err,
                        size_t errlen);

/* Free what dkim_verify_message returned.  NULL is ok. */
void dkim_results_free(struct dkim_result *results, size_t n);

#endif
