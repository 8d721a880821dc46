/*
 * dns: forward-confirmed reverse DNS with c-ares (see dns.h).
 *
 * Each distinct address is one cache entry, keyed by its binary form so
 * every spelling of an IPv6 address lands on the same entry.  An entry is
 * QUEUED until a slot is free, RUNNING while its queries are out, and DONE
 * once it has its answer.  RUNNING sends one PTR query; its reply names up to
 * DNS_MAX_PTR_NAMES hosts, and each gets one forward query of the address's
 * own family (A for IPv4, AAAA for IPv6: a record of the other family can
 * never equal the address, so asking for it would only double the traffic).
 * The first forward answer that contains the address confirms it; when every
 * query is back without a match the entry is DONE with no name.
 *
 * An entry may be DONE while some of its queries are still out (confirmed
 * early, or given up at a deadline).  Those queries keep the entry's slot
 * until c-ares reports them, and their answers are then ignored, so the
 * number of queries on the wire stays bounded by DNS_MAX_INFLIGHT entries.
 *
 * The resolver is declared dead (one WARN, then every lookup "not
 * resolved" at once) when a dns_wait deadline passes, or c-ares runs out of
 * tries on a query, before any server has sent any reply in this run.
 *
 * No query is started from inside a c-ares callback except the forward
 * queries of the entry whose PTR reply is being handled; the queue is
 * drained only from dns_submit, dns_poll and dns_wait, which keeps callback
 * recursion one level deep.
 */
#include "dns.h"
#include "dns_stats.h"

#include <arpa/inet.h>
#include <ares.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "log.h"
#include "util.h"

#define DNS_DEFAULT_TIMEOUT_MS 2000
/* c-ares sends each query this many times per server before giving up. */
#define DNS_TRIES 2
/* PTR names checked per address: real hosts have one or two; a reply with
 * hundreds must not turn one address into hundreds of queries. */
#define DNS_MAX_PTR_NAMES 8
/* Longest host name we accept from a PTR record (RFC 1035 text form). */
#define DNS_MAX_NAME_LEN 253
/* Longest text that can be an address; longer input is refused unread. */
#define DNS_MAX_IP_TEXT 63
/* Distinct addresses cached per resolver.  A report lists each source once,
 * so a run that goes past this is hostile; later addresses go unresolved. */
#define DNS_MAX_ENTRIES (1u << 18)
/* A resolver is declared dead only when it has had at least this long since
 * its first query, so a deadline that was already over when dns_wait was
 * called does not condemn it. */
#define DNS_DEAD_MIN_MS 200
/* Longest sleep in one dns_wait round, so c-ares retries are not late. */
#define DNS_MAX_POLL_MS 1000
/* Room for the server list in the unreachable warning. */
#define DNS_SERVER_LABEL 256

enum entry_state { ENTRY_QUEUED, ENTRY_RUNNING, ENTRY_DONE };

struct dns_entry;

/* One PTR name of an entry, the argument of its forward query. */
struct dns_name {
  struct dns_entry *e;
  char *name;
};

struct dns_entry {
  struct dns_resolver *r;
  struct dns_entry *hnext; /* hash chain */
  struct dns_entry *qnext; /* FIFO while QUEUED */
  unsigned char addr[16];
  unsigned char alen; /* 4 (IPv4) or 16 (IPv6) */
  enum entry_state state;
  unsigned pending;       /* c-ares queries not yet reported */
  char *confirmed;        /* the name, once DONE and confirmed */
  struct dns_name *names; /* PTR names while queries are out */
  size_t n_names;
};

struct dns_resolver {
  ares_channel ch;
  char server[DNS_SERVER_LABEL]; /* for messages */
  struct dns_entry **buckets;
  size_t nbuckets; /* power of two */
  size_t nentries;
  struct dns_entry *qhead, *qtail;
  unsigned inflight;      /* entries with pending > 0 */
  size_t unanswered;      /* entries not DONE */
  int64_t first_query_ms; /* when the run's first query went out */
  bool got_answer;        /* any server reply this run */
  bool gave_up;           /* c-ares gave up on a query, no reply */
  bool dead;              /* unreachable: answer nothing */
  bool closing;           /* in dns_resolver_free */
  bool warned_full;
  struct dns_stats st;
};

/* --- addresses ---------------------------------------------------------- */

