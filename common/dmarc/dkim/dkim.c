/*
 * dkim: DKIM verification with libopendkim, key lookups through c-ares.
 *
 * libopendkim's own resolver is glibc's res_nquery, which cannot be pointed
 * at a server on a non-standard port, so we plug c-ares in through the
 * dkim_dns_set_query_* hooks.  libopendkim drives them one key at a time:
 * start, waitreply, then cancel (always called, also for answered queries).
 * The answer handed back is the raw DNS message; libopendkim parses it
 * itself (NXDOMAIN or no TXT data -> "no key").
 *
 * Two details of libopendkim 2.11 shape the hooks:
 *  - after waitreply it only checks for DKIM_DNS_EXPIRED and DKIM_DNS_ERROR;
 *    DKIM_DNS_NOREPLY would make it parse an answer buffer never written.
 *    So waitreply blocks until an answer, an error or our deadline, and a
 *    timeout is reported as EXPIRED.
 *  - the answer buffer lives on libopendkim's stack and is gone after
 *    cancel, while c-ares may still hold the query; a canceled query is
 *    marked orphaned and freed by its c-ares callback, which then never
 *    touches the buffer.
 */
#include "dkim.h"
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <opendkim/dkim.h>

#include "log.h"
#include "util.h"

#define DKIM_MIN_TIMEOUT_MS 100
#define DKIM_ARES_TRIES     2
#define DKIM_FEED_CHUNK     (64 * 1024) /* bytes handed to dkim_chunk */
#define DKIM_QNAME_MAX      256         /* selector._domainkey.domain */
#define DKIM_DNSNAME_MAX    253         /* RFC 1035, as text, no dot */
#define DKIM_WHY_MAX        96

enum query_state { Q_PENDING = 0, Q_ANSWER, Q_ERROR };

struct dkim_query {
  struct dkim_verifier *v;
  unsigned char *buf; /* libopendkim's answer buffer */
  size_t buflen;
  size_t anslen;
  enum query_state state;
  int ares_status; /* when Q_ERROR */
  bool orphan;     /* canceled while c-ares still had it */
  int64_t deadline_ms;
  char name[DKIM_QNAME_MAX];
};

/* Why a key lookup of the current message failed, by query name, so a
 * temperror can say more than "key lookup failed". */
struct lookup_note {
  char name[DKIM_QNAME_MAX];
  char why[DKIM_WHY_MAX];
  bool permanent; /* the name itself is unusable */
};

struct dkim_verifier {
  DKIM_LIB *lib;
  ares_channel ch;
  int timeout_ms;
  /* per message */
  bool dns_dead;   /* a lookup timed out: send no more */
  size_t nignored; /* signatures beyond DKIM_MAX_SIGNATURES */
  struct lookup_note notes[DKIM_MAX_SIGNATURES];
  size_t nnotes;
  unsigned char feed[DKIM_FEED_CHUNK];
};

/* --- lookup notes ------------------------------------------------------- */

static void note_failure(struct dkim_verifier *v, const char *name,
                         const char *why)
{
  struct lookup_note *n;

  if(v->nnotes >= DKIM_MAX_SIGNATURES)
    return;
  n = &v->notes[v->nnotes++];
  snprintf(n->name, sizeof(n->name), "%s", name);
  snprintf(n->why, sizeof(n->why), "%s", why);
  n->permanent = false;
}

static const struct lookup_note *find_note(const struct dkim_verifier *v,
                                           const char *selector,
                                           const char *domain)
{
  char name[DKIM_QNAME_MAX];
  int len;

  len = snprintf(name, sizeof(name), "%s.%s.%s", selector, DKIM_DNSKEYNAME,
                 domain);
  if(len < 0 || (size_t)len >= sizeof(name))
    return NULL;
  for(size_t i = 0; i < v->nnotes; i++)
    if(strcasecmp(v->notes[i].name, name) == 0)
      return &v->notes[i];
  return NULL;
}

static const char *ares_why(int status)
{
  switch(status) {
  case ARES_ETIMEOUT: return "DNS timeout";
  case ARES_ECONNREFUSED: return "DNS error: connection refused";
  case ARES_ESERVFAIL: return "DNS error: server failure";
  case ARES_EREFUSED: return "DNS error: query refused";
  case ARES_EFORMERR: return "DNS error: format error";
  case ARES_EBADRESP: return "DNS error: malformed answer";
  default: return NULL;
  }
}

/* --- the resolver hooks ------------------------------------------------- */

