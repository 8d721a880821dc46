/*
 * dns: forward-confirmed reverse DNS (FCrDNS) for report source addresses,
 * with c-ares.
 *
 * For an address: PTR lookup, then the forward lookup of each PTR name (A
 * for an IPv4 address, AAAA for IPv6: only those can match); the address is
 * confirmed by a name when any of that name's addresses equals it (compared
 * as binary addresses, so IPv6 written any way works; an IPv4-mapped IPv6
 * address is treated as its IPv4 address).
 *
 * One resolver serves a whole run: every address is looked up once and the
 * answer cached (confirmed name, or none).  Queries run concurrently, at
 * least DNS_MAX_INFLIGHT at a time; more wait in a queue.  The caller
 * submits addresses as it meets them, lets them progress with dns_poll, and
 * waits for the ones it needs with a deadline.  When a deadline passes with
 * no answer at all received in the run, the resolver is considered
 * unreachable: it logs one WARN and answers every later lookup at once with
 * "not resolved", so a dead resolver costs one deadline per run.
 */
#ifndef DNS_DNS_H
#define DNS_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_INFLIGHT 64

struct dns_resolver;

/* Create a resolver.  server: "IP", "IP:PORT" or "[IPv6]:PORT" to use that
 * server only; NULL for the system's configuration (/etc/resolv.conf).
 * timeout_ms: per-query timeout before c-ares retries (default when 0:
 * 2000).  Returns NULL with a message in err. */
struct dns_resolver *dns_resolver_new(const char *server, int timeout_ms,
                                      char *err, size_t errlen);
void dns_resolver_free(struct dns_resolver *r);

/* Queue a confirmation for ip (textual IPv4 or IPv6; anything else is
 * answered "not resolved" at once).  Cheap when ip was seen before. */
void dns_submit(struct dns_resolver *r, const char *ip);

/* Make progress on queued and in-flight queries without blocking. */
void dns_poll(struct dns_resolver *r);

/* Block until every submitted address is answered or deadline_ms
 * (util_now_ms clock) passes.  Addresses still unanswered then are reported
 * as not resolved by dns_lookup (and stay cached as such for this run). */
void dns_wait(struct dns_resolver *r, int64_t deadline_ms);

/* The confirmed name for ip (without trailing dot), or NULL when it has no
 * PTR, its PTR names do not resolve back to it, it was not answered in
 * time, or it was never submitted.  Valid until dns_resolver_free. */
const char *dns_lookup(struct dns_resolver *r, const char *ip);

/* Wait up to timeout_ms for a c-ares channel's sockets, then let c-ares
 * read what arrived and run its retries and timeouts (also when nothing
 * arrived).  Shared by every c-ares user so the poll loop exists once. */
struct ares_channeldata;
void dns_drive_channel(struct ares_channeldata *ch, int timeout_ms);

/* Parse a resolver address: "IP", "IP:PORT", "[IPv6]", "[IPv6]:PORT" or a
 * bare IPv6 address, strictly (c-ares' own parser takes "[::1").  what
 * names the setting in messages ("DNS server").  Returns 0 with node
 * filled (ports 0 when none was given), or -1 with the reason in err. */
struct ares_addr_port_node;
int dns_parse_server(const char *server, const char *what,
                     struct ares_addr_port_node *node, char *err,
                     size_t errlen);

#endif
