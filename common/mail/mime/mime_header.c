/*
 * mime_header: the text inside header values.
 *
 *   RFC 2047  encoded words ("=?charset?B|Q?text?=") in unstructured text
 *   RFC 2045  parameter lists (token or quoted-string values)
 *   RFC 2231  parameter continuations (name*0, name*1*) and charset'lang'
 *             percent-encoding
 *   RFC 5322  dates (section 3.3, with the obsolete forms of section 4.3)
 *
 * Tolerance: encoded words are found even when glued to other text, in
 * quoted file names (Outlook), with lower-case B/Q; unquoted parameter
 * values may contain blanks and run to the next ';'.
 */
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "mime_private.h"

/* ---- RFC 2047 ---------------------------------------------------------- */

#define WORD_CHARSET_MAX 64

/* Decoded bytes of consecutive encoded words in one charset, converted
 * together so a character split across two words comes out whole. */
struct pending {
  struct buf bytes;
  char charset[WORD_CHARSET_MAX + 1];
  int active;
};

static int pending_flush(struct pending *pd, struct buf *out)
{
  unsigned flags = 0;
  int r = 0;

  if(!pd->active)
    return 0;
  if(pd->bytes.len > 0) {
    r = mime_charset_convert(pd->charset, pd->bytes.data, pd->bytes.len, out,
                             &flags);
    if(r == 1) /* cannot happen: the charset was checked; be safe */
      r = mime_charset_fallback(pd->bytes.data, pd->bytes.len, out);
  }
  buf_reset(&pd->bytes);
  pd->active = 0;
  return r < 0 ? -1 : 0;
}