static void query_done(void *arg, int status, int timeouts, unsigned char *abuf,
                       int alen)
{
  struct dkim_query *q = arg;

  (void)timeouts;
  /* Nobody waits for an orphan, and on ARES_EDESTRUCTION libopendkim is
   * already closed (dkim_verifier_free closes it first). */
  if(q->orphan || status == ARES_EDESTRUCTION) {
    free(q);
    return;
  }
  /* NXDOMAIN and NODATA are answers too: libopendkim reads them as "no
   * key".  Any other failure (SERVFAIL, timeout, ...) is an error, which it
   * turns into a key-retrieval failure (temperror). */
  if((status == ARES_SUCCESS || status == ARES_ENODATA ||
      status == ARES_ENOTFOUND) &&
     abuf != NULL && alen >= HFIXEDSZ) {
    if((size_t)alen > q->buflen) {
      q->state = Q_ERROR;
      q->ares_status = ARES_EBADRESP;
      note_failure(q->v, q->name, "DNS error: answer too large");
      return;
    }
    memcpy(q->buf, abuf, (size_t)alen);
    q->anslen = (size_t)alen;
    q->state = Q_ANSWER;
    return;
  }
  q->state = Q_ERROR;
  q->ares_status = status;
  if(status == ARES_EBADNAME) {
    /* A label over 63 bytes or a name over 253: no key can live there. */
    note_failure(q->v, q->name, "key name not valid in DNS");
    if(q->v->nnotes > 0)
      q->v->notes[q->v->nnotes - 1].permanent = true;
  }
  else {
    char why[DKIM_WHY_MAX];
    const char *w = ares_why(status);
    if(w == NULL) {
      snprintf(why, sizeof(why), "DNS error: %s", ares_strerror(status));
      w = why;
    }
    note_failure(q->v, q->name, w);
  }
}

static int dns_start(void *srv, int type, unsigned char *query,
                     unsigned char *buf, size_t buflen, void **qh)
{
  struct dkim_verifier *v = srv;
  struct dkim_query *q;

  *qh = NULL;
  if(v->dns_dead) {
    note_failure(v, (const char *)query,
                 "DNS skipped: server unreachable earlier in this message");
    return DKIM_DNS_ERROR;
  }
  q = calloc(1, sizeof(*q));
  if(q == NULL)
    return DKIM_DNS_ERROR;
  q->v = v;
  q->buf = buf;
  q->buflen = buflen;
  q->deadline_ms = util_now_ms() + v->timeout_ms;
  snprintf(q->name, sizeof(q->name), "%s", (const char *)query);
  *qh = q;
  /* The callback may run at once (e.g. no server); q is ready for it. */
  ares_query(v->ch, (const char *)query, ns_c_in, type, query_done, q);
  return DKIM_DNS_SUCCESS;
}

static void drive(struct dkim_verifier *v, int timeout_ms)
{
  dns_drive_channel(v->ch, timeout_ms);
}

/* libopendkim's timeout argument is ignored: our own deadline, set when the
 * query started, is the bound. */
static int dns_waitreply(void *srv, void *qh, struct timeval *to, size_t *bytes,
                         int *error, int *dnssec)
{
  struct dkim_verifier *v = srv;
  struct dkim_query *q = qh;

  (void)to;
  if(q == NULL)
    return DKIM_DNS_ERROR;
  while(q->state == Q_PENDING) {
    int64_t left = q->deadline_ms - util_now_ms();
    struct timeval maxtv, tv, *next;
    int wait_ms;

    if(left <= 0) {
      v->dns_dead = true;
      note_failure(v, q->name, "DNS timeout");
      return DKIM_DNS_EXPIRED;
    }
    maxtv.tv_sec = (time_t)(left / 1000);
    maxtv.tv_usec = (suseconds_t)((left % 1000) * 1000);
    next = ares_timeout(v->ch, &maxtv, &tv);
    wait_ms = (int)(next->tv_sec * 1000 + (next->tv_usec + 999) / 1000);
    drive(v, wait_ms);
  }
  if(dnssec != NULL)
    *dnssec = DKIM_DNSSEC_UNKNOWN;
  if(q->state == Q_ANSWER) {
    if(bytes != NULL)
      *bytes = q->anslen;
    return DKIM_DNS_SUCCESS;
  }
  if(error != NULL)
    *error = q->ares_status;
  if(q->ares_status == ARES_ETIMEOUT)
    v->dns_dead = true;
  return DKIM_DNS_ERROR;
}