/* Parse ip into its binary form: 4 bytes for IPv4 and for IPv4-mapped IPv6
 * (::ffff:a.b.c.d is the same host, and its PTR lives under in-addr.arpa),
 * 16 for other IPv6.  Returns the length, or 0 when ip is not an address. */
static int parse_ip(const char *ip, unsigned char out[16])
{
  static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0,    0,
                                              0, 0, 0, 0, 0xff, 0xff };
  struct in6_addr a6;

  if(ip == NULL || strnlen(ip, DNS_MAX_IP_TEXT + 1) > DNS_MAX_IP_TEXT)
    return 0;
  if(inet_pton(AF_INET, ip, out) == 1)
    return 4;
  if(inet_pton(AF_INET6, ip, &a6) != 1)
    return 0;
  if(memcmp(a6.s6_addr, v4mapped, sizeof(v4mapped)) == 0) {
    memcpy(out, a6.s6_addr + 12, 4);
    return 4;
  }
  memcpy(out, a6.s6_addr, 16);
  return 16;
}

/* The in-addr.arpa or ip6.arpa name of an address (at most 73 bytes). */
static void reverse_name(const struct dns_entry *e, char *out, size_t outlen)
{
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;

  if(e->alen == 4) {
    snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", e->addr[3], e->addr[2],
             e->addr[1], e->addr[0]);
    return;
  }
  for(int i = 15; i >= 0 && o + 4 < outlen; i--) {
    out[o++] = hex[e->addr[i] & 0xf];
    out[o++] = '.';
    out[o++] = hex[e->addr[i] >> 4];
    out[o++] = '.';
  }
  snprintf(out + o, outlen - o, "ip6.arpa");
}

/* FNV-1a over length and bytes. */
static size_t addr_hash(const unsigned char *addr, size_t alen)
{
  uint64_t h = 1469598103934665603ULL;

  h = (h ^ alen) * 1099511628211ULL;
  for(size_t i = 0; i < alen; i++)
    h = (h ^ addr[i]) * 1099511628211ULL;
  return (size_t)h;
}

static struct dns_entry *find_entry(const struct dns_resolver *r,
                                    const unsigned char *addr, size_t alen)
{
  struct dns_entry *e;

  e = r->buckets[addr_hash(addr, alen) & (r->nbuckets - 1)];
  for(; e != NULL; e = e->hnext)
    if(e->alen == alen && memcmp(e->addr, addr, alen) == 0)
      return e;
  return NULL;
}

/* Double the table when it is 3/4 full.  Returns 0, or -1 out of memory
 * (the table then stays as it was, only slower). */
static int grow_table(struct dns_resolver *r)
{
  size_t n = r->nbuckets * 2;
  struct dns_entry **b;

  if(r->nentries < r->nbuckets / 4 * 3)
    return 0;
  b = calloc(n, sizeof(*b));
  if(b == NULL)
    return -1;
  for(size_t i = 0; i < r->nbuckets; i++) {
    struct dns_entry *e = r->buckets[i], *next;
    for(; e != NULL; e = next) {
      size_t h = addr_hash(e->addr, e->alen) & (n - 1);
      next = e->hnext;
      e->hnext = b[h];
      b[h] = e;
    }
  }
  free(r->buckets);
  r->buckets = b;
  r->nbuckets = n;
  return 0;
}

/* --- PTR names ---------------------------------------------------------- */

/* A PTR target we will look up and may hand to the caller: a host name of
 * letters, digits, '-', '_' and non-empty labels.  Anything else (escaped
 * bytes, spaces, quotes) cannot be confirmed sensibly and would end up in
 * events, so it is skipped. */
static bool plausible_hostname(const char *s, size_t len)
{
  size_t label = 0;

  if(len == 0 || len > DNS_MAX_NAME_LEN)
    return false;
  for(size_t i = 0; i < len; i++) {
    char c = s[i];
    if(c == '.') {
      if(label == 0)
        return false;
      label = 0;
      continue;
    }
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
    if(++label > 63)
      return false;
  }
  return label > 0;
}

/* Add name (trailing dot dropped) to e's names unless it is there already,
 * invalid, or the list is full. */
static void add_name(struct dns_entry *e, const char *name)
{
  size_t len;
  char *copy;

  if(name == NULL || e->n_names >= DNS_MAX_PTR_NAMES)
    return;
  len = strnlen(name, DNS_MAX_NAME_LEN + 2);
  if(len > 0 && name[len - 1] == '.')
    len--;
  if(!plausible_hostname(name, len))
    return;
  for(size_t i = 0; i < e->n_names; i++)
    if(strncasecmp(e->names[i].name, name, len) == 0 &&
       e->names[i].name[len] == '\0')
      return;
  copy = strndup(name, len);
  if(copy == NULL)
    return;
  e->names[e->n_names].e = e;
  e->names[e->n_names].name = copy;
  e->n_names++;
}

