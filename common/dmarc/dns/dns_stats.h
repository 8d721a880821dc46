/*
 * dns_stats: counters of one resolver, for tests and debug logs.
 *
 * Not part of the dns interface proper: the tests use them to prove what
 * cannot be seen from the answers alone (that a cached address is not asked
 * again, that queries really run side by side, that the resolver gave up).
 */
#ifndef DNS_DNS_STATS_H
#define DNS_DNS_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "dns.h"

struct dns_stats {
  uint64_t ptr_queries;  /* PTR queries sent: one per distinct address */
  uint64_t name_queries; /* A/AAAA queries sent for PTR names */
  uint64_t responses;    /* replies received from a server (any rcode) */
  unsigned inflight_max; /* most addresses in flight at one time */
  size_t entries;        /* distinct addresses cached */
  bool dead;             /* resolver declared unreachable */
};

/* Copy r's counters into *st. */
void dns_get_stats(const struct dns_resolver *r, struct dns_stats *st);

#endif
