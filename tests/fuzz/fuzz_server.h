/*
 * fuzz_server: a scripted server on 127.0.0.1 for the protocol client
 * harnesses (fuzz_imap_response, fuzz_pop3_response).
 *
 * The clients only speak through conn_connect, so the fuzz input reaches
 * them as what a server sends: a thread accepts the one connection the
 * client makes, writes the whole script, shuts its side down and reads
 * (and drops) whatever the client sends until the client closes.  The
 * script does not depend on what the client says, so each input gives the
 * same byte stream, and a client reading past the script sees a clean end
 * of stream rather than a timeout: the run is repeatable and fast.  The
 * server never closes before the client does, so a client write cannot
 * fail with EPIPE at a moment that depends on scheduling.
 *
 * Loopback only; one listening socket for the whole process.
 */
#ifndef FUZZ_SERVER_H
#define FUZZ_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Longest the server waits for the client at any step; only a client that
 * hangs would make it wait this long. */
#define FUZZ_SERVER_WAIT_MS 5000

struct fuzz_server {
  int lfd;
  uint16_t port;
  pthread_t thread;
  const uint8_t *script;
  size_t len;
};

/* A socket of type (SOCK_STREAM: listening, or SOCK_DGRAM) bound to
 * 127.0.0.1 on a port the kernel picks, which goes to *port_r.  Exits on
 * failure, naming who: the harness is useless without it. */
static inline int fuzz_loopback_socket(int type, const char *who,
                                       uint16_t *port_r)
{
  struct sockaddr_in a;
  socklen_t al = sizeof(a);
  int fd;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if(fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
     (type == SOCK_STREAM && listen(fd, 4) < 0) ||
     getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
    fprintf(stderr, "%s: listen on 127.0.0.1: %s\n", who, strerror(errno));
    exit(1);
  }
  *port_r = ntohs(a.sin_port);
  return fd;
}

/* Listen on 127.0.0.1, a port the kernel picks. */
static inline void fuzz_server_listen(struct fuzz_server *s)
{
  s->lfd = fuzz_loopback_socket(SOCK_STREAM, "fuzz_server", &s->port);
}

static inline void *fuzz_server_main(void *arg)
{
  struct fuzz_server *s = arg;
  struct pollfd pl = { s->lfd, POLLIN, 0 };
  size_t off = 0;
  bool shut = false;
  char sink[4096];
  int fd;

  if(poll(&pl, 1, FUZZ_SERVER_WAIT_MS) != 1)
    return NULL;
  fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if(fd < 0)
    return NULL;
  for(;;) {
    struct pollfd p = { fd, POLLIN, 0 };

    if(off == s->len && !shut) {
      shutdown(fd, SHUT_WR);
      shut = true;
    }
    if(!shut)
      p.events |= POLLOUT;
    if(poll(&p, 1, FUZZ_SERVER_WAIT_MS) != 1)
      break;
    if(p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = recv(fd, sink, sizeof(sink), 0);
      if(r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
        break; /* the client closed (or reset) */
    }
    if(!shut && (p.revents & POLLOUT)) {
      ssize_t w = send(fd, s->script + off, s->len - off, MSG_NOSIGNAL);
      if(w > 0)
        off += (size_t)w;
      else if(w < 0 && errno != EAGAIN && errno != EINTR)
        break;
    }
  }
  close(fd);
  return NULL;
}

/* Serve script[0..len) to the next client that connects. */
static inline void fuzz_server_start(struct fuzz_server *s,
                                     const uint8_t *script, size_t len)
{
  s->script = script;
  s->len = len;
  if(pthread_create(&s->thread, NULL, fuzz_server_main, s) != 0) {
    perror("fuzz_server: pthread_create");
    exit(1);
  }
}

/* Wait for the server thread; call after the client closed its socket. */
static inline void fuzz_server_join(struct fuzz_server *s)
{
  pthread_join(s->thread, NULL);
}

#endif
