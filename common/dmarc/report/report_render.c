/*
 * Rendering of a DMARC aggregate report: the tree of one finished top-level
 * element of <feedback> (built by report.c) turned into event text.  A
 * record goes to the spool, the header parts into the parser until
 * dmarc_parser_done puts them around the records.
 *
 * Output follows the xmljson "Yahoo" convention the old add-on used: every
 * value a string, an element without text or children is {}, repeated
 * siblings become an array at the place of the first, attributes become
 * keys and text beside children goes under "content".  policy_published and
 * record are lower-cased, keys and values (ASCII), report_metadata is not.
 */
#include "report_private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* Trim ASCII white space, like Python's str.strip() on these reports. */
static void trim(const char **s, size_t *len)
{
  while(*len && dmarc_is_space(**s)) {
    (*s)++;
    (*len)--;
  }
  while(*len && dmarc_is_space((*s)[*len - 1]))
    (*len)--;
}

static int put_str(struct dmarc_parser *p, struct buf *out, const char *s,
                   size_t len, int lower)
{
  (void)p;
  return buf_putc(out, '"') || util_json_escape_case(out, s, len, lower) ||
         buf_putc(out, '"');
}

static int render_value(struct dmarc_parser *p, struct buf *out,
                        const struct node *n, int lower,
                        const struct node *mark, size_t *mark_at);

/* An object member "name": value, or "name": [v, v] for repeated siblings
 * (grouped at the place of the first, as an ordered dict would). */
static int render_members(struct dmarc_parser *p, struct buf *out,
                          const struct node *n, int lower,
                          const struct node *mark, size_t *mark_at, int *first)
{
  for(const struct node *c = n->first; c; c = c->next) {
    const struct node *d;
    int count = 0, dup = 0;

    for(d = n->first; d != c; d = d->next)
      if(!strcmp(d->name, c->name)) {
        dup = 1;
        break;
      }
    if(dup)
      continue;
    for(d = c; d; d = d->next)
      if(!strcmp(d->name, c->name))
        count++;
    if(!*first && buf_puts(out, ", "))
      return -1;
    *first = 0;
    if(put_str(p, out, c->name, strlen(c->name), lower) || buf_puts(out, ": "))
      return -1;
    if(count == 1) {
      if(render_value(p, out, c, lower, mark, mark_at))
        return -1;
      continue;
    }
    if(buf_putc(out, '['))
      return -1;
    for(d = c; d; d = d->next) {
      if(strcmp(d->name, c->name))
        continue;
      if(d != c && buf_puts(out, ", "))
        return -1;
      if(render_value(p, out, d, lower, mark, mark_at))
        return -1;
    }
    if(buf_putc(out, ']'))
      return -1;
  }
  return 0;
}

static int render_value(struct dmarc_parser *p, struct buf *out,
                        const struct node *n, int lower,
                        const struct node *mark, size_t *mark_at)
{
  const char *t = n->text;
  size_t tlen = n->text_len;
  int first = 1;

  trim(&t, &tlen);
  if(!n->first && !n->nattrs)
    return tlen ? put_str(p, out, t, tlen, lower) : buf_puts(out, "{}");
  if(buf_putc(out, '{'))
    return -1;
  for(unsigned i = 0; i < n->nattrs; i++) {
    if(!first && buf_puts(out, ", "))
      return -1;
    first = 0;
    if(put_str(p, out, n->attrs[2 * i], strlen(n->attrs[2 * i]), lower) ||
       buf_puts(out, ": ") ||
       put_str(p, out, n->attrs[2 * i + 1], strlen(n->attrs[2 * i + 1]), lower))
      return -1;
  }
  if(render_members(p, out, n, lower, mark, mark_at, &first))
    return -1;
  if(tlen) {
    if(!first && buf_puts(out, ", "))
      return -1;
    if(buf_puts(out, "\"content\": ") || put_str(p, out, t, tlen, lower))
      return -1;
  }
  if(n == mark)
    *mark_at = out->len;
  return buf_putc(out, '}');
}

static const struct node *child(const struct node *n, const char *name)
{
  for(const struct node *c = n ? n->first : NULL; c; c = c->next)
    if(!strcmp(c->name, name))
      return c;
  return NULL;
}