static void free_names(struct dns_entry *e)
{
  for(size_t i = 0; i < e->n_names; i++)
    free(e->names[i].name);
  free(e->names);
  e->names = NULL;
  e->n_names = 0;
}

/* --- entry life --------------------------------------------------------- */

static void finish_entry(struct dns_entry *e)
{
  if(e->state == ENTRY_DONE)
    return;
  e->state = ENTRY_DONE;
  e->r->unanswered--;
}

static void query_sent(struct dns_entry *e)
{
  struct dns_resolver *r = e->r;

  if(e->pending++ == 0) {
    r->inflight++;
    if(r->inflight > r->st.inflight_max)
      r->st.inflight_max = r->inflight;
  }
  if(r->first_query_ms == 0)
    r->first_query_ms = util_now_ms();
}

/* One of e's queries was reported by c-ares.  When it was the last one the
 * entry is finished (if nothing confirmed it, it has no name) and its slot
 * is free. */
static void query_done(struct dns_entry *e)
{
  if(--e->pending > 0)
    return;
  e->r->inflight--;
  free_names(e);
  finish_entry(e);
}

/* Remember whether a server has answered at all this run.  A reply with
 * any rcode counts (NXDOMAIN is an answer); a timeout, a refused
 * connection or a cancelled query does not.  When c-ares has spent all its
 * tries on a query and nothing ever answered, the resolver is unreachable
 * whatever deadline the caller has; that is acted on outside the callback
 * (see check_dead), since c-ares must not be re-entered from here. */
static void note_reply(struct dns_resolver *r, int status,
                       const unsigned char *abuf, int alen)
{
  if(abuf != NULL && alen >= NS_HFIXEDSZ) {
    r->got_answer = true;
    r->st.responses++;
    return;
  }
  if(status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED)
    r->gave_up = true;
}

/* c-ares reports a query's end for ARES_EDESTRUCTION and ARES_ECANCELLED
 * too: those must only release the slot. */
static bool may_continue(const struct dns_entry *e, int status)
{
  return status == ARES_SUCCESS && e->state == ENTRY_RUNNING && !e->r->dead &&
         !e->r->closing;
}

static void forward_cb(void *arg, int status, int timeouts, unsigned char *abuf,
                       int alen)
{
  struct dns_name *n = arg;
  struct dns_entry *e = n->e;
  struct hostent *host = NULL;
  int rc;

  (void)timeouts;
  note_reply(e->r, status, abuf, alen);
  if(!may_continue(e, status)) {
    query_done(e);
    return;
  }
  if(e->alen == 4)
    rc = ares_parse_a_reply(abuf, alen, &host, NULL, NULL);
  else
    rc = ares_parse_aaaa_reply(abuf, alen, &host, NULL, NULL);
  if(rc == ARES_SUCCESS && host != NULL && host->h_length == e->alen) {
    for(char **a = host->h_addr_list; a != NULL && *a != NULL; a++) {
      if(memcmp(*a, e->addr, e->alen) == 0) {
        /* The name is handed over: its own query is the only user. */
        e->confirmed = n->name;
        n->name = NULL;
        finish_entry(e);
        break;
      }
    }
  }
  if(host != NULL)
    ares_free_hostent(host);
  query_done(e);
}

static void ptr_cb(void *arg, int status, int timeouts, unsigned char *abuf,
                   int alen)
{
  struct dns_entry *e = arg;
  struct dns_resolver *r = e->r;
  struct hostent *host = NULL;
  int family = e->alen == 4 ? AF_INET : AF_INET6;

  (void)timeouts;
  note_reply(r, status, abuf, alen);
  if(!may_continue(e, status)) {
    query_done(e);
    return;
  }
  /* c-ares collects every PTR of the answer in h_aliases (and one of them
   * again in h_name); all of them are candidates. */
  if(ares_parse_ptr_reply(abuf, alen, e->addr, e->alen, family, &host) ==
         ARES_SUCCESS &&
     host != NULL) {
    e->names = calloc(DNS_MAX_PTR_NAMES, sizeof(*e->names));
    if(e->names != NULL) {
      add_name(e, host->h_name);
      for(char **a = host->h_aliases; a != NULL && *a != NULL; a++)
        add_name(e, *a);
    }
  }
  if(host != NULL)
    ares_free_hostent(host);
  /* Count every forward query before the PTR's own query_done below, so
   * the entry cannot finish between two of them. */
  for(size_t i = 0; i < e->n_names && may_continue(e, status); i++) {
    query_sent(e);
    r->st.name_queries++;
    ares_query(r->ch, e->names[i].name, ns_c_in,
               e->alen == 4 ? ns_t_a : ns_t_aaaa, forward_cb, &e->names[i]);
  }
  query_done(e);
}

