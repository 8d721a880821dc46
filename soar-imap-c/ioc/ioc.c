/*
 * ioc: see ioc.h for what is found and why each rule is there.
 *
 * One pass per body finds the candidates that start at a word boundary
 * (IPv4, IPv6, hashes); URLs and email addresses are found by looking for
 * their anchors ("://" and "@") with memmem/memchr, so text without them
 * costs one fast scan each.
 */
#include "ioc.h"
#include "ioc_private.h"

#include <arpa/inet.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

/* ---- sets: insertion-ordered, open addressing ------------------------- */

struct ioc_set {
  char **items; /* in order first seen */
  size_t n, cap;
  uint32_t *slots; /* index + 1 into items, 0 = empty */
  size_t nslots;   /* power of two */
};

struct ioc_result {
  struct ioc_set set[IOC_NKINDS];
  size_t dropped;
};

static uint32_t hash_bytes(const char *s, size_t len)
{
  uint32_t h = 2166136261u; /* FNV-1a */
  for(size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

static int set_grow(struct ioc_set *st)
{
  size_t nslots = st->nslots ? st->nslots * 2 : 64;
  uint32_t *slots = calloc(nslots, sizeof(*slots));
  if(!slots)
    return -1;
  for(size_t i = 0; i < st->n; i++) {
    size_t j = hash_bytes(st->items[i], strlen(st->items[i])) & (nslots - 1);
    while(slots[j])
      j = (j + 1) & (nslots - 1);
    slots[j] = (uint32_t)(i + 1);
  }
  free(st->slots);
  st->slots = slots;
  st->nslots = nslots;
  return 0;
}

/* Whether s[0..len) is in st. */
static bool set_has(const struct ioc_set *st, const char *s, size_t len)
{
  if(!st->nslots)
    return false;
  for(size_t j = hash_bytes(s, len) & (st->nslots - 1); st->slots[j];
      j = (j + 1) & (st->nslots - 1)) {
    const char *e = st->items[st->slots[j] - 1];
    if(!strncmp(e, s, len) && e[len] == '\0')
      return true;
  }
  return false;
}

/* Add s[0..len) unless present.  0 ok (added, present or dropped), -1 OOM */
static int set_add(struct ioc_result *r, enum ioc_kind k, const char *s,
                   size_t len)
{
  struct ioc_set *st = &r->set[k];
  size_t j;

  if(!len)
    return 0;
  if(len > IOC_MAX_VALUE) {
    r->dropped++;
    return 0;
  }
  if(st->n * 2 >= st->nslots && set_grow(st))
    return -1;
  j = hash_bytes(s, len) & (st->nslots - 1);
  while(st->slots[j]) {
    const char *e = st->items[st->slots[j] - 1];
    if(!strncmp(e, s, len) && e[len] == '\0')
      return 0;
    j = (j + 1) & (st->nslots - 1);
  }
  if(st->n >= IOC_MAX_PER_KIND) {
    r->dropped++;
    return 0;
  }
  if(st->n == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 16;
    char **items = realloc(st->items, cap * sizeof(*items));
    if(!items)
      return -1;
    st->items = items;
    st->cap = cap;
  }
  char *copy = malloc(len + 1);
  if(!copy)
    return -1;
  memcpy(copy, s, len);
  copy[len] = '\0';
  st->items[st->n++] = copy;
  st->slots[j] = (uint32_t)st->n;
  return 0;
}

struct ioc_result *ioc_result_new(void)
{
  return calloc(1, sizeof(struct ioc_result));
}

void ioc_result_free(struct ioc_result *r)
{
  if(!r)
    return;
  for(int k = 0; k < IOC_NKINDS; k++) {
    for(size_t i = 0; i < r->set[k].n; i++)
      free(r->set[k].items[i]);
    free(r->set[k].items);
    free(r->set[k].slots);
  }
  free(r);
}

size_t ioc_count(const struct ioc_result *r, enum ioc_kind k)
{
  return (k < IOC_NKINDS) ? r->set[k].n : 0;
}

const char *ioc_get(const struct ioc_result *r, enum ioc_kind k, size_t i)
{
  return (k < IOC_NKINDS && i < r->set[k].n) ? r->set[k].items[i] : NULL;
}

size_t ioc_dropped(const struct ioc_result *r)
{
  return r->dropped;
}

/* ---- character classes ------------------------------------------------ */

/* Python's \b counts letters of any script as word characters; all bytes
 * of a UTF-8 sequence are treated so. */
static inline bool is_word(unsigned char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static inline bool is_hex(unsigned char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static inline bool is_digit(unsigned char c)
{
  return c >= '0' && c <= '9';
}

static inline bool is_alpha(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline unsigned char lower(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ---- validators ------------------------------------------------------- */

bool ioc_is_ipv4(const char *s, size_t len)
{
  unsigned octets = 0;
  size_t i = 0;

  while(octets < 4) {
    size_t start = i;
    unsigned v = 0;
    while(i < len && is_digit((unsigned char)s[i]) && i - start < 3)
      v = v * 10 + (unsigned)(s[i++] - '0');
    if(i == start || v > 255 || (s[start] == '0' && i - start > 1))
      return false;
    if(i < len && is_digit((unsigned char)s[i]))
      return false; /* a fourth digit */
    octets++;
    if(octets < 4) {
      if(i >= len || s[i] != '.')
        return false;
      i++;
    }
  }
  return i == len;
}

bool ioc_is_ipv6(const char *s, size_t len)
{
  char tmp[64];
  unsigned char addr[16];

  if(len < 2 || len >= sizeof(tmp))
    return false;
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  return inet_pton(AF_INET6, tmp, addr) == 1;
}

static const psl_ctx_t *psl_list;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

static void psl_load(void)
{
  /* The newer of the built-in list and the system file. */
  psl_list = psl_latest(NULL);
  if(!psl_list)
    psl_list = psl_builtin();
}

static const psl_ctx_t *psl_ctx(void)
{
  pthread_once(&psl_once, psl_load);
  return psl_list;
}

void ioc_init(void)
{
  xmlInitParser();
  (void)psl_ctx();
}

/* A host name: labels of letters, digits, '-' or non-ASCII bytes, 1..63
 * bytes, not starting or ending with '-'; at least two labels; the last
 * one letters (or xn--...).  One trailing dot is allowed by the caller. */
static bool hostname_ok(const char *s, size_t len)
{
  size_t labels = 0, start = 0;

  if(!len || len > 253)
    return false;
  for(size_t i = 0; i <= len; i++) {
    if(i < len && s[i] != '.') {
      unsigned char c = (unsigned char)s[i];
      if(!(is_alpha(c) || is_digit(c) || c == '-' || c >= 0x80))
        return false;
      continue;
    }
    size_t l = i - start;
    if(l == 0 || l > 63 || s[start] == '-' || s[i - 1] == '-')
      return false;
    labels++;
    if(i == len) { /* the top-level label */
      if(l >= 4 && !strncasecmp(s + start, "xn--", 4)) {
        for(size_t j = start + 4; j < i; j++)
          if(!is_alpha((unsigned char)s[j]) && !is_digit((unsigned char)s[j]))
            return false;
      }
      else {
        if(l < 2)
          return false;
        for(size_t j = start; j < i; j++)
          if(!is_alpha((unsigned char)s[j]) && (unsigned char)s[j] < 0x80)
            return false;
      }
    }
    start = i + 1;
  }
  return labels >= 2;
}

bool ioc_domain_ok(const char *s, size_t len)
{
  char tmp[256];
  const psl_ctx_t *psl = psl_ctx();
  const char *tld;

  if(len && s[len - 1] == '.')
    len--;
  if(!hostname_ok(s, len) || len >= sizeof(tmp) || !psl)
    return false;
  for(size_t i = 0; i < len; i++)
    tmp[i] = (char)lower((unsigned char)s[i]);
  tmp[len] = '\0';
  tld = strrchr(tmp, '.');
  tld = tld ? tld + 1 : tmp;
  /* Without the "*" rule, an unknown top-level label is no suffix. */
  if(!psl_is_public_suffix2(psl, tld, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE))
    return false;
  /* "co.uk" alone is no domain; "github.io" (a private suffix) is. */
  return !psl_is_public_suffix2(psl, tmp, PSL_TYPE_ICANN);
}

int ioc_url_host(const char *url, size_t len, const char **host_r,
                 size_t *hostlen_r)
{
  size_t i, auth_end, host_start, host_end;

  if(len >= 8 && !strncasecmp(url, "https://", 8))
    i = 8;
  else if(len >= 7 && !strncasecmp(url, "http://", 7))
    i = 7;
  else
    return 0;
  for(size_t j = 0; j < len; j++)
    if((unsigned char)url[j] <= 0x20 || url[j] == 0x7f)
      return 0;
  auth_end = i;
  while(auth_end < len && url[auth_end] != '/' && url[auth_end] != '?' &&
        url[auth_end] != '#')
    auth_end++;
  host_start = i;
  for(size_t j = i; j < auth_end; j++) /* user:pass@ */
    if(url[j] == '@')
      host_start = j + 1;
  host_end = auth_end;
  if(host_start < auth_end && url[host_start] == '[') {
    const char *rb = memchr(url + host_start, ']', auth_end - host_start);
    if(!rb)
      return 0;
    host_end = (size_t)(rb - url);
    if(!ioc_is_ipv6(url + host_start + 1, host_end - host_start - 1))
      return 0;
    if(host_end + 1 < auth_end && url[host_end + 1] != ':')
      return 0;
    *host_r = url + host_start + 1;
    *hostlen_r = host_end - host_start - 1;
    host_end++;
  }
  else {
    const char *colon = memchr(url + host_start, ':', auth_end - host_start);
    if(colon)
      host_end = (size_t)(colon - url);
    *host_r = url + host_start;
    *hostlen_r = host_end - host_start;
  }
  if(host_end < auth_end) { /* :port */
    size_t p = host_end + 1, digits = 0;
    unsigned long port = 0;
    if(url[host_end] != ':')
      return 0;
    for(; p < auth_end; p++, digits++) {
      if(!is_digit((unsigned char)url[p]) || digits >= 5)
        return 0;
      port = port * 10 + (unsigned long)(url[p] - '0');
    }
    if(!digits || port > 65535)
      return 0;
  }
  /* host_start is len for "http://user@": url[len] is not ours to read */
  if(host_start < auth_end && url[host_start] == '[')
    return 1;
  size_t hl = *hostlen_r;
  if(hl && (*host_r)[hl - 1] == '.')
    hl--;
  if(ioc_is_ipv4(*host_r, hl))
    return 1;
  return hostname_ok(*host_r, hl);
}

/* ---- adding ----------------------------------------------------------- */

static int add_domain(struct ioc_result *r, const char *s, size_t len)
{
  char tmp[256];

  if(len && s[len - 1] == '.')
    len--;
  if(len >= sizeof(tmp))
    return 0;
  for(size_t i = 0; i < len; i++)
    tmp[i] = (char)lower((unsigned char)s[i]);
  /* Mail names the same few hosts again and again: one already in the
   * list passed the checks below (they ignore ASCII case), so the libpsl
   * lookups, the bulk of the cost, are skipped for it. */
  if(set_has(&r->set[IOC_DOMAIN], tmp, len))
    return 0;
  if(ioc_is_ipv4(s, len) || !ioc_domain_ok(s, len))
    return 0;
  if(set_add(r, IOC_DOMAIN, tmp, len))
    return -1;
  /* an IDN as written, then as DNS knows it (threat feeds list that) */
  char al[256];
  size_t an = 0;
  for(size_t i = 0; i < len && !an; i++)
    if((unsigned char)tmp[i] >= 0x80)
      an = ioc_domain_alabel(tmp, len, al, sizeof(al));
  return an ? set_add(r, IOC_DOMAIN, al, an) : 0;
}

/* A candidate URL (already cut and trimmed). */
static int add_url(struct ioc_result *r, const struct ioc_opts *o,
                   const char *u, size_t len)
{
  const char *host;
  size_t hl;

  if(!ioc_url_host(u, len, &host, &hl))
    return 0;
  if(o->urls && set_add(r, IOC_URL, u, len))
    return -1;
  if(o->domains && hl && !ioc_is_ipv6(host, hl))
    return add_domain(r, host, hl);
  return 0;
}

/* ---- entities (text bodies: "&amp;" in a URL is common in mail) ------- */

/* Decode the HTML character references in s[0..len) into out (at most
 * len bytes are written, since no reference is shorter than its UTF-8). */
static size_t entity_decode(const char *s, size_t len, char *out)
{
  static const struct {
    const char *name;
    const char *utf8;
  } named[] = {
    { "amp;", "&" },   { "lt;", "<" },   { "gt;", ">" },
    { "quot;", "\"" }, { "apos;", "'" }, { "nbsp;", "\xc2\xa0" },
  };
  size_t o = 0;

  for(size_t i = 0; i < len;) {
    if(s[i] != '&') {
      out[o++] = s[i++];
      continue;
    }
    size_t rest = len - i - 1;
    const char *p = s + i + 1;
    bool done = false;
    for(size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
      size_t nl = strlen(named[k].name);
      if(rest >= nl && !memcmp(p, named[k].name, nl)) {
        size_t ul = strlen(named[k].utf8);
        memcpy(out + o, named[k].utf8, ul);
        o += ul;
        i += 1 + nl;
        done = true;
        break;
      }
    }
    if(!done && rest >= 3 && p[0] == '#') {
      size_t j = 1;
      unsigned long cp = 0;
      bool hex = (p[1] == 'x' || p[1] == 'X');
      if(hex)
        j++;
      size_t d0 = j;
      while(
          j < rest && j < d0 + 7 &&
          (hex ? is_hex((unsigned char)p[j]) : is_digit((unsigned char)p[j]))) {
        unsigned char c = (unsigned char)p[j];
        cp = cp * (hex ? 16 : 10) +
             (unsigned long)(is_digit(c) ? c - '0' : lower(c) - 'a' + 10);
        j++;
      }
      if(j > d0 && j < rest && p[j] == ';' && cp > 0 && cp <= 0x10ffff &&
         !(cp >= 0xd800 && cp <= 0xdfff) && j + 2 >= 4) {
        char u[4];
        size_t ul;
        if(cp < 0x80) {
          u[0] = (char)cp;
          ul = 1;
        }
        else if(cp < 0x800) {
          u[0] = (char)(0xc0 | (cp >> 6));
          u[1] = (char)(0x80 | (cp & 0x3f));
          ul = 2;
        }
        else if(cp < 0x10000) {
          u[0] = (char)(0xe0 | (cp >> 12));
          u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
          u[2] = (char)(0x80 | (cp & 0x3f));
          ul = 3;
        }
        else {
          u[0] = (char)(0xf0 | (cp >> 18));
          u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
          u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
          u[3] = (char)(0x80 | (cp & 0x3f));
          ul = 4;
        }
        if(ul <= j + 2) { /* "&#" + digits + ";" is at least ul bytes */
          memcpy(out + o, u, ul);
          o += ul;
          i += 1 + j + 1;
          done = true;
        }
      }
    }
    if(!done)
      out[o++] = s[i++];
  }
  return o;
}

/* ---- URLs in text ----------------------------------------------------- */

static inline bool url_stop(unsigned char c)
{
  return c <= 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '<' ||
         c == '>' || c == '`' || c == '{' || c == '}' || c == '|' ||
         c == '\\' || c == '^';
}

/* The length of u[0..len) up to the first stop character. */
static size_t url_cut(const char *u, size_t len)
{
  size_t n = 0;

  while(n < len && !url_stop((unsigned char)u[n])) {
    /* U+00A0 (no-break space) ends a URL like a space */
    if((unsigned char)u[n] == 0xc2 && n + 1 < len &&
       (unsigned char)u[n + 1] == 0xa0)
      break;
    n++;
  }
  return n;
}

/* Cut u[0..len) at the first stop character, then drop trailing
 * punctuation and closing brackets that have no opening partner. */
static size_t url_trim(const char *u, size_t len)
{
  size_t n = url_cut(u, len);

  for(;;) {
    if(!n)
      return 0;
    char c = u[n - 1];
    if(c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' ||
       c == '*') {
      n--;
      continue;
    }
    if(c == ')' || c == ']') {
      char open = (c == ')') ? '(' : '[';
      long depth = 0;
      for(size_t i = 0; i < n; i++)
        depth += (u[i] == open) - (u[i] == c);
      if(depth < 0) {
        n--;
        continue;
      }
    }
    return n;
  }
}

/* s[0..n) equals the lower-case literal lit, ignoring ASCII case. */
static bool ci_equal(const char *s, const char *lit, size_t n)
{
  for(size_t i = 0; i < n; i++)
    if(lower((unsigned char)s[i]) != (unsigned char)lit[i])
      return false;
  return true;
}

/* HTML source read as text: the DTD address of a <!DOCTYPE ...> (within
 * IOC_MAX_DOCTYPE bytes before the URL, no '>' between) is no link. */
#define IOC_MAX_DOCTYPE 256
static bool in_doctype(const char *t, const char *u)
{
  const char *p = u - 1, *stop = (size_t)(u - t) > IOC_MAX_DOCTYPE
                                     ? u - IOC_MAX_DOCTYPE
                                     : t;

  for(; p >= stop && *p != '>'; p--)
    if(*p == '<' && u - p > 9 && p[1] == '!' && ci_equal(p + 2, "doctype", 7))
      return true;
  return false;
}

static int scan_urls(struct ioc_result *r, const struct ioc_opts *o,
                     const char *t, size_t len)
{
  const char *p = t, *end = t + len;
  char *dec = NULL;
  int rc = 0;

  while((p = memmem(p, (size_t)(end - p), "://", 3))) {
    const char *start = NULL;
    if(p - t >= 5 && ci_equal(p - 5, "https", 5))
      start = p - 5;
    else if(p - t >= 4 && ci_equal(p - 4, "http", 4))
      start = p - 4;
    p += 3;
    if(!start || (start > t && is_alpha((unsigned char)start[-1])))
      continue;
    if(in_doctype(t, start))
      continue;
    /* the raw extent: up to white space or a quote */
    const char *e = p;
    while(e < end && (unsigned char)*e > 0x20 && *e != '"' && *e != '\'' &&
          *e != '<' && *e != '>' && (size_t)(e - start) < IOC_MAX_VALUE)
      e++;
    size_t n = (size_t)(e - start);
    const char *u = start;
    if(memchr(start, '&', n)) {
      if(!dec && !(dec = malloc(IOC_MAX_VALUE + 1))) {
        rc = -1;
        break;
      }
      n = entity_decode(start, n, dec);
      u = dec;
    }
    n = url_trim(u, n);
    if(n > (size_t)(p - start) && add_url(r, o, u, n)) {
      rc = -1;
      break;
    }
    p = e;
  }
  free(dec);
  return rc;
}

/* ---- email addresses -------------------------------------------------- */

static inline bool local_char(unsigned char c)
{
  return is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '%' ||
         c == '+' || c == '-';
}

static int scan_emails(struct ioc_result *r, const char *t, size_t len)
{
  const char *p = t, *end = t + len;

  while((p = memchr(p, '@', (size_t)(end - p)))) {
    const char *l = p;
    while(l > t && local_char((unsigned char)l[-1]) && p - l < 256)
      l--;
    const char *h = p + 1, *e = h;
    while(e < end &&
          (is_alpha((unsigned char)*e) || is_digit((unsigned char)*e) ||
           *e == '.' || *e == '-' || (unsigned char)*e >= 0x80) &&
          e - h < 256)
      e++;
    while(e > h && (e[-1] == '.' || e[-1] == '-'))
      e--;
    /* a non-ASCII tail that is not a letter run (e.g. "x.com\xc2\xa0") */
    while(e > h && (unsigned char)e[-1] == 0xa0 && e - h >= 2 &&
          (unsigned char)e[-2] == 0xc2)
      e -= 2;
    if(l < p && e > h && add_domain(r, h, (size_t)(e - h)))
      return -1;
    p++;
  }
  return 0;
}

/* ---- the word-boundary pass: IPv4, IPv6, hashes ------------------------ */

static int scan_words(struct ioc_result *r, const struct ioc_opts *o,
                      const unsigned char *t, size_t len)
{
  size_t i = 0;

  while(i < len) {
    unsigned char c = t[i];
    unsigned char prev = i ? t[i - 1] : ' ';

    if(!(is_hex(c) || c == ':') || is_word(prev) || (c == ':' && prev == ':')) {
      i++;
      continue;
    }
    /* A token starts here.  The run of hex digits, ':' and '.': */
    size_t e = i, colons = 0;
    bool digit = false;
    while(e < len && (is_hex(t[e]) || t[e] == ':' || t[e] == '.')) {
      colons += (t[e] == ':');
      digit |= is_digit(t[e]);
      e++;
    }
    size_t next = e; /* where scanning resumes */

    if(colons >= 2 && o->ips && digit && prev != '.') {
      size_t ve = e;
      while(ve > i && t[ve - 1] == '.')
        ve--;
      if(ve - i >= 2 && t[ve - 1] == ':' && t[ve - 2] != ':')
        ve--; /* "fe80::1:" at a sentence end */
      size_t after = ve;
      if(after < len && t[after] == '%') { /* zone id */
        after++;
        while(after < len &&
              (is_alpha(t[after]) || is_digit(t[after]) || t[after] == '_' ||
               t[after] == '-' || t[after] == '.'))
          after++;
      }
      if((after >= len || !is_word(t[after])) &&
         ioc_is_ipv6((const char *)t + i, ve - i)) {
        if(set_add(r, IOC_IP, (const char *)t + i, ve - i))
          return -1;
        i = after;
        continue;
      }
    }
    size_t he = i;
    while(he < len && is_hex(t[he]))
      he++;
    if(o->hashes && (he >= len || !is_word(t[he]))) {
      size_t n = he - i;
      if(n == 32 || n == 40 || n == 64 || n == 128) {
        if(set_add(r, IOC_HASH, (const char *)t + i, n))
          return -1;
      }
    }
    if(is_digit(c) && o->ips && prev != '.') {
      size_t ve = i;
      while(ve < len && (is_digit(t[ve]) || t[ve] == '.'))
        ve++;
      size_t after = ve;
      while(ve > i && t[ve - 1] == '.')
        ve--;
      if((after >= len || !is_word(t[after])) &&
         ioc_is_ipv4((const char *)t + i, ve - i)) {
        if(set_add(r, IOC_IP, (const char *)t + i, ve - i))
          return -1;
      }
    }
    /* skip the rest of this word */
    i = next;
    while(i < len && is_word(t[i]))
      i++;
  }
  return 0;
}

int ioc_scan_text(struct ioc_result *r, const struct ioc_opts *o,
                  const char *text, size_t len)
{
  if(o->ips || o->hashes)
    if(scan_words(r, o, (const unsigned char *)text, len))
      return -1;
  if(o->urls || o->domains)
    if(scan_urls(r, o, text, len))
      return -1;
  if(o->domains)
    if(scan_emails(r, text, len))
      return -1;
  return 0;
}

/* ---- HTML ------------------------------------------------------------- */

static bool is_block(const char *name)
{
  static const char *const blocks[] = {
    "p",    "div",   "br",         "tr",      "td",     "th",     "li",
    "ul",   "ol",    "table",      "h1",      "h2",     "h3",     "h4",
    "h5",   "h6",    "blockquote", "pre",     "hr",     "title",  "body",
    "html", "head",  "section",    "article", "header", "footer", "dd",
    "dt",   "tbody", "thead",      "option",
  };
  for(size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
    if(!strcasecmp(name, blocks[i]))
      return true;
  return false;
}

static int html_attr(struct ioc_result *r, const struct ioc_opts *o,
                     const char *v, size_t len)
{
  while(len && (unsigned char)*v <= 0x20) {
    v++;
    len--;
  }
  while(len && (unsigned char)v[len - 1] <= 0x20)
    len--;
  if(len > 7 && !strncasecmp(v, "mailto:", 7)) {
    if(!o->domains)
      return 0;
    const char *at = memchr(v, '@', len);
    if(!at)
      return 0;
    const char *h = at + 1, *e = h;
    while(e < v + len && *e != '?' && *e != '>' && *e != ',' && *e != '&' &&
          (unsigned char)*e > 0x20)
      e++;
    return add_domain(r, h, (size_t)(e - h));
  }
  if(len > IOC_MAX_VALUE)
    return 0;
  /* the quotes delimit it: a trailing '.' or ')' is part of the URL, not
   * the punctuation of a sentence as in text */
  return add_url(r, o, v, url_cut(v, len));
}

/* The HTML is read with libxml2's HTML parser in SAX mode: no tree is
 * built (that was most of the parser's cost), and the events give the
 * walk a tree would, in document order: the text of every element but
 * <style>, a line break after each block element, and the href and src
 * attributes.  Nothing recurses, so there is no depth to cap: the tree
 * walk this replaced stopped at 512 levels, and links nested deeper were
 * never seen (an easy way to hide them). */
struct html_walk {
  struct ioc_result *r;
  const struct ioc_opts *o;
  struct buf *text;
  xmlParserCtxtPtr ctxt;
  unsigned hidden; /* <style> elements open (and what is in them) */
  bool any;        /* the parser produced something */
  int rc;
};

static void html_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
  struct html_walk *w = ctx;
  const char *n = (const char *)name;

  w->any = true;
  if(w->rc)
    return;
  if(w->hidden || !strcasecmp(n, "style")) {
    w->hidden++;
    return;
  }
  if((w->o->urls || w->o->domains) && atts) {
    for(const xmlChar **a = atts; a[0] && !w->rc; a += 2) {
      const char *an = (const char *)a[0], *v = (const char *)a[1];
      if(!v || (strcasecmp(an, "href") && strcasecmp(an, "src")))
        continue;
      if(html_attr(w->r, w->o, v, strlen(v)))
        w->rc = -1;
    }
    if(w->rc)
      xmlStopParser(w->ctxt);
  }
}

static void html_end(void *ctx, const xmlChar *name)
{
  struct html_walk *w = ctx;

  if(w->hidden) {
    w->hidden--;
    return;
  }
  if(is_block((const char *)name))
    (void)buf_putc(w->text, '\n');
}

static void html_chars(void *ctx, const xmlChar *ch, int len)
{
  struct html_walk *w = ctx;

  w->any = true;
  /* Past IOC_MAX_HTML_TEXT the rest of the text is not scanned. */
  if(!w->hidden && len > 0)
    (void)buf_append(w->text, ch, strnlen((const char *)ch, (size_t)len));
}

int ioc_scan_html(struct ioc_result *r, const struct ioc_opts *o,
                  const char *html, size_t len, struct buf *text_out)
{
  struct buf text;
  struct html_walk w;
  htmlParserCtxtPtr ctxt;

  if(len > (size_t)INT32_MAX)
    len = INT32_MAX;
  memset(&w, 0, sizeof(w));
  w.r = r;
  w.o = o;
  w.text = &text;
  buf_init(&text, IOC_MAX_HTML_TEXT);
  ctxt = htmlNewParserCtxt();
  if(ctxt && ctxt->sax) {
    xmlSAXHandler *sax = ctxt->sax;
    memset(sax, 0, sizeof(*sax));
    sax->startElement = html_start;
    sax->endElement = html_end;
    sax->characters = html_chars;
    sax->cdataBlock = html_chars;
    sax->initialized = 1;
    w.ctxt = ctxt;
    ctxt->userData = &w;
    xmlFreeDoc(htmlCtxtReadMemory(ctxt, html, (int)len, NULL, "UTF-8",
                                  HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                      HTML_PARSE_NOWARNING |
                                      HTML_PARSE_RECOVER | HTML_PARSE_COMPACT));
  }
  if(ctxt)
    htmlFreeParserCtxt(ctxt);
  if(!w.any && !w.rc) {
    /* Not even recoverable as HTML: scan it as text. */
    buf_append(&text, html, len);
  }
  if(!w.rc && text.len)
    w.rc = ioc_scan_text(r, o, text.data, text.len);
  if(!w.rc && text_out && text.len && buf_append(text_out, text.data, text.len))
    w.rc = -1;
  buf_free(&text);
  return w.rc;
}
