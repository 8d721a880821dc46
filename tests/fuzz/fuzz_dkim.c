/*
 * fuzz_dkim: everything common/dmarc/dkim reads from outside: a report
 * mail's DKIM-Signature fields (and the rest of the message, hashed), and
 * the key record (RFC 6376 3.6.1) its DNS lookup brings back.
 *
 * The key is served by fuzz_dns_server.h on 127.0.0.1, the verifier pointed
 * at it the way the tests point it at dnsmasq; every TXT query of the
 * message gets the same answer.  Input:
 *   byte 0     bits 0-1: 0 the key record, 1 NXDOMAIN, 2 SERVFAIL, 3 no
 *              data; bit 2: the record cut into TXT strings of 1..64 bytes
 *              (sizes from bits 4-7) instead of 255; bit 3: the record
 *              twice (two key records)
 *   bytes 1-2  the key record's length K, big-endian
 *   then       K bytes of key record, then the message (header and body)
 * Checks: at most DKIM_MAX_SIGNATURES results, each with a result word of
 * dkim.h's list, a NUL-terminated reason ("" exactly for pass), domain and
 * selector strings; on -1 no results and a reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "log.h"
#include "fuzz_common.h"
#include "fuzz_dns_server.h"

static struct fuzz_dns_server server;
static struct dkim_verifier *verifier;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  char err[256];

  (void)argc;
  (void)argv;
  log_set_level(LOG_ERROR);
  fuzz_dns_server_listen(&server);
  verifier = dkim_verifier_new(server.addr, 3000, err, sizeof(err));
  if(!verifier) {
    fprintf(stderr, "fuzz_dkim: %s\n", err);
    exit(1);
  }
  return 0;
}

struct key {
  unsigned mode;
  const uint8_t *rec;
  size_t len;
};

/* Append one TXT record holding k's record to out[off..cap). */
static size_t put_txt(const struct key *k, uint8_t *out, size_t off, size_t cap)
{
  static const uint8_t head[] = { 0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 1, 0 };
  struct fuzz_chunker ch;
  size_t rdlen = 0, at, i = 0;

  fuzz_chunker_init(&ch, (uint8_t)(k->mode >> 4), 6);
  if(off + sizeof(head) + 2 > cap)
    return 0;
  memcpy(out + off, head, sizeof(head));
  at = off + sizeof(head);
  off = at + 2;
  do {
    size_t n = (k->mode & 4) ? fuzz_chunker_next(&ch, k->len - i)
                             : (k->len - i > 255 ? 255 : k->len - i);
    if(off + 1 + n > cap)
      return 0;
    out[off++] = (uint8_t)n;
    memcpy(out + off, k->rec + i, n);
    off += n;
    rdlen += 1 + n;
    i += n;
  } while(i < k->len);
  out[at] = (uint8_t)(rdlen >> 8);
  out[at + 1] = (uint8_t)rdlen;
  return off;
}

static size_t answer(void *ctx, const uint8_t *q, size_t qlen, size_t qend,
                     uint8_t *out, size_t cap)
{
  static const unsigned rcodes[4] = { 0, 3, 2, 0 };
  const struct key *k = ctx;
  size_t off, next;

  (void)qlen;
  off = fuzz_dns_reply_start(q, qend, rcodes[k->mode & 3], out, cap);
  if(off == 0 || (k->mode & 3) != 0)
    return off;
  for(unsigned r = 0; r < ((k->mode & 8) ? 2u : 1u); r++) {
    next = put_txt(k, out, off, cap);
    if(next == 0)
      break;
    off = next;
    out[7]++;
  }
  return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const words[] = { "pass", "fail", "permerror", "temperror",
                                       "neutral" };
  struct dkim_result *res = NULL;
  struct key k;
  size_t n = 0, klen;
  char err[256];
  int rc;

  if(size < 3)
    return 0;
  klen = (size_t)data[1] << 8 | data[2];
  if(klen > size - 3)
    klen = size - 3;
  k.mode = data[0];
  k.rec = data + 3;
  k.len = klen;
  fuzz_dns_server_start(&server, answer, &k);
  err[0] = '\0';
  rc = dkim_verify_message(verifier, data + 3 + klen, size - 3 - klen, &res, &n,
                           err, sizeof(err));
  fuzz_dns_server_stop(&server);
  FUZZ_CHECK(rc == 0 || rc == -1);
  if(rc < 0) {
    FUZZ_CHECK(res == NULL && n == 0 && err[0] != '\0');
    return 0;
  }
  FUZZ_CHECK(n <= DKIM_MAX_SIGNATURES);
  FUZZ_CHECK((n == 0) == (res == NULL));
  for(size_t i = 0; i < n; i++) {
    bool known = false;
    FUZZ_CHECK(res[i].domain != NULL && res[i].selector != NULL);
    (void)fuzz_touch(res[i].domain, strlen(res[i].domain));
    (void)fuzz_touch(res[i].selector, strlen(res[i].selector));
    FUZZ_CHECK(memchr(res[i].reason, '\0', sizeof(res[i].reason)) != NULL);
    for(size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
      known |= res[i].result != NULL && strcmp(res[i].result, words[w]) == 0;
    FUZZ_CHECK(known);
    if(strcmp(res[i].result, "pass") == 0)
      FUZZ_CHECK(res[i].reason[0] == '\0');
  }
  dkim_results_free(res, n);
  return 0;
}
