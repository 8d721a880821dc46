/*
 * fuzz_dns_server: a DNS server on 127.0.0.1 (UDP) for the harnesses of
 * the c-ares users (fuzz_dns, fuzz_dkim), as fuzz_server.h is for the
 * IMAP and POP3 clients.
 *
 * A thread answers every query at once with what the harness's answer
 * function builds from the fuzz input; the reply always carries the
 * query's id and question, which c-ares checks before it looks further, so
 * the input reaches the code under test instead of being dropped (and
 * waited for until a timeout).  The TC bit is cleared: a switch to TCP
 * would find no server.  Queries arrive in the order the single-threaded
 * client sends them, so a run is repeatable.
 *
 * Loopback only; one socket for the whole process, one thread per input.
 */
#ifndef FUZZ_DNS_SERVER_H
#define FUZZ_DNS_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_server.h"

#define FUZZ_DNS_MAX_MSG 4096

/* Build the reply to query q[0..qlen) (whose question ends at qend) in
 * out[0..cap); return its length, or 0 to send nothing. */
typedef size_t (*fuzz_dns_answer_fn)(void *ctx, const uint8_t *q, size_t qlen,
                                     size_t qend, uint8_t *out, size_t cap);

struct fuzz_dns_server {
  int fd;
  int stop[2]; /* a byte on stop[1] ends the thread */
  uint16_t port;
  char addr[32]; /* "127.0.0.1:PORT" */
  pthread_t thread;
  fuzz_dns_answer_fn answer;
  void *ctx;
  unsigned queries;
};

static inline void fuzz_dns_server_listen(struct fuzz_dns_server *s)
{
  s->fd = fuzz_loopback_socket(SOCK_DGRAM, "fuzz_dns_server", &s->port);
  if(pipe(s->stop) < 0) {
    perror("fuzz_dns_server: pipe");
    exit(1);
  }
  snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%u", (unsigned)s->port);
}

/* Offset just past the (single) question of q, or 0 when q has none. */
static inline size_t fuzz_dns_question_end(const uint8_t *q, size_t qlen)
{
  size_t i = 12;

  if(qlen < 12 || q[4] != 0 || q[5] != 1)
    return 0;
  while(i < qlen && q[i] != 0) {
    if(q[i] & 0xc0)
      return 0;
    i += 1 + (size_t)q[i];
  }
  return i + 5 <= qlen ? i + 5 : 0;
}

/* The start of every reply: q's header with QR and RA set, TC and the
 * counts cleared, rcode as given, then q's question.  Returns the offset
 * where answer records go, or 0 when out is too small. */
static inline size_t fuzz_dns_reply_start(const uint8_t *q, size_t qend,
                                          unsigned rcode, uint8_t *out,
                                          size_t cap)
{
  if(qend > cap)
    return 0;
  memcpy(out, q, qend);
  out[2] = (uint8_t)((q[2] | 0x80) & ~0x02);
  out[3] = (uint8_t)(0x80 | (rcode & 0x0f));
  memset(out + 6, 0, 6);
  return qend;
}

static inline void *fuzz_dns_server_main(void *arg)
{
  struct fuzz_dns_server *s = arg;
  uint8_t q[FUZZ_DNS_MAX_MSG], out[FUZZ_DNS_MAX_MSG];

  for(;;) {
    struct pollfd p[2] = { { s->fd, POLLIN, 0 }, { s->stop[0], POLLIN, 0 } };
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n;
    size_t qend, len;

    if(poll(p, 2, -1) < 0)
      continue;
    if(p[1].revents) {
      char c;
      if(read(s->stop[0], &c, 1) < 0)
        perror("fuzz_dns_server: stop");
      return NULL;
    }
    n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
    if(n <= 0)
      continue;
    qend = fuzz_dns_question_end(q, (size_t)n);
    if(qend == 0)
      continue;
    s->queries++;
    len = s->answer(s->ctx, q, (size_t)n, qend, out, sizeof(out));
    if(len >= 12) {
      out[0] = q[0];
      out[1] = q[1];
      out[2] &= (uint8_t)~0x02;
      sendto(s->fd, out, len, 0, (struct sockaddr *)&from, fl);
    }
  }
}

/* Answer queries with fn(ctx, ...) until fuzz_dns_server_stop.  Replies
 * to queries of the previous input still queued are dropped first. */
static inline void fuzz_dns_server_start(struct fuzz_dns_server *s,
                                         fuzz_dns_answer_fn fn, void *ctx)
{
  uint8_t junk[FUZZ_DNS_MAX_MSG];

  while(recv(s->fd, junk, sizeof(junk), MSG_DONTWAIT) >= 0)
    ;
  s->answer = fn;
  s->ctx = ctx;
  s->queries = 0;
  if(pthread_create(&s->thread, NULL, fuzz_dns_server_main, s) != 0) {
    perror("fuzz_dns_server: pthread_create");
    exit(1);
  }
}

static inline void fuzz_dns_server_stop(struct fuzz_dns_server *s)
{
  if(write(s->stop[1], "x", 1) != 1)
    perror("fuzz_dns_server: stop");
  pthread_join(s->thread, NULL);
}

#endif
