/*
 * fuzz_dns: what DNS servers answer, as common/dmarc/dns (FCrDNS over
 * c-ares) reads it: PTR answers (every name a candidate, the implausible
 * ones skipped), then A or AAAA answers compared with the address.
 *
 * The answers come from fuzz_dns_server.h on 127.0.0.1, each query taking
 * the next one of the script, in the order the resolver sends them; once
 * the script is used up every query gets NXDOMAIN.  Input:
 *   byte 0   bits 0-1: 1..4 addresses; bit 2: IPv6 ones instead of IPv4;
 *            bit 3: every address submitted twice (the cache)
 *   then     answers, each: 2 bytes big-endian length L, then L bytes:
 *            rcode (low 4 bits), ANCOUNT, NSCOUNT, ARCOUNT (one byte
 *            each), then the records as they go on the wire after the
 *            question (0xc00c names the question)
 * The reply is the query's header and question with those counts and
 * records appended.
 * Checks: dns_lookup gives NULL or a host name of letters, digits, '-',
 * '_' and non-empty labels, at most 253 bytes; a submitted address is
 * answered by the deadline (the server answers everything at once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "util.h"
#include "fuzz_common.h"
#include "fuzz_dns_server.h"

static struct fuzz_dns_server server;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  log_set_level(LOG_ERROR);
  fuzz_dns_server_listen(&server);
  return 0;
}

struct script {
  const uint8_t *p;
  size_t left;
};

static size_t answer(void *ctx, const uint8_t *q, size_t qlen, size_t qend,
                     uint8_t *out, size_t cap)
{
  struct script *s = ctx;
  size_t off, len;

  (void)qlen;
  if(s->left < 2) {
    s->left = 0;
    return fuzz_dns_reply_start(q, qend, 3, out, cap);
  }
  len = (size_t)s->p[0] << 8 | s->p[1];
  if(len > s->left - 2)
    len = s->left - 2;
  const uint8_t *a = s->p + 2;
  s->p += 2 + len;
  s->left -= 2 + len;
  off = fuzz_dns_reply_start(q, qend, len ? a[0] : 3, out, cap);
  if(off == 0 || len < 4)
    return off;
  out[7] = a[1];
  out[9] = a[2];
  out[11] = a[3];
  if(len - 4 > cap - off)
    len = cap - off + 4;
  memcpy(out + off, a + 4, len - 4);
  return off + len - 4;
}

static void check_name(const char *n)
{
  size_t len, label = 0;

  if(!n)
    return;
  len = strlen(n);
  FUZZ_CHECK(len >= 1 && len <= 253);
  for(size_t i = 0; i < len; i++) {
    char c = n[i];
    if(c == '.') {
      FUZZ_CHECK(label > 0);
      label = 0;
      continue;
    }
    FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '-' || c == '_');
    label++;
  }
  FUZZ_CHECK(label > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const v4[4] = { "192.0.2.1", "192.0.2.5", "198.51.100.7",
                                     "203.0.113.9" };
  static const char *const v6[4] = { "2001:db8::1", "::ffff:192.0.2.1",
                                     "2001:db8:0:0:0:0:2:1", "fe80::1" };
  struct dns_resolver *r;
  struct script s;
  const char *const *ips;
  unsigned n;
  char err[256];

  if(size < 1)
    return 0;
  n = 1 + (data[0] & 3);
  ips = (data[0] & 4) ? v6 : v4;
  s.p = data + 1;
  s.left = size - 1;
  r = dns_resolver_new(server.addr, 500, err, sizeof(err));
  if(!r) {
    fprintf(stderr, "fuzz_dns: %s\n", err);
    abort();
  }
  fuzz_dns_server_start(&server, answer, &s);
  for(unsigned i = 0; i < n; i++)
    dns_submit(r, ips[i]);
  dns_poll(r);
  if(data[0] & 8)
    for(unsigned i = 0; i < n; i++)
      dns_submit(r, ips[i]);
  dns_wait(r, util_now_ms() + 5000);
  for(unsigned i = 0; i < n; i++)
    check_name(dns_lookup(r, ips[i]));
  (void)dns_lookup(r, "192.0.2.200"); /* never submitted */
  dns_resolver_free(r);
  fuzz_dns_server_stop(&server);
  return 0;
}