static void start_entry(struct dns_resolver *r, struct dns_entry *e)
{
  char rname[80];

  e->state = ENTRY_RUNNING;
  reverse_name(e, rname, sizeof(rname));
  query_sent(e);
  r->st.ptr_queries++;
  ares_query(r->ch, rname, ns_c_in, ns_t_ptr, ptr_cb, e);
}

/* Start queued entries while slots are free. */
static void pump(struct dns_resolver *r)
{
  while(r->qhead != NULL && r->inflight < DNS_MAX_INFLIGHT && !r->dead) {
    struct dns_entry *e = r->qhead;
    r->qhead = e->qnext;
    if(r->qhead == NULL)
      r->qtail = NULL;
    e->qnext = NULL;
    start_entry(r, e);
  }
}

/* Give up on everything not answered yet: queued entries leave the queue,
 * running ones are finished with no name, and their queries are cancelled
 * so their slots come back at once (every query out belongs to an entry
 * that is now DONE, so nothing still wanted is lost). */
static void abandon_all(struct dns_resolver *r)
{
  struct dns_entry *e, *next;

  for(e = r->qhead; e != NULL; e = next) {
    next = e->qnext;
    e->qnext = NULL;
    finish_entry(e);
  }
  r->qhead = r->qtail = NULL;
  for(size_t i = 0; i < r->nbuckets; i++)
    for(e = r->buckets[i]; e != NULL; e = e->hnext)
      finish_entry(e);
  ares_cancel(r->ch);
}

/* The resolver is unreachable: say so once, answer what is pending "not
 * resolved", and refuse all later work. */
static void go_dead(struct dns_resolver *r, int64_t now)
{
  log_warn("DNS: no answer from %s within %lld ms; reverse lookups are "
           "off for the rest of this run",
           r->server, (long long)(now - r->first_query_ms));
  r->dead = true;
  r->st.dead = true;
  abandon_all(r);
}

/* Declare the resolver dead when c-ares gave up on a query before any
 * server ever answered.  Returns true when it is dead. */
static bool check_dead(struct dns_resolver *r)
{
  if(!r->dead && r->gave_up && !r->got_answer)
    go_dead(r, util_now_ms());
  return r->dead;
}

/* --- socket driving ----------------------------------------------------- */

