/*
 * conn: one client connection over TCP, optionally protected by TLS.
 *
 * Everything a mail protocol client needs below the protocol: connect with a
 * timeout (IPv4 or IPv6, every address getaddrinfo returns is tried in
 * turn), TLS 1.2+ with the peer certificate and its name verified by
 * default, a STARTTLS upgrade, and reads that never trust the peer:
 *
 *  - lines are read into a buffer of fixed size; a line longer than the
 *    limit is an error (or, with conn_read_line_chunk, is handed out in
 *    pieces), never a reason to grow the buffer;
 *  - exact-length reads (IMAP literals) go to a callback in chunks, so the
 *    announced length is a counter, never an allocation size;
 *  - every read and write has a deadline (default 60 s): a whole line
 *    (or line piece) must arrive within it, a literal must move on by at
 *    least CONN_MIN_PROGRESS bytes within it, and a write must finish in
 *    it, so a peer sending one byte a second cannot hold a reader.
 *
 * Errors are kept in the connection as one line naming the peer and the
 * reason, e.g. "timeout after 5000 ms reading from 127.0.0.1:993" or
 * "TLS: certificate verify failed for 127.0.0.1:993: self-signed
 * certificate".  After any read or write error the connection is broken:
 * every later call fails with the same message.
 *
 * OpenSSL writes to the socket with write(2), so the first conn_connect
 * sets SIGPIPE to SIG_IGN if it was SIG_DFL; a peer that goes away then
 * gives an EPIPE error instead of killing the process.
 */
#ifndef CONN_CONN_H
#define CONN_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONN_DEFAULT_TIMEOUT_MS 60000
#define CONN_DEFAULT_MAX_LINE   (64 * 1024)
/* Upper bound for conn_opts.max_line: the read buffer is this big. */
#define CONN_MAX_MAX_LINE (16 * 1024 * 1024)
#define CONN_ERR_LEN      512
/* conn_read_exact: bytes that must arrive per timeout period. */
#define CONN_MIN_PROGRESS (16 * 1024)

enum conn_tls {
  CONN_TLS_NONE = 0, /* plain TCP (conn_starttls may upgrade it later) */
  CONN_TLS_IMPLICIT, /* TLS handshake right after connect (993, 995) */
};

struct conn_opts {
  const char *host; /* name or IPv4/IPv6 literal; required */
  uint16_t port;    /* required */
  enum conn_tls tls;
  int connect_timeout_ms;  /* per address tried; 0 = CONN_DEFAULT_TIMEOUT_MS */
  int io_timeout_ms;       /* per line, per CONN_MIN_PROGRESS bytes of an
                              exact read, per write, and for the TLS handshake;
                              0 = CONN_DEFAULT_TIMEOUT_MS */
  size_t max_line;         /* longest line conn_read_line accepts, without
                              CRLF; 0 = CONN_DEFAULT_MAX_LINE */
  const char *ca_file;     /* PEM file of trusted CAs; NULL = system store */
  const char *verify_name; /* name (or IP) the certificate must carry and
                              the SNI sent; NULL = host */
  bool tls_no_verify;      /* accept any certificate.  Only for explicit
                              user opt-in; conn_is_verified() stays false */
  const char *source_addr; /* bind to this local IP before connecting;
                              NULL = let the kernel choose */
};

struct conn;

/* Chunk sink for conn_read_exact.  Return 0 to go on, nonzero to stop: the
 * read then fails with "aborted by caller" and the connection is broken
 * (the rest of the literal is still on the wire). */
typedef int conn_chunk_fn(void *ctx, const void *data, size_t len);

/* Resolve, connect and (tls == CONN_TLS_IMPLICIT) do the TLS handshake.
 * Name resolution itself is getaddrinfo and has no timeout of ours.
 * Returns the connection, or NULL with the reason in err (always
 * NUL-terminated when errlen > 0). */
struct conn *conn_connect(const struct conn_opts *opts, char *err,
                          size_t errlen);

/* Close the socket (sending a TLS close_notify first when possible) and
 * free everything.  NULL is a no-op. */
void conn_close(struct conn *c);

