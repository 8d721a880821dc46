/*
 * conn: TCP + TLS client connection with deadlines and bounded reads.
 * See conn.h for the contract.
 *
 * The socket is always non-blocking; every blocking step is a poll() with
 * the time left until the call's deadline.  OpenSSL runs over the same fd
 * and reports WANT_READ / WANT_WRITE, which map onto the same poll().
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "util.h"

/* Read buffer = max_line plus this much, so a full line and the start of
 * the next one fit, and literal chunks are never tiny. */
#define CONN_BUF_SLACK (16 * 1024)

struct conn {
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
  bool verified;
  bool broken;
  bool timed_out; /* broken because the peer went quiet */
  int timeout_ms;
  size_t max_line;
  char *rbuf; /* unread bytes are rbuf[rpos..rlen) */
  size_t rcap, rpos, rlen;
  char *host;
  char *verify_name;
  char *ca_file;
  bool no_verify;
  char peer[300];
  char err[CONN_ERR_LEN];
};

static void conn_seterr(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void conn_seterr(struct conn *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof(c->err), fmt, ap);
  va_end(ap);
  c->broken = true;
}

void conn_fail(struct conn *c, const char *fmt, ...)
{
  va_list ap;
  if(c->broken) /* keep the first cause */
    return;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof(c->err), fmt, ap);
  va_end(ap);
  c->broken = true;
}

/* Text of the first queued OpenSSL error (and clear the queue). */
static const char *ssl_errstr(char *b, size_t n)
{
  unsigned long e = ERR_get_error();
  if(e == 0)
    snprintf(b, n, "%s", errno ? strerror(errno) : "unknown error");
  else
    ERR_error_string_n(e, b, n);
  ERR_clear_error();
  return b;
}

/* Wait until fd is ready for `events` or the deadline passes.  `what` is
 * "reading from" / "writing to" / "in TLS handshake with". */
static int conn_wait(struct conn *c, short events, int64_t deadline,
                     const char *what)
{
  for(;;) {
    int64_t left = deadline - util_now_ms();
    struct pollfd p = { .fd = c->fd, .events = events, .revents = 0 };
    int r;
    if(left <= 0) {
      conn_seterr(c, "timeout after %d ms %s %s", c->timeout_ms, what, c->peer);
      c->timed_out = true;
      return -1;
    }
    r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
    if(r > 0)
      return 0; /* readable, writable, or HUP/ERR: the I/O call tells */
    if(r < 0 && errno != EINTR) {
      conn_seterr(c, "poll on %s: %s", c->peer, strerror(errno));
      return -1;
    }
  }
}

/* Read up to n bytes into p, waiting at most until deadline (util_now_ms
 * time).  Returns the count (> 0) or -1. */