static int only_blanks(const char *p, const char *end)
{
  for(; p < end; p++)
    if(*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
      return 0;
  return 1;
}

/* Whether a charset label can be converted (looked up once per word; the
 * label is checked for plausible characters inside mime_charset_convert). */
static int charset_usable(const char *cs)
{
  struct buf tmp;
  unsigned flags = 0;
  int r;

  buf_init(&tmp, 64);
  r = mime_charset_convert(cs, "a", 1, &tmp, &flags);
  buf_free(&tmp);
  return r == 0;
}

/* Parse an encoded word starting at q ("=?").  On success fills the
 * charset (without RFC 2231 "*lang"), the encoding letter, the text and
 * returns the pointer after "?=". */
static const char *word_parse(const char *q, const char *end, char *cs,
                              char *enc_r, const char **text_r, size_t *tlen_r)
{
  const char *p = q + 2, *c0 = p, *t, *te;
  size_t n;

  while(p < end && *p != '?' && *p != ' ' && *p != '\t' &&
        p - c0 <= WORD_CHARSET_MAX)
    p++;
  if(p >= end || *p != '?' || p == c0 || p - c0 > WORD_CHARSET_MAX)
    return NULL;
  n = (size_t)(p - c0);
  memcpy(cs, c0, n);
  cs[n] = '\0';
  if(strchr(cs, '*') != NULL)
    *strchr(cs, '*') = '\0';
  if(end - p < 4 ||
     (p[1] != 'B' && p[1] != 'b' && p[1] != 'Q' && p[1] != 'q') || p[2] != '?')
    return NULL;
  *enc_r = p[1];
  t = p + 3;
  for(te = t; te + 1 < end; te++)
    if(te[0] == '?' && te[1] == '=')
      break;
  if(te + 1 >= end)
    return NULL;
  *text_r = t;
  *tlen_r = (size_t)(te - t);
  return te + 2;
}

int mime_words_decode(const char *in, size_t len, struct buf *out)
{
  const char *p = in, *end = in + len, *plain = in;
  struct pending pd;
  int ret = -1;

  memset(&pd, 0, sizeof(pd));
  buf_init(&pd.bytes, len + 16);
  while(p + 1 < end) {
    char cs[WORD_CHARSET_MAX + 1], enc;
    const char *text, *after;
    const char *q = memchr(p, '=', (size_t)(end - p));
    size_t tlen;
    unsigned flags = 0;

    if(q == NULL || q + 1 >= end)
      break;
    if(q[1] != '?') {
      p = q + 1;
      continue;
    }
    after = word_parse(q, end, cs, &enc, &text, &tlen);
    if(after == NULL || !charset_usable(cs)) {
      p = q + 2; /* not a word we can decode: it stays plain text */
      continue;
    }
    /* text between two words that is only blanks is dropped (RFC 2047
     * section 6.2); anything else ends the run of words */
    if(!(pd.active && only_blanks(plain, q))) {
      if(pending_flush(&pd, out) < 0 ||
         mime_charset_fallback(plain, (size_t)(q - plain), out) < 0)
        goto out;
    }
    if(pd.active && mime_ascii_casecmp(pd.charset, cs) != 0 &&
       pending_flush(&pd, out) < 0)
      goto out;
    if(!pd.active) {
      memcpy(pd.charset, cs, sizeof(cs));
      pd.active = 1;
    }
    if(enc == 'B' || enc == 'b')
      mime_base64_decode(text, tlen, &pd.bytes, &flags);
    else
      mime_qp_decode(text, tlen, 1, &pd.bytes, &flags);
    plain = p = after;
  }
  if(pending_flush(&pd, out) < 0 ||
     mime_charset_fallback(plain, (size_t)(end - plain), out) < 0)
    goto out;
  ret = 0;
out:
  buf_free(&pd.bytes);
  return ret;
}

/* Decoded text can carry NUL (=00, %00).  Strings we hand out are C
 * strings, and a NUL would silently cut a file name ("a.exe\0.txt"), so
 * each NUL becomes U+FFFD.  Returns 0 or -1 when b is full. */
static int scrub_nul(struct buf *b)
{
  struct buf tmp;
  size_t i;

  if(b->data == NULL || memchr(b->data, '\0', b->len) == NULL)
    return 0;
  buf_init(&tmp, b->max > SIZE_MAX / 3 ? SIZE_MAX : b->max * 3);
  for(i = 0; i < b->len; i++) {
    int r = b->data[i] == '\0' ? buf_append(&tmp, "\xEF\xBF\xBD", 3)
                               : buf_putc(&tmp, b->data[i]);
    if(r < 0) {
      buf_free(&tmp);
      return -1;
    }
  }
  buf_free(b);
  *b = tmp;
  return 0;
}

/* The last guard of the "decoded values are UTF-8" promise: whatever a
 * charset converter or a cut at a buffer limit let through, each byte that
 * does not start a valid sequence becomes U+FFFD.  Returns 0 or -1. */
static int scrub_utf8(struct buf *b)
{
  struct buf tmp;
  size_t i = 0, used;

  if(b->data == NULL)
    return 0;
  while(i < b->len && util_utf8_decode((const unsigned char *)b->data + i,
                                       b->len - i, &used) >= 0)
    i += used;
  if(i == b->len)
    return 0; /* the common case: already valid */
  buf_init(&tmp, b->max > SIZE_MAX / 3 ? SIZE_MAX : b->max * 3);
  if(buf_append(&tmp, b->data, i) < 0)
    goto fail;
  while(i < b->len) {
    if(util_utf8_decode((const unsigned char *)b->data + i, b->len - i,
                        &used) >= 0) {
      if(buf_append(&tmp, b->data + i, used) < 0)
        goto fail;
    }
    else if(buf_append(&tmp, "\xEF\xBF\xBD", 3) < 0)
      goto fail;
    i += used;
  }
  buf_free(b);
  *b = tmp;
  return 0;
fail:
  buf_free(&tmp);
  return -1;
}

char *mime_header_decode(const char *in, size_t len, size_t *len_r)
{
  struct buf b;
  size_t n;
  char *s;

  /* worst case: every byte becomes a 3-byte character */
  buf_init(&b, len * 3 + 16);
  if(mime_words_decode(in, len, &b) < 0 || scrub_nul(&b) < 0 ||
     scrub_utf8(&b) < 0 || (b.data == NULL && buf_append(&b, "", 0) < 0)) {
    buf_free(&b);
    return NULL;
  }
  n = b.len;
  s = buf_steal(&b);
  if(s != NULL && len_r != NULL)
    *len_r = n;
  return s;
}

/* ---- parameters (RFC 2045, RFC 2231) ---------------------------------- */

struct rawparam {
  char *name;  /* lower-case base name, no '*' */
  char *value; /* unquoted bytes */
  size_t vlen;
  int section;  /* -1: plain "name=", else the RFC 2231 index */
  int extended; /* value is charset'lang'%xx (first) or %xx encoded */
};

static int is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Split "name", "name*", "name*3", "name*3*" into rp. */
static void param_name(struct rawparam *rp)
{
  char *star = strchr(rp->name, '*');
  char *s;
  long idx = 0;

  rp->section = -1;
  rp->extended = 0;
  if(star == NULL)
    return;
  s = star + 1;
  if(*s == '\0') {
    rp->section = 0;
    rp->extended = 1;
  }
  else {
    while(*s >= '0' && *s <= '9' && idx < 1000)
      idx = idx * 10 + (*s++ - '0');
    if(s == star + 1 || idx >= 1000 || (*s != '\0' && strcmp(s, "*") != 0))
      return; /* not RFC 2231 syntax: keep the name as written */
    rp->section = (int)idx;
    rp->extended = *s == '*';
  }
  *star = '\0';
}

static int pct_decode(const char *s, size_t n, struct buf *b)
{
  size_t i;

  for(i = 0; i < n; i++) {
    char c = s[i];
    if(c == '%' && i + 2 < n) {
      int hi = -1, lo = -1;
      char h = s[i + 1], l = s[i + 2];
      if(h >= '0' && h <= '9')
        hi = h - '0';
      else if(h >= 'a' && h <= 'f')
        hi = h - 'a' + 10;
      else if(h >= 'A' && h <= 'F')
        hi = h - 'A' + 10;
      if(l >= '0' && l <= '9')
        lo = l - '0';
      else if(l >= 'a' && l <= 'f')
        lo = l - 'a' + 10;
      else if(l >= 'A' && l <= 'F')
        lo = l - 'A' + 10;
      if(hi >= 0 && lo >= 0) {
        c = (char)(hi << 4 | lo);
        i += 2;
      }
    }
    if(buf_putc(b, c) < 0)
      return -1;
  }
  return 0;
}

/* Join the RFC 2231 sections of base name `name` (sorted by index) and
 * convert them to UTF-8. */
static char *param_join(struct mime_pool *pool, struct rawparam *rp, size_t nrp,
                        const char *name, size_t cap)
{
  struct buf bytes, utf;
  char charset[WORD_CHARSET_MAX + 1] = "";
  char *res = NULL;
  unsigned flags = 0;
  int want = 0, r;

  buf_init(&bytes, cap);
  buf_init(&utf, cap * 3 + 16);
  /* sections in index order; there are at most MIME_MAX_PARAMS of them, so
   * the quadratic scan is bounded */
  for(want = 0; want < 1000; want++) {
    size_t i;
    int found = 0, more = 0;

    for(i = 0; i < nrp; i++) {
      if(rp[i].section < 0 || strcmp(rp[i].name, name) != 0)
        continue;
      if(rp[i].section > want)
        more = 1;
      if(rp[i].section != want || found)
        continue;
      found = 1;
      if(rp[i].extended) {
        const char *v = rp[i].value;
        size_t vlen = rp[i].vlen;
        if(want == 0) {
          /* charset'language'text; both quotes must be present */
          const char *q1 = memchr(v, '\'', vlen);
          const char *q2 =
              q1 ? memchr(q1 + 1, '\'', vlen - (size_t)(q1 + 1 - v)) : NULL;
          if(q2 != NULL) {
            size_t cn = (size_t)(q1 - v);
            if(cn > WORD_CHARSET_MAX)
              cn = 0;
            memcpy(charset, v, cn);
            charset[cn] = '\0';
            vlen -= (size_t)(q2 + 1 - v);
            v = q2 + 1;
          }
        }
        if(pct_decode(v, vlen, &bytes) < 0)
          goto out;
      }
      else if(buf_append(&bytes, rp[i].value, rp[i].vlen) < 0)
        goto out;
    }
    if(!found && !more)
      break;
  }
  if(bytes.len == 0)
    r = buf_append(&utf, "", 0);
  else {
    r = mime_charset_convert(charset[0] ? charset : NULL, bytes.data, bytes.len,
                             &utf, &flags);
    if(r == 1)
      r = mime_charset_fallback(bytes.data, bytes.len, &utf);
  }
  if(r == 0 && scrub_nul(&utf) == 0)
    res = mime_pool_strndup(pool, utf.data, utf.len);
out:
  buf_free(&bytes);
  buf_free(&utf);
  return res;
}

int mime_params_parse(struct mime_pool *pool, const char *p, const char *end,
                      struct mime_param **params_r, size_t *nparams_r)
{
  struct rawparam rp[MIME_MAX_PARAMS];
  struct mime_param *out;
  size_t nrp = 0, nout = 0, i, j, cap = (size_t)(end - p) + 1;

  *params_r = NULL;
  *nparams_r = 0;
  while(p < end && nrp < MIME_MAX_PARAMS) {
    const char *n0, *n1, *v0, *v1;
    struct rawparam *r = &rp[nrp];

    while(p < end && (is_blank(*p) || *p == ';'))
      p++;
    n0 = p;
    while(p < end && *p != '=' && *p != ';' && !is_blank(*p))
      p++;
    n1 = p;
    while(p < end && is_blank(*p))
      p++;
    if(n0 == n1 || p >= end || *p != '=') {
      while(p < end && *p != ';')
        p++;
      continue;
    }
    p++;
    while(p < end && is_blank(*p))
      p++;
    if(p < end && *p == '"') {
      /* quoted-string: copy with backslash escapes removed */
      char *v = mime_pool_alloc(pool, (size_t)(end - p) + 1);
      size_t vl = 0;
      if(v == NULL)
        return -1;
      for(p++; p < end && *p != '"'; p++) {
        if(*p == '\\' && p + 1 < end)
          p++;
        v[vl++] = *p;
      }
      v[vl] = '\0';
      if(p < end)
        p++;
      while(p < end && *p != ';') /* ignore junk after the quote */
        p++;
      r->value = v;
      r->vlen = vl;
    }
    else {
      v0 = p;
      while(p < end && *p != ';')
        p++;
      v1 = p;
      while(v1 > v0 && is_blank(v1[-1]))
        v1--;
      r->value = mime_pool_strndup(pool, v0, (size_t)(v1 - v0));
      r->vlen = (size_t)(v1 - v0);
      if(r->value == NULL)
        return -1;
    }
    r->name = mime_pool_strndup(pool, n0, (size_t)(n1 - n0));
    if(r->name == NULL)
      return -1;
    for(i = 0; r->name[i] != '\0'; i++)
      r->name[i] = mime_ascii_lower(r->name[i]);
    param_name(r);
    nrp++;
  }
  if(nrp == 0)
    return 0;
  out = mime_pool_alloc(pool, nrp * sizeof(*out));
  if(out == NULL)
    return -1;
  /* one output per distinct base name, in order of first appearance; an
   * RFC 2231 form wins over a plain one */
  for(i = 0; i < nrp; i++) {
    int seen = 0, has2231 = 0;
    for(j = 0; j < nout; j++)
      if(strcmp(out[j].name, rp[i].name) == 0)
        seen = 1;
    if(seen)
      continue;
    for(j = 0; j < nrp; j++)
      if(rp[j].section >= 0 && strcmp(rp[j].name, rp[i].name) == 0)
        has2231 = 1;
    out[nout].name = rp[i].name;
    if(has2231)
      out[nout].value = param_join(pool, rp, nrp, rp[i].name, cap);
    else {
      size_t dl;
      char *d = mime_header_decode(rp[i].value, rp[i].vlen, &dl);
      out[nout].value = d ? mime_pool_strndup(pool, d, dl) : NULL;
      free(d);
    }
    if(out[nout].value == NULL)
      return -1;
    nout++;
  }
  *params_r = out;
  *nparams_r = nout;
  return 0;
}

/* ---- RFC 5322 dates ---------------------------------------------------- */

static const char *skip_cfws(const char *p)
{
  for(;;) {
    while(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
      p++;
    if(*p != '(')
      return p;
    {
      int depth = 0;
      for(; *p != '\0'; p++) {
        if(*p == '\\' && p[1] != '\0')
          p++;
        else if(*p == '(')
          depth++;
        else if(*p == ')' && --depth == 0) {
          p++;
          break;
        }
      }
    }
  }
}

static int read_num(const char **pp, int maxdigits, int *val_r)
{
  const char *p = *pp;
  int v = 0, n = 0;

  while(*p >= '0' && *p <= '9' && n < maxdigits) {
    v = v * 10 + (*p++ - '0');
    n++;
  }
  if(n == 0)
    return -1;
  *pp = p;
  *val_r = v;
  return n;
}

int mime_parse_date(const char *s, int64_t *epoch_r)
{
  static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
  static const struct {
    const char *name;
    int off;
  } zones[] = { { "UT", 0 },     { "UTC", 0 },    { "GMT", 0 },
                { "Z", 0 },      { "EST", -500 }, { "EDT", -400 },
                { "CST", -600 }, { "CDT", -500 }, { "MST", -700 },
                { "MDT", -600 }, { "PST", -800 }, { "PDT", -700 },
                { NULL, 0 } };
  const char *p = skip_cfws(s);
  int day, year, hh, mm, ss = 0, mon = -1, n, i, off = 0;
  int64_t t;

  /* optional day-of-week: letters then ',' */
  if((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
    while((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
      p++;
    p = skip_cfws(p);
    if(*p == ',')
      p = skip_cfws(p + 1);
  }
  if(read_num(&p, 2, &day) < 0 || day < 1 || day > 31)
    return -1;
  p = skip_cfws(p);
  for(i = 0; i < 12; i++)
    if(mime_ascii_ncasecmp(p, months + i * 3, 3) == 0)
      mon = i + 1;
  if(mon < 0)
    return -1;
  while((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
    p++; /* "July" is seen too */
  p = skip_cfws(p);
  if((n = read_num(&p, 4, &year)) < 0)
    return -1;
  if(n == 2)
    year += year < 50 ? 2000 : 1900;
  else if(n == 3)
    year += 1900;
  p = skip_cfws(p);
  if(read_num(&p, 2, &hh) < 0 || hh > 23)
    return -1;
  p = skip_cfws(p);
  if(*p != ':')
    return -1;
  p = skip_cfws(p + 1);
  if(read_num(&p, 2, &mm) < 0 || mm > 59)
    return -1;
  p = skip_cfws(p);
  if(*p == ':') {
    p = skip_cfws(p + 1);
    if(read_num(&p, 2, &ss) < 0 || ss > 60)
      return -1;
    p = skip_cfws(p);
  }
  if(*p == '+' || *p == '-') {
    int z, sign = *p == '-' ? -1 : 1;
    p++;
    if(read_num(&p, 4, &z) != 4 || z % 100 > 59)
      return -1;
    off = sign * z;
  }
  else if(*p != '\0') {
    /* named zone; unknown and military ones count as UTC (RFC 5322 4.3) */
    for(i = 0; zones[i].name != NULL; i++) {
      size_t zl = strlen(zones[i].name);
      if(mime_ascii_ncasecmp(p, zones[i].name, zl) == 0 &&
         !((p[zl] >= 'A' && p[zl] <= 'Z') || (p[zl] >= 'a' && p[zl] <= 'z'))) {
        off = zones[i].off;
        break;
      }
    }
  }
  t = util_days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 +
      hh * 3600 + mm * 60 + ss;
  t -= (int64_t)((off / 100) * 3600 + (off % 100) * 60);
  *epoch_r = t;
  return 0;
}