/* Upgrade a plain connection to TLS in place (after the protocol's
 * STARTTLS/STLS command was accepted), verifying as conn_connect would.
 * Fails if bytes are already buffered after the server's reply: a server
 * (or a man in the middle) must not inject responses that would later be
 * read as if they had come over TLS.  Returns 0 or -1. */
int conn_starttls(struct conn *c);

/* Read one line and return it without its line end (LF or CRLF) in
 * *line_r / *len_r.  The line is NUL-terminated for convenience but may
 * contain NUL bytes; it stays valid until the next read on c.  A line
 * longer than max_line is an error ("line longer than N bytes from ...").
 * Returns 0, or -1 (error, timeout, or the peer closed). */
int conn_read_line(struct conn *c, const char **line_r, size_t *len_r);

/* Like conn_read_line for lines of any length: returns the next piece of
 * the current line.  When the rest of the line fits in max_line bytes the
 * piece is all of it, *eol_r is true and the line end is consumed and not
 * returned; otherwise the piece holds up to max_line bytes and *eol_r is
 * false.  A piece that is not the end of the line never ends with CR, so a
 * CRLF split across pieces is still recognised.  Not NUL-terminated; valid
 * until the next read on c.  Returns 0 or -1. */
int conn_read_line_chunk(struct conn *c, const char **p_r, size_t *len_r,
                         bool *eol_r);

/* Read exactly n bytes and pass them to fn in order, in chunks of at most
 * the buffer size (fn may be NULL to discard them).  Nothing is allocated
 * from n.  Returns 0 or -1. */
int conn_read_exact(struct conn *c, uint64_t n, conn_chunk_fn *fn, void *ctx);

/* Write all n bytes.  Returns 0 or -1. */
int conn_write(struct conn *c, const void *p, size_t n);
int conn_write_str(struct conn *c, const char *s);

/* True when the connection is TLS-protected AND the certificate and name
 * were verified.  Callers must check this before sending a password. */
bool conn_is_verified(const struct conn *c);
/* True when the connection is TLS-protected (verified or not). */
bool conn_is_tls(const struct conn *c);

/* Number of bytes already read from the socket but not yet consumed. */
size_t conn_buffered(const struct conn *c);

/* Change the per-call read/write timeout (ms > 0). */
void conn_set_timeout(struct conn *c, int ms);

/* "host:port" as given in the options (IPv6 literals in brackets). */
const char *conn_peer(const struct conn *c);

/* True when c broke because the peer sent or took nothing for a whole
 * timeout period (the error then says "timeout after N ms ..."). */
bool conn_timed_out(const struct conn *c);

/* The same for a connection that could not be made (conn_connect, or a
 * client's connect that failed in its greeting or login): whether err, the
 * message it gave, is a timeout. */
bool conn_err_is_timeout(const char *err);

/* The last error, "" if none.  Valid until the next call on c. */
const char *conn_error(const struct conn *c);

/* Record a protocol-level error found by the caller (e.g. a malformed
 * reply) and mark the connection broken, so later calls fail with it.
 * printf-style; the text should name the peer (see conn_peer). */
void conn_fail(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True after any error: the stream is out of sync and must be dropped. */
bool conn_is_broken(const struct conn *c);

/* The system's bundle of trusted CA certificates (PEM): $SSL_CERT_FILE
 * when set, else the first readable of OpenSSL's compiled-in file and the
 * bundles of Debian/Ubuntu, RHEL/Amazon Linux, SUSE and Alpine.  NULL when
 * there is none (a minimal container has no ca-certificates). */
const char *conn_system_ca_file(void);

/* OpenSSL's certificate directory ($SSL_CERT_DIR, else the compiled-in
 * one) when it holds hashed certificate links; NULL when not (an empty
 * /etc/ssl/certs is what a system without ca-certificates has). */
const char *conn_system_ca_dir(void);

/* The one-line error for "no CA file given and no system trust store":
 * names peer and every path conn_system_ca_file and conn_system_ca_dir
 * tried. */
void conn_no_system_ca_error(char *err, size_t errlen, const char *peer);

#endif