/* First match of a slash-separated path below n, like ElementTree find(). */
static const struct node *find(const struct node *n, const char *path)
{
  char seg[64];

  while(n && *path) {
    size_t len = strcspn(path, "/");
    if(len >= sizeof(seg))
      return NULL;
    memcpy(seg, path, len);
    seg[len] = '\0';
    n = child(n, seg);
    path += len + (path[len] == '/');
  }
  return n;
}

/* KV line name="value",\n with quotes and backslashes escaped (the old
 * add-on wrote them raw, so a quote in a value broke the event). */
static int kv_line(struct dmarc_parser *p, struct buf *out, const char *key,
                   const struct node *n, int lower)
{
  const char *t;
  size_t tlen;

  if(!n)
    return 0;
  /* An element with children stands for its first child's text (reason
   * holds type and comment; type is the useful part). */
  while(n->first && !n->nattrs)
    n = n->first;
  t = n->text;
  tlen = n->text_len;
  trim(&t, &tlen);
  if(buf_puts(out, key) || buf_puts(out, "=\""))
    return -1;
  for(size_t i = 0; i < tlen; i++) {
    char c = lower ? (char)tolower((unsigned char)t[i]) : t[i];
    if(c == '\n' || c == '\r')
      c = ' ';
    if((c == '"' || c == '\\') && buf_putc(out, '\\'))
      return -1;
    if(buf_putc(out, c))
      return -1;
  }
  return buf_puts(out, "\",\n");
}

static int kv_paths(struct dmarc_parser *p, struct buf *out,
                    const struct node *n, const char *prefix,
                    const char *const *paths, int lower)
{
  char key[128];

  for(; *paths; paths++) {
    const char *k;
    snprintf(key, sizeof(key), "%s_%s", prefix, *paths);
    for(char *c = key; *c; c++)
      if(*c == '/')
        *c = '_';
    k = key;
    if(kv_line(p, out, k, find(n, *paths), lower))
      return -1;
  }
  return 0;
}

static int64_t parse_time(const struct node *n)
{
  const char *t;
  size_t tlen;
  char num[32];
  uint64_t v;

  if(!n || n->first)
    return -1;
  t = n->text;
  tlen = n->text_len;
  trim(&t, &tlen);
  /* Accept "1538463818" and "1538463818.0"; the value itself is kept as
   * written in the event, this is only the event's time stamp. */
  size_t digits = strspn(t, "0123456789");
  if(!digits || digits >= sizeof(num) || (digits < tlen && t[digits] != '.'))
    return -1;
  memcpy(num, t, digits);
  num[digits] = '\0';
  if(util_parse_u64(num, 0, 253402300799ULL, &v)) /* up to year 9999 */
    return -1;
  return (int64_t)v;
}

static char *node_text_dup(const struct node *n)
{
  const char *t;
  size_t tlen;
  char *s;

  if(!n || n->first)
    return strdup("");
  t = n->text;
  tlen = n->text_len;
  trim(&t, &tlen);
  s = malloc(tlen + 1);
  if(s) {
    memcpy(s, t, tlen);
    s[tlen] = '\0';
  }
  return s;
}

static const char *const meta_kv_paths[] = { "org_name",
                                             "email",
                                             "extra_contact_info",
                                             "report_id",
                                             "date_range/begin",
                                             "date_range/end",
                                             NULL };
static const char *const policy_kv_paths[] = { "domain", "adkim", "aspf", "p",
                                               "sp",     "pct",   "fo",   "np",
                                               "rf",     "ri",    "rua",  "ruf",
                                               "ro",     NULL };

/* "{"name": value}" for a header part, appended to out. */
static int render_item(struct dmarc_parser *p, struct buf *out,
                       const struct node *n, int lower)
{
  return buf_putc(out, '{') ||
         put_str(p, out, n->name, strlen(n->name), lower) ||
         buf_puts(out, ": ") || render_value(p, out, n, lower, NULL, NULL) ||
         buf_putc(out, '}');
}