static ssize_t conn_recv(struct conn *c, void *p, size_t n, int64_t deadline)
{
  if(n > INT32_MAX)
    n = INT32_MAX;
  for(;;) {
    if(c->ssl) {
      int r, e;
      char eb[256];
      ERR_clear_error();
      errno = 0;
      r = SSL_read(c->ssl, p, (int)n);
      if(r > 0)
        return r;
      e = SSL_get_error(c->ssl, r);
      if(e == SSL_ERROR_WANT_READ) {
        if(conn_wait(c, POLLIN, deadline, "reading from") < 0)
          return -1;
        continue;
      }
      if(e == SSL_ERROR_WANT_WRITE) {
        if(conn_wait(c, POLLOUT, deadline, "reading from") < 0)
          return -1;
        continue;
      }
      if(e == SSL_ERROR_ZERO_RETURN ||
         (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
        conn_seterr(c, "connection closed by %s", c->peer);
        return -1;
      }
      conn_seterr(c, "TLS read from %s: %s", c->peer,
                  ssl_errstr(eb, sizeof(eb)));
      return -1;
    }
    else {
      ssize_t r = recv(c->fd, p, n, 0);
      if(r > 0)
        return r;
      if(r == 0) {
        conn_seterr(c, "connection closed by %s", c->peer);
        return -1;
      }
      if(errno == EINTR)
        continue;
      if(errno == EAGAIN || errno == EWOULDBLOCK) {
        if(conn_wait(c, POLLIN, deadline, "reading from") < 0)
          return -1;
        continue;
      }
      conn_seterr(c, "read from %s: %s", c->peer, strerror(errno));
      return -1;
    }
  }
}

int conn_write(struct conn *c, const void *p, size_t n)
{
  const char *s = p;
  int64_t deadline = util_now_ms() + c->timeout_ms;
  if(c->broken)
    return -1;
  while(n > 0) {
    size_t want = n > INT32_MAX ? INT32_MAX : n;
    if(c->ssl) {
      int r, e;
      char eb[256];
      ERR_clear_error();
      errno = 0;
      r = SSL_write(c->ssl, s, (int)want);
      if(r > 0) {
        s += r;
        n -= (size_t)r;
        continue;
      }
      e = SSL_get_error(c->ssl, r);
      if(e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        if(conn_wait(c, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline,
                     "writing to") < 0)
          return -1;
        continue;
      }
      conn_seterr(c, "TLS write to %s: %s", c->peer,
                  ssl_errstr(eb, sizeof(eb)));
      return -1;
    }
    else {
      ssize_t r = send(c->fd, s, want, MSG_NOSIGNAL);
      if(r > 0) {
        s += r;
        n -= (size_t)r;
        continue;
      }
      if(r < 0 && errno == EINTR)
        continue;
      if(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if(conn_wait(c, POLLOUT, deadline, "writing to") < 0)
          return -1;
        continue;
      }
      conn_seterr(c, "write to %s: %s", c->peer,
                  r < 0 ? strerror(errno) : "no progress");
      return -1;
    }
  }
  return 0;
}

int conn_write_str(struct conn *c, const char *s)
{
  return conn_write(c, s, strlen(s));
}

/* Make room at the end of the buffer by moving unread bytes to the front,
 * then read more, waiting at most until deadline.  Returns 0 or -1. */
static int conn_fill(struct conn *c, int64_t deadline)
{
  ssize_t r;
  if(c->rpos > 0) {
    memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
    c->rlen -= c->rpos;
    c->rpos = 0;
  }
  if(c->rlen >= c->rcap) { /* callers never let this happen */
    conn_seterr(c, "internal: read buffer full for %s", c->peer);
    return -1;
  }
  r = conn_recv(c, c->rbuf + c->rlen, c->rcap - c->rlen, deadline);
  if(r < 0)
    return -1;
  c->rlen += (size_t)r;
  return 0;
}

int conn_read_line_chunk(struct conn *c, const char **p_r, size_t *len_r,
                         bool *eol_r)
{
  /* One deadline for the whole line (or piece): a peer trickling a byte
   * at a time must not keep a reader waiting for ever. */
  int64_t deadline = util_now_ms() + c->timeout_ms;
  if(c->broken)
    return -1;
  for(;;) {
    char *start = c->rbuf + c->rpos;
    size_t avail = c->rlen - c->rpos;
    size_t scan = avail < c->max_line + 2 ? avail : c->max_line + 2;
    char *lf = memchr(start, '\n', scan);
    if(lf) {
      size_t n = (size_t)(lf - start);
      size_t len = n;
      if(len > 0 && start[len - 1] == '\r')
        len--;
      if(len <= c->max_line) {
        start[len] = '\0'; /* overwrites CR or LF, both consumed */
        c->rpos += n + 1;
        *p_r = start;
        *len_r = len;
        *eol_r = true;
        return 0;
      }
    }
    if(avail > c->max_line) {
      size_t n = c->max_line;
      /* Keep a trailing CR back so CRLF is seen whole next time. */
      if(n > 1 && start[n - 1] == '\r')
        n--;
      c->rpos += n;
      *p_r = start;
      *len_r = n;
      *eol_r = false;
      return 0;
    }
    if(conn_fill(c, deadline) < 0)
      return -1;
  }
}

int conn_read_line(struct conn *c, const char **line_r, size_t *len_r)
{
  bool eol;
  if(conn_read_line_chunk(c, line_r, len_r, &eol) < 0)
    return -1;
  if(!eol) {
    conn_seterr(c, "line longer than %zu bytes from %s", c->max_line, c->peer);
    return -1;
  }
  return 0;
}

int conn_read_exact(struct conn *c, uint64_t n, conn_chunk_fn *fn, void *ctx)
{
  /* The deadline moves on with every CONN_MIN_PROGRESS bytes, not with
   * every recv: a literal trickled a byte at a time times out. */
  int64_t deadline = util_now_ms() + c->timeout_ms;
  uint64_t since = 0;
  if(c->broken)
    return -1;
  while(n > 0) {
    size_t avail = c->rlen - c->rpos;
    size_t take;
    if(avail == 0) {
      c->rpos = c->rlen = 0;
      if(conn_fill(c, deadline) < 0)
        return -1;
      avail = c->rlen;
      since += avail;
      if(since >= CONN_MIN_PROGRESS) {
        deadline = util_now_ms() + c->timeout_ms;
        since = 0;
      }
    }
    take = avail < n ? avail : (size_t)n;
    if(fn && fn(ctx, c->rbuf + c->rpos, take) != 0) {
      conn_seterr(c, "reading from %s aborted by caller", c->peer);
      return -1;
    }
    c->rpos += take;
    n -= take;
  }
  return 0;
}

static bool is_ip_literal(const char *s)
{
  unsigned char a[16];
  return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Trust what the system trusts: OpenSSL's default file and directory, and
 * the system bundle where this OpenSSL was built for another layout (a
 * static build on RHEL looks in Debian's paths).  No bundle and no hashed
 * directory at all is an error naming the paths tried: verification would
 * fail later with a less helpful "unable to get local issuer". */
static int load_system_store(struct conn *c)
{
  const char *bundle = conn_system_ca_file();
  char eb[256];

  if(SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
    conn_seterr(c, "TLS: cannot load the system CA store for %s: %s", c->peer,
                ssl_errstr(eb, sizeof(eb)));
    return -1;
  }
  if(!bundle && !conn_system_ca_dir()) {
    char msg[CONN_ERR_LEN];
    conn_no_system_ca_error(msg, sizeof(msg), c->peer);
    conn_seterr(c, "%s", msg);
    return -1;
  }
  if(bundle && strcmp(bundle, X509_get_default_cert_file()) != 0 &&
     SSL_CTX_load_verify_locations(c->ctx, bundle, NULL) != 1) {
    conn_seterr(c, "TLS: cannot load the system CA bundle %s for %s: %s",
                bundle, c->peer, ssl_errstr(eb, sizeof(eb)));
    return -1;
  }
  return 0;
}

/* Handshake over the connected fd, verifying unless no_verify. */
static int conn_tls_start(struct conn *c)
{
  const char *name = c->verify_name ? c->verify_name : c->host;
  int64_t deadline = util_now_ms() + c->timeout_ms;
  char eb[256];

  c->ctx = SSL_CTX_new(TLS_client_method());
  if(!c->ctx) {
    conn_seterr(c, "TLS: cannot create context for %s: %s", c->peer,
                ssl_errstr(eb, sizeof(eb)));
    return -1;
  }
  SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
  /* IMAP and POP3 frame their own data, so a missing close_notify cannot
   * truncate anything; report it as a plain close. */
  SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if(!c->no_verify) {
    if(c->ca_file) {
      if(SSL_CTX_load_verify_locations(c->ctx, c->ca_file, NULL) != 1) {
        conn_seterr(c, "TLS: cannot load CA file %s for %s: %s", c->ca_file,
                    c->peer, ssl_errstr(eb, sizeof(eb)));
        return -1;
      }
    }
    else if(load_system_store(c) < 0) {
      return -1;
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
  }
  else {
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
  }

  c->ssl = SSL_new(c->ctx);
  if(!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
    conn_seterr(c, "TLS: cannot set up %s: %s", c->peer,
                ssl_errstr(eb, sizeof(eb)));
    return -1;
  }
  if(is_ip_literal(name)) {
    /* No SNI for addresses (RFC 6066); match an IP SAN instead. */
    if(!c->no_verify &&
       X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) != 1) {
      conn_seterr(c, "TLS: bad address %s for %s", name, c->peer);
      return -1;
    }
  }
  else {
    if(SSL_set_tlsext_host_name(c->ssl, name) != 1) {
      conn_seterr(c, "TLS: bad server name %s for %s", name, c->peer);
      return -1;
    }
    if(!c->no_verify) {
      SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if(SSL_set1_host(c->ssl, name) != 1) {
        conn_seterr(c, "TLS: bad host name %s for %s", name, c->peer);
        return -1;
      }
    }
  }

  for(;;) {
    int r, e;
    ERR_clear_error();
    errno = 0;
    r = SSL_connect(c->ssl);
    if(r == 1)
      break;
    e = SSL_get_error(c->ssl, r);
    if(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if(conn_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
                   "in TLS handshake with") < 0)
        return -1;
      continue;
    }
    {
      long v = SSL_get_verify_result(c->ssl);
      if(!c->no_verify && v != X509_V_OK) {
        conn_seterr(c, "TLS: certificate verify failed for %s: %s", c->peer,
                    X509_verify_cert_error_string(v));
        ERR_clear_error();
      }
      else if(e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        conn_seterr(c, "TLS: handshake with %s failed: %s", c->peer,
                    errno ? strerror(errno) : "connection closed by peer");
      }
      else {
        conn_seterr(c, "TLS: handshake with %s failed: %s", c->peer,
                    ssl_errstr(eb, sizeof(eb)));
      }
    }
    return -1;
  }
  c->verified = !c->no_verify && SSL_get_verify_result(c->ssl) == X509_V_OK;
  return 0;
}

int conn_starttls(struct conn *c)
{
  if(c->broken)
    return -1;
  if(c->ssl) {
    conn_seterr(c, "STARTTLS on %s: already using TLS", c->peer);
    return -1;
  }
  if(c->rlen > c->rpos) {
    conn_seterr(c,
                "STARTTLS on %s: %zu unexpected bytes after the server's "
                "reply (possible response injection)",
                c->peer, c->rlen - c->rpos);
    return -1;
  }
  return conn_tls_start(c);
}

/* Connect one address with a timeout.  Returns the fd or -1 (errno). */
static int connect_one(const struct addrinfo *ai, const char *source,
                       int timeout_ms, bool *timed_out)
{
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  ai->ai_protocol);
  int64_t deadline = util_now_ms() + timeout_ms;
  int one = 1;
  *timed_out = false;
  if(fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
  if(source) {
    struct addrinfo hints, *sa = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = ai->ai_family;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    if(getaddrinfo(source, NULL, &hints, &sa) != 0 || !sa) {
      close(fd);
      errno = EADDRNOTAVAIL;
      return -1;
    }
    if(bind(fd, sa->ai_addr, sa->ai_addrlen) < 0) {
      int e = errno;
      freeaddrinfo(sa);
      close(fd);
      errno = e;
      return -1;
    }
    freeaddrinfo(sa);
  }
  if(connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
    return fd;
  if(errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  for(;;) {
    struct pollfd p = { .fd = fd, .events = POLLOUT, .revents = 0 };
    int64_t left = deadline - util_now_ms();
    int r, soerr = 0;
    socklen_t sl = sizeof(soerr);
    if(left <= 0) {
      close(fd);
      *timed_out = true;
      errno = ETIMEDOUT;
      return -1;
    }
    r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
    if(r < 0 && errno == EINTR)
      continue;
    if(r == 0)
      continue; /* loop re-checks the deadline */
    if(r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    if(soerr != 0) {
      close(fd);
      errno = soerr;
      return -1;
    }
    return fd;
  }
}

static char *xstrdup_or_null(const char *s, bool *oom)
{
  char *d;
  if(!s)
    return NULL;
  d = strdup(s);
  if(!d)
    *oom = true;
  return d;
}

static void ignore_sigpipe(void)
{
  struct sigaction sa;
  if(sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
  }
}

struct conn *conn_connect(const struct conn_opts *o, char *err, size_t errlen)
{
  struct conn *c;
  struct addrinfo hints, *res = NULL, *ai;
  char portstr[8];
  int gai, last_errno = 0, ctimeout;
  bool oom = false, any_timeout = false;

  if(errlen > 0)
    err[0] = '\0';
  if(!o || !o->host || !*o->host || o->port == 0) {
    snprintf(err, errlen, "connect: host and port are required");
    return NULL;
  }
  if(o->max_line > CONN_MAX_MAX_LINE) {
    snprintf(err, errlen, "connect to %s: max_line %zu exceeds %d", o->host,
             o->max_line, CONN_MAX_MAX_LINE);
    return NULL;
  }
  ignore_sigpipe();
  c = calloc(1, sizeof(*c));
  if(!c) {
    snprintf(err, errlen, "connect: out of memory");
    return NULL;
  }
  c->fd = -1;
  c->timeout_ms =
      o->io_timeout_ms > 0 ? o->io_timeout_ms : CONN_DEFAULT_TIMEOUT_MS;
  c->max_line = o->max_line ? o->max_line : CONN_DEFAULT_MAX_LINE;
  c->rcap = c->max_line + CONN_BUF_SLACK;
  c->rbuf = malloc(c->rcap + 1);
  c->host = xstrdup_or_null(o->host, &oom);
  c->verify_name = xstrdup_or_null(o->verify_name, &oom);
  c->ca_file = xstrdup_or_null(o->ca_file, &oom);
  c->no_verify = o->tls_no_verify;
  if(!c->rbuf || oom) {
    snprintf(err, errlen, "connect: out of memory");
    conn_close(c);
    return NULL;
  }
  if(strchr(o->host, ':'))
    snprintf(c->peer, sizeof(c->peer), "[%s]:%u", o->host, (unsigned)o->port);
  else
    snprintf(c->peer, sizeof(c->peer), "%s:%u", o->host, (unsigned)o->port);

  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  snprintf(portstr, sizeof(portstr), "%u", (unsigned)o->port);
  gai = getaddrinfo(o->host, portstr, &hints, &res);
  if(gai != 0) {
    snprintf(err, errlen, "cannot resolve %s: %s", c->peer, gai_strerror(gai));
    conn_close(c);
    return NULL;
  }
  ctimeout = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
                                       : CONN_DEFAULT_TIMEOUT_MS;
  for(ai = res; ai; ai = ai->ai_next) {
    bool to;
    c->fd = connect_one(ai, o->source_addr, ctimeout, &to);
    if(c->fd >= 0)
      break;
    last_errno = errno;
    any_timeout |= to;
  }
  freeaddrinfo(res);
  if(c->fd < 0) {
    if(any_timeout && last_errno == ETIMEDOUT)
      snprintf(err, errlen, "timeout after %d ms connecting to %s", ctimeout,
               c->peer);
    else
      snprintf(err, errlen, "connect to %s failed: %s", c->peer,
               strerror(last_errno ? last_errno : EHOSTUNREACH));
    conn_close(c);
    return NULL;
  }
  if(o->tls == CONN_TLS_IMPLICIT && conn_tls_start(c) < 0) {
    snprintf(err, errlen, "%s", c->err);
    conn_close(c);
    return NULL;
  }
  return c;
}

void conn_close(struct conn *c)
{
  if(!c)
    return;
  if(c->ssl) {
    if(!c->broken) {
      ERR_clear_error();
      SSL_shutdown(c->ssl); /* non-blocking: best effort close_notify */
    }
    SSL_free(c->ssl);
  }
  ERR_clear_error();
  SSL_CTX_free(c->ctx);
  if(c->fd >= 0)
    close(c->fd);
  free(c->rbuf);
  free(c->host);
  free(c->verify_name);
  free(c->ca_file);
  free(c);
}

bool conn_is_verified(const struct conn *c)
{
  return c->ssl && c->verified;
}
bool conn_is_tls(const struct conn *c)
{
  return c->ssl != NULL;
}
size_t conn_buffered(const struct conn *c)
{
  return c->rlen - c->rpos;
}
const char *conn_peer(const struct conn *c)
{
  return c->peer;
}
bool conn_timed_out(const struct conn *c)
{
  return c->timed_out;
}

/* Every timeout message of this file starts so (conn_wait, conn_connect). */
bool conn_err_is_timeout(const char *err)
{
  return strstr(err, "timeout after ") != NULL;
}

const char *conn_error(const struct conn *c)
{
  return c->err;
}
bool conn_is_broken(const struct conn *c)
{
  return c->broken;
}

void conn_set_timeout(struct conn *c, int ms)
{
  if(ms > 0)
    c->timeout_ms = ms;
}