void dns_drive_channel(struct ares_channeldata *ch, int timeout_ms)
{
  ares_socket_t socks[ARES_GETSOCK_MAXNUM];
  struct pollfd pfd[ARES_GETSOCK_MAXNUM];
  int bits, n = 0, ready;

  bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
  for(int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
    short ev = 0;
    if(ARES_GETSOCK_READABLE(bits, i))
      ev |= POLLIN;
    if(ARES_GETSOCK_WRITABLE(bits, i))
      ev |= POLLOUT;
    if(ev == 0)
      break;
    pfd[n].fd = socks[i];
    pfd[n].events = ev;
    pfd[n].revents = 0;
    n++;
  }
  ready = poll(pfd, (nfds_t)n, timeout_ms);
  if(ready < 0 && errno != EINTR)
    log_debug("DNS: poll: %s", strerror(errno));
  for(int i = 0; i < n && ready > 0; i++) {
    if(pfd[i].revents == 0)
      continue;
    ares_process_fd(ch,
                    pfd[i].revents & (POLLIN | POLLERR | POLLHUP)
                        ? pfd[i].fd
                        : ARES_SOCKET_BAD,
                    pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
  }
  /* Timeouts and retries are handled on every call; make one even when no
   * socket was ready. */
  if(ready <= 0)
    ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

static void drive(struct dns_resolver *r, int timeout_ms)
{
  dns_drive_channel(r->ch, timeout_ms);
}

/* --- server setup ------------------------------------------------------- */

int dns_parse_server(const char *server, const char *what,
                     struct ares_addr_port_node *node, char *err, size_t errlen)
{
  char host[INET6_ADDRSTRLEN + 1];
  const char *port = NULL, *end;
  size_t hlen;
  uint64_t p;

  memset(node, 0, sizeof(*node));
  if(server[0] == '[') {
    end = strchr(server, ']');
    if(end == NULL) {
      snprintf(err, errlen, "%s '%s': missing ']'", what, server);
      return -1;
    }
    hlen = (size_t)(end - server - 1);
    server++;
    if(end[1] == ':')
      port = end + 2;
    else if(end[1] != '\0') {
      snprintf(err, errlen, "%s '%s': junk after ']'", what, server - 1);
      return -1;
    }
  }
  else {
    const char *colon = strchr(server, ':');
    /* One colon separates an IPv4 address from its port; more than one is
     * a bare IPv6 address. */
    if(colon != NULL && strchr(colon + 1, ':') == NULL) {
      hlen = (size_t)(colon - server);
      port = colon + 1;
    }
    else
      hlen = strlen(server);
  }
  if(hlen == 0 || hlen >= sizeof(host)) {
    snprintf(err, errlen, "%s '%s': not an IP address", what, server);
    return -1;
  }
  memcpy(host, server, hlen);
  host[hlen] = '\0';
  if(inet_pton(AF_INET, host, &node->addr.addr4) == 1)
    node->family = AF_INET;
  else if(inet_pton(AF_INET6, host, &node->addr.addr6) == 1)
    node->family = AF_INET6;
  else {
    snprintf(err, errlen, "%s '%s': '%s' is not an IP address", what, server,
             host);
    return -1;
  }
  if(port != NULL) {
    if(util_parse_u64(port, 1, 65535, &p) != 0) {
      snprintf(err, errlen, "%s '%s': bad port '%s' (1-65535)", what, server,
               port);
      return -1;
    }
    node->udp_port = node->tcp_port = (int)p;
  }
  return 0;
}

/* "IP:PORT" of the servers in use, for the unreachable warning. */
static void describe_servers(struct dns_resolver *r)
{
  struct ares_addr_port_node *list = NULL;
  size_t o = 0;

  snprintf(r->server, sizeof(r->server), "the system resolver");
  if(ares_get_servers_ports(r->ch, &list) != ARES_SUCCESS || list == NULL)
    return;
  for(struct ares_addr_port_node *s = list; s != NULL; s = s->next) {
    char ip[INET6_ADDRSTRLEN];
    int n;
    if(inet_ntop(s->family, &s->addr, ip, sizeof(ip)) == NULL)
      continue;
    n = snprintf(r->server + o, sizeof(r->server) - o,
                 s->family == AF_INET6 ? "%s[%s]:%d" : "%s%s:%d", o ? "," : "",
                 ip, s->udp_port ? s->udp_port : 53);
    if(n < 0 || (size_t)n >= sizeof(r->server) - o)
      break;
    o += (size_t)n;
  }
  ares_free_data(list);
}

/* --- interface ---------------------------------------------------------- */

struct dns_resolver *dns_resolver_new(const char *server, int timeout_ms,
                                      char *err, size_t errlen)
{
  struct dns_resolver *r;
  struct ares_options opts;
  struct ares_addr_port_node node;
  int rc;

  if(server != NULL &&
     dns_parse_server(server, "DNS server", &node, err, errlen) != 0)
    return NULL;
  if(timeout_ms < 0) {
    snprintf(err, errlen, "DNS timeout %d ms: must not be negative",
             timeout_ms);
    return NULL;
  }
  rc = ares_library_init(ARES_LIB_INIT_ALL);
  if(rc != ARES_SUCCESS) {
    snprintf(err, errlen, "c-ares init: %s", ares_strerror(rc));
    return NULL;
  }
  r = calloc(1, sizeof(*r));
  if(r == NULL) {
    snprintf(err, errlen, "DNS resolver: out of memory");
    ares_library_cleanup();
    return NULL;
  }
  r->nbuckets = 256;
  r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
  if(r->buckets == NULL) {
    snprintf(err, errlen, "DNS resolver: out of memory");
    goto fail;
  }
  memset(&opts, 0, sizeof(opts));
  opts.timeout = timeout_ms > 0 ? timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
  opts.tries = DNS_TRIES;
  rc = ares_init_options(&r->ch, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if(rc != ARES_SUCCESS) {
    snprintf(err, errlen, "c-ares channel: %s", ares_strerror(rc));
    r->ch = NULL;
    goto fail;
  }
  if(server != NULL) {
    rc = ares_set_servers_ports(r->ch, &node);
    if(rc != ARES_SUCCESS) {
      snprintf(err, errlen, "DNS server '%s': %s", server, ares_strerror(rc));
      goto fail;
    }
  }
  describe_servers(r);
  return r;

fail:
  if(r->ch != NULL)
    ares_destroy(r->ch);
  free(r->buckets);
  free(r);
  ares_library_cleanup();
  return NULL;
}

void dns_resolver_free(struct dns_resolver *r)
{
  if(r == NULL)
    return;
  /* ares_destroy reports every query still out (ARES_EDESTRUCTION); the
   * callbacks only release slots, so the entries must still exist. */
  r->closing = true;
  ares_destroy(r->ch);
  for(size_t i = 0; i < r->nbuckets; i++) {
    struct dns_entry *e = r->buckets[i], *next;
    for(; e != NULL; e = next) {
      next = e->hnext;
      free_names(e);
      free(e->confirmed);
      free(e);
    }
  }
  free(r->buckets);
  free(r);
  ares_library_cleanup();
}

void dns_submit(struct dns_resolver *r, const char *ip)
{
  unsigned char addr[16];
  int alen;
  struct dns_entry *e;
  size_t h;

  if(r == NULL || r->dead)
    return;
  alen = parse_ip(ip, addr);
  if(alen == 0 || find_entry(r, addr, (size_t)alen) != NULL)
    return;
  if(r->nentries >= DNS_MAX_ENTRIES) {
    if(!r->warned_full)
      log_warn("DNS: more than %u distinct addresses in this run; "
               "the rest are not looked up",
               DNS_MAX_ENTRIES);
    r->warned_full = true;
    return;
  }
  e = calloc(1, sizeof(*e));
  if(e == NULL)
    return;
  (void)grow_table(r);
  e->r = r;
  memcpy(e->addr, addr, (size_t)alen);
  e->alen = (unsigned char)alen;
  e->state = ENTRY_QUEUED;
  h = addr_hash(addr, (size_t)alen) & (r->nbuckets - 1);
  e->hnext = r->buckets[h];
  r->buckets[h] = e;
  r->nentries++;
  r->unanswered++;
  if(r->qtail != NULL)
    r->qtail->qnext = e;
  else
    r->qhead = e;
  r->qtail = e;
  pump(r);
}

void dns_poll(struct dns_resolver *r)
{
  if(r == NULL || r->dead)
    return;
  pump(r);
  if(r->inflight > 0)
    drive(r, 0);
  if(!check_dead(r))
    pump(r);
}

void dns_wait(struct dns_resolver *r, int64_t deadline_ms)
{
  int64_t now;

  if(r == NULL || r->dead)
    return;
  for(;;) {
    struct timeval tv, maxtv, *next;
    int64_t wait;

    pump(r);
    if(r->unanswered == 0)
      return;
    now = util_now_ms();
    if(now >= deadline_ms)
      break;
    wait = deadline_ms - now;
    if(wait > DNS_MAX_POLL_MS)
      wait = DNS_MAX_POLL_MS;
    maxtv.tv_sec = (time_t)(wait / 1000);
    maxtv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
    /* The earlier of c-ares' next retry and maxtv (returned as is when
     * c-ares has nothing sooner). */
    next = ares_timeout(r->ch, &maxtv, &tv);
    wait = (int64_t)next->tv_sec * 1000 + (next->tv_usec + 999) / 1000;
    drive(r, (int)wait);
    if(check_dead(r))
      return;
  }
  if(!r->got_answer && r->first_query_ms != 0 &&
     now - r->first_query_ms >= DNS_DEAD_MIN_MS)
    go_dead(r, now);
  else
    abandon_all(r);
}

const char *dns_lookup(struct dns_resolver *r, const char *ip)
{
  unsigned char addr[16];
  int alen;
  struct dns_entry *e;

  if(r == NULL)
    return NULL;
  alen = parse_ip(ip, addr);
  if(alen == 0)
    return NULL;
  e = find_entry(r, addr, (size_t)alen);
  if(e == NULL || e->state != ENTRY_DONE)
    return NULL;
  return e->confirmed;
}

void dns_get_stats(const struct dns_resolver *r, struct dns_stats *st)
{
  *st = r->st;
  st->entries = r->nentries;
}