static int finish_record(struct dmarc_parser *p, const struct node *rec)
{
  const struct node *row = child(rec, "row");
  const struct node *ipn = find(rec, "row/source_ip");
  size_t insert_at;
  char ip[64] = "";

  /* Only a record with one row can carry ip_resolution. */
  if(ipn && !ipn->first && !(row->next && child(rec, "row") != row)) {
    const char *t = ipn->text;
    size_t tlen = ipn->text_len;
    trim(&t, &tlen);
    if(tlen && tlen < sizeof(ip)) {
      for(size_t i = 0; i < tlen; i++)
        ip[i] = (char)tolower((unsigned char)t[i]);
      ip[tlen] = '\0';
    }
  }
  buf_reset(&p->frag);
  if(p->fmt == DMARC_FORMAT_JSON) {
    insert_at = (size_t)-1;
    if(render_value(p, &p->frag, rec, 1, *ip ? row : NULL, &insert_at))
      return -1;
    if(insert_at == (size_t)-1)
      insert_at = p->frag.len;
  }
  else {
    static const char *const row_paths[] = { "count",
                                             "policy_evaluated/disposition",
                                             "policy_evaluated/dkim",
                                             "policy_evaluated/spf",
                                             "policy_evaluated/reason",
                                             NULL };
    static const char *const id_paths[] = { "header_from", "envelope_from",
                                            "envelope_to", NULL };
    const struct node *ar = child(rec, "auth_results");

    if(kv_line(p, &p->frag, "row_source_ip", ipn, 1))
      return -1;
    insert_at = p->frag.len;
    if(kv_paths(p, &p->frag, row, "row", row_paths, 1) ||
       kv_paths(p, &p->frag, child(rec, "identifiers"), "identifiers", id_paths,
                1))
      return -1;
    /* Every DKIM and SPF result, not only the first: each repeats the
     * same keys, which Splunk's KV extraction turns into multi-values. */
    for(const struct node *c = ar ? ar->first : NULL; c; c = c->next) {
      static const char *const dkim_paths[] = { "domain", "selector", "result",
                                                "human_result", NULL };
      static const char *const spf_paths[] = { "domain", "scope", "result",
                                               "human_result", NULL };
      if(!strcmp(c->name, "dkim") &&
         kv_paths(p, &p->frag, c, "auth_result_dkim", dkim_paths, 1))
        return -1;
      if(!strcmp(c->name, "spf") &&
         kv_paths(p, &p->frag, c, "auth_result_spf", spf_paths, 1))
        return -1;
    }
  }
  if(dmarc_spool_add(p->spool, p->frag.data ? p->frag.data : "", p->frag.len,
                     insert_at, ip))
    return -1;
  if(*ip && buf_append(&p->ips, ip, strlen(ip) + 1))
    buf_reset(&p->ips); /* only an optimisation: resolve at emit time */
  return 0;
}

int dmarc_finish_part(struct dmarc_parser *p, const struct node *n)
{
  int rc = 0;

  switch(p->part) {
  case PART_RECORD: rc = finish_record(p, n); break;
  case PART_METADATA:
    if(p->have_meta)
      break; /* a second one would be ambiguous: the first wins */
    p->have_meta = 1;
    p->time = parse_time(find(n, "date_range/end"));
    p->org = node_text_dup(child(n, "org_name"));
    p->report_id = node_text_dup(child(n, "report_id"));
    p->begin = node_text_dup(find(n, "date_range/begin"));
    p->end = node_text_dup(find(n, "date_range/end"));
    rc = !p->org || !p->report_id || !p->begin || !p->end;
    if(!rc)
      rc = p->fmt == DMARC_FORMAT_JSON
               ? render_item(p, &p->meta, n, 0)
               : kv_paths(p, &p->meta_kv, n, "rpt_metadata", meta_kv_paths, 0);
    break;
  case PART_POLICY:
    if(p->have_policy)
      break;
    p->have_policy = 1;
    p->domain = node_text_dup(child(n, "domain"));
    if(!p->domain) {
      rc = 1;
      break;
    }
    rc = p->fmt == DMARC_FORMAT_JSON
             ? render_item(p, &p->policy, n, 1)
             : kv_paths(p, &p->policy_kv, n, "policy_published",
                        policy_kv_paths, 1);
    break;
  case PART_VERSION:
    if(p->have_version || p->fmt != DMARC_FORMAT_JSON)
      break;
    p->have_version = 1;
    rc = render_item(p, &p->version, n, 0);
    break;
  case PART_OTHER:
    /* Unknown top-level elements (RFC 9990 <extension>, vendor additions)
     * are kept, after version and before the record. */
    if(p->fmt == DMARC_FORMAT_JSON)
      rc = buf_puts(&p->extras, ", ") || render_item(p, &p->extras, n, 0);
    break;
  case PART_NONE: break;
  }
  return rc ? -1 : 0;
}