static int dns_cancel(void *srv, void *qh)
{
  struct dkim_verifier *v = srv;
  struct dkim_query *q = qh;

  if(q == NULL)
    return DKIM_DNS_SUCCESS;
  if(q->state != Q_PENDING) {
    free(q);
    return DKIM_DNS_SUCCESS;
  }
  /* Still in c-ares: its buffer is about to vanish.  ares_cancel fails
   * every open query at once (only this one can be open: libopendkim asks
   * one key at a time), and the callback frees the orphan. */
  q->orphan = true;
  q->buf = NULL;
  ares_cancel(v->ch);
  return DKIM_DNS_SUCCESS;
}

/* libopendkim closes its "service" in dkim_close; ours is the verifier,
 * which dkim_verifier_free releases itself. */
static void dns_close(void *srv)
{
  (void)srv;
}

/* Verify at most DKIM_MAX_SIGNATURES signatures: the rest get no key
 * lookup and no result. */
static DKIM_CBSTAT prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
  struct dkim_verifier *v = dkim_get_user_context(dkim);

  for(int i = DKIM_MAX_SIGNATURES; i < nsigs; i++) {
    dkim_sig_ignore(sigs[i]);
    if(v != NULL)
      v->nignored++;
  }
  return DKIM_CBSTAT_CONTINUE;
}

/* --- verifier ----------------------------------------------------------- */

struct dkim_verifier *dkim_verifier_new(const char *dns_server, int timeout_ms,
                                        char *err, size_t errlen)
{
  struct dkim_verifier *v;
  struct ares_options opts;
  struct ares_addr_port_node node;
  unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;
  unsigned int secs;
  int rc;

  if(timeout_ms < 0) {
    snprintf(err, errlen, "DKIM DNS timeout %d ms: must not be negative",
             timeout_ms);
    return NULL;
  }
  if(timeout_ms == 0)
    timeout_ms = DKIM_DEFAULT_TIMEOUT_MS;
  if(timeout_ms < DKIM_MIN_TIMEOUT_MS)
    timeout_ms = DKIM_MIN_TIMEOUT_MS;
  if(dns_server != NULL &&
     dns_parse_server(dns_server, "DKIM DNS server", &node, err, errlen) != 0)
    return NULL;
  rc = ares_library_init(ARES_LIB_INIT_ALL);
  if(rc != ARES_SUCCESS) {
    snprintf(err, errlen, "DKIM: c-ares init: %s", ares_strerror(rc));
    return NULL;
  }
  v = calloc(1, sizeof(*v));
  if(v == NULL) {
    snprintf(err, errlen, "DKIM verifier: out of memory");
    ares_library_cleanup();
    return NULL;
  }
  v->timeout_ms = timeout_ms;

  /* c-ares doubles the per-try timeout on each retry round: with two tries
   * a third of our budget per try makes it give up about when we do. */
  memset(&opts, 0, sizeof(opts));
  opts.timeout = timeout_ms / 3 > 0 ? timeout_ms / 3 : 1;
  opts.tries = DKIM_ARES_TRIES;
  rc = ares_init_options(&v->ch, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if(rc != ARES_SUCCESS) {
    snprintf(err, errlen, "DKIM: c-ares channel: %s", ares_strerror(rc));
    v->ch = NULL;
    goto fail;
  }
  if(dns_server != NULL) {
    rc = ares_set_servers_ports(v->ch, &node);
    if(rc != ARES_SUCCESS) {
      snprintf(err, errlen, "DKIM DNS server '%s': %s", dns_server,
               ares_strerror(rc));
      goto fail;
    }
  }

  v->lib = dkim_init(NULL, NULL);
  if(v->lib == NULL) {
    snprintf(err, errlen, "DKIM: libopendkim init failed");
    goto fail;
  }
  /* BADSIGHANDLES: a malformed DKIM-Signature still gets a handle, so it is
   * reported (permerror) instead of silently vanishing. */
  secs = (unsigned int)((timeout_ms + 999) / 1000);
  if(dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
                  sizeof(flags)) != DKIM_STAT_OK ||
     dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &secs,
                  sizeof(secs)) != DKIM_STAT_OK ||
     dkim_set_prescreen(v->lib, prescreen) != DKIM_STAT_OK) {
    snprintf(err, errlen, "DKIM: setting libopendkim options failed");
    goto fail;
  }
  dkim_dns_set_init(v->lib, NULL);
  dkim_dns_set_close(v->lib, dns_close);
  dkim_dns_set_nslist(v->lib, NULL);
  dkim_dns_set_config(v->lib, NULL);
  dkim_dns_set_trustanchor(v->lib, NULL);
  (void)dkim_dns_set_query_service(v->lib, v);
  dkim_dns_set_query_start(v->lib, dns_start);
  dkim_dns_set_query_waitreply(v->lib, dns_waitreply);
  dkim_dns_set_query_cancel(v->lib, dns_cancel);
  return v;

fail:
  dkim_verifier_free(v);
  return NULL;
}

void dkim_verifier_free(struct dkim_verifier *v)
{
  if(v == NULL)
    return;
  /* libopendkim first: after it is closed nothing can wait on a query, so
   * ares_destroy's callbacks (ARES_EDESTRUCTION) may free them all. */
  if(v->lib != NULL)
    dkim_close(v->lib);
  if(v->ch != NULL)
    ares_destroy(v->ch);
  free(v);
  ares_library_cleanup();
}

void dkim_results_free(struct dkim_result *results, size_t n)
{
  if(results == NULL)
    return;
  for(size_t i = 0; i < n; i++) {
    free(results[i].domain);
    free(results[i].selector);
  }
  free(results);
}

/* --- verification ------------------------------------------------------- */

/* Hand msg to libopendkim, turning every LF not preceded by CR into CRLF
 * (libopendkim canonicalizes CRLF-terminated lines only). */
static DKIM_STAT feed(struct dkim_verifier *v, DKIM *dkim,
                      const unsigned char *p, size_t len)
{
  size_t o = 0;
  DKIM_STAT st;

  for(size_t i = 0; i < len; i++) {
    if(p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
      v->feed[o++] = '\r';
    v->feed[o++] = p[i];
    if(o >= sizeof(v->feed) - 1) {
      st = dkim_chunk(dkim, v->feed, o);
      if(st != DKIM_STAT_OK)
        return st;
      o = 0;
    }
  }
  if(o > 0) {
    st = dkim_chunk(dkim, v->feed, o);
    if(st != DKIM_STAT_OK)
      return st;
  }
  return dkim_chunk(dkim, NULL, 0);
}

/* result: a static word; why: the reason, or prefix + detail when detail
 * is given. */
static void set_reason(struct dkim_result *r, const char *result,
                       const char *why, const char *detail)
{
  r->result = result;
  if(detail != NULL)
    snprintf(r->reason, sizeof(r->reason), "%s: %s", why, detail);
  else
    snprintf(r->reason, sizeof(r->reason), "%s", why);
}

/* The documented mapping (dkim.h) from libopendkim's per-signature state. */
static void classify(const struct dkim_verifier *v, DKIM_SIGINFO *sig,
                     struct dkim_result *r)
{
  unsigned int flags = dkim_sig_getflags(sig);
  int err = dkim_sig_geterror(sig);
  int bh = dkim_sig_getbh(sig);
  const char *errstr = dkim_sig_geterrorstr(err);
  const struct lookup_note *note;

  if((flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH &&
     err == DKIM_SIGERROR_OK) {
    set_reason(r, "pass", "", NULL);
    return;
  }
  switch(err) {
  case DKIM_SIGERROR_OK:
  case DKIM_SIGERROR_BADSIG:
    if(bh == DKIM_SIGBH_MISMATCH)
      set_reason(r, "fail", "body hash mismatch", NULL);
    else if(err == DKIM_SIGERROR_BADSIG)
      set_reason(r, "fail", "signature mismatch", NULL);
    else
      set_reason(r, "neutral", "not verified", NULL);
    return;
  case DKIM_SIGERROR_EXPIRED:
    set_reason(r, "fail", "signature expired", NULL);
    return;
  case DKIM_SIGERROR_FUTURE:
    set_reason(r, "fail", "signature in the future", NULL);
    return;
  case DKIM_SIGERROR_NOKEY: set_reason(r, "permerror", "no key", NULL); return;
  case DKIM_SIGERROR_KEYFAIL:
    note = find_note(v, r->selector, r->domain);
    if(note != NULL && note->permanent)
      set_reason(r, "permerror", note->why, NULL);
    else
      set_reason(r, "temperror", note != NULL ? note->why : "key lookup failed",
                 NULL);
    return;
  case DKIM_SIGERROR_KEYREVOKED:
    set_reason(r, "permerror", "key revoked", NULL);
    return;
  case DKIM_SIGERROR_KEYTOOSMALL:
    set_reason(r, "permerror", "key too small", NULL);
    return;
  case DKIM_SIGERROR_MULTIREPLY:
    set_reason(r, "permerror", "multiple key records", NULL);
    return;
  case DKIM_SIGERROR_DNSSYNTAX:
  case DKIM_SIGERROR_KEYVERSION:
  case DKIM_SIGERROR_KEYUNKNOWNHASH:
  case DKIM_SIGERROR_KEYHASHMISMATCH:
  case DKIM_SIGERROR_NOTEMAILKEY:
  case DKIM_SIGERROR_KEYTYPEMISSING:
  case DKIM_SIGERROR_KEYTYPEUNKNOWN:
  case DKIM_SIGERROR_KEYDECODE:
    set_reason(r, "permerror", "bad key",
               errstr != NULL ? errstr : "unknown error");
    return;
  case DKIM_SIGERROR_UNKNOWN:
    /* libopendkim refuses to build a query name over 255 bytes and leaves
     * no error code (and c-ares refuses 254-255: EBADNAME above); such a
     * key cannot exist. */
    if(strlen(r->selector) + sizeof("." DKIM_DNSKEYNAME ".") - 1 +
           strlen(r->domain) >
       DKIM_DNSNAME_MAX) {
      set_reason(r, "permerror", "key name not valid in DNS", NULL);
      return;
    }
    set_reason(r, "neutral", errstr != NULL ? errstr : "unknown error", NULL);
    return;
  default:
    /* Everything else is about the signature field itself: bad or missing
     * tags, x= before t=, i= outside d=, l= beyond the body, ... */
    set_reason(r, "permerror", "malformed signature",
               errstr != NULL ? errstr : "unknown error");
    return;
  }
}

static char *dup_or_empty(const unsigned char *s)
{
  return strdup(s != NULL ? (const char *)s : "");
}

int dkim_verify_message(struct dkim_verifier *v, const void *msg, size_t len,
                        struct dkim_result **results, size_t *n, char *err,
                        size_t errlen)
{
  DKIM *dkim;
  DKIM_STAT st;
  DKIM_SIGINFO **sigs = NULL;
  int nsigs = 0;
  struct dkim_result *res = NULL;
  size_t nres = 0;

  *results = NULL;
  *n = 0;
  if(len > DKIM_MAX_MESSAGE) {
    snprintf(err, errlen,
             "DKIM: message of %zu bytes is over the %u byte "
             "limit, not verified",
             len, DKIM_MAX_MESSAGE);
    return -1;
  }
  v->dns_dead = false;
  v->nignored = 0;
  v->nnotes = 0;

  dkim = dkim_verify(v->lib, (const unsigned char *)"report-mail", NULL, &st);
  if(dkim == NULL) {
    snprintf(err, errlen, "DKIM: cannot start verification: %s",
             dkim_getresultstr(st));
    return -1;
  }
  dkim_set_user_context(dkim, v);

  st = feed(v, dkim, msg, len);
  if(st == DKIM_STAT_NOSIG) {
    dkim_free(dkim);
    return 0;
  }
  if(st != DKIM_STAT_OK)
    log_debug("DKIM: reading the message: %s (%s)", dkim_getresultstr(st),
              dkim_geterror(dkim) ? dkim_geterror(dkim) : "");
  /* Per-message status is the verdict on the first signature only; every
   * signature's own verdict is read from the list below. */
  st = dkim_eom(dkim, NULL);
  if(st != DKIM_STAT_OK)
    log_debug("DKIM: end of message: %s", dkim_getresultstr(st));

  if(dkim_getsiglist(dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs <= 0) {
    dkim_free(dkim);
    return 0;
  }
  res = calloc((size_t)nsigs, sizeof(*res));
  if(res == NULL) {
    snprintf(err, errlen, "DKIM: out of memory");
    dkim_free(dkim);
    return -1;
  }
  for(int i = 0; i < nsigs && nres < DKIM_MAX_SIGNATURES; i++) {
    struct dkim_result *r = &res[nres];
    if((dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) != 0)
      continue;
    r->domain = dup_or_empty(dkim_sig_getdomain(sigs[i]));
    r->selector = dup_or_empty(dkim_sig_getselector(sigs[i]));
    nres++;
    if(r->domain == NULL || r->selector == NULL) {
      snprintf(err, errlen, "DKIM: out of memory");
      dkim_results_free(res, nres);
      dkim_free(dkim);
      return -1;
    }
    classify(v, sigs[i], r);
  }
  if(v->nignored > 0)
    log_debug("DKIM: %zu signature(s) beyond the first %d not verified",
              v->nignored, DKIM_MAX_SIGNATURES);
  dkim_free(dkim);
  if(nres == 0) {
    free(res);
    res = NULL;
  }
  *results = res;
  *n = nres;
  return 0;
}
