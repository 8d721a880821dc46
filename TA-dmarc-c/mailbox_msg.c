/*
 * mailbox_msg: what the IMAP and POP3 runs both do with a message or a
 * part (see mailbox_private.h): its leaves are ingested with the mail's
 * identity and headers attached to every event (vendor_rua_mail), its
 * outcome is accounted, and the events are flushed before any checkpoint
 * names it.  The protocol files call down into this one, never the other
 * way round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox_private.h"
#include "mailbox_dkim.h"

#include "pool.h"
#include "mime.h"
#include "log.h"
#include "util.h"

/* Header values copied into vendor_rua_mail. */
#define META_MAX 998

/* ------------------------------------------------------------ messages */

static void json_str(struct buf *b, const char *k, const char *v)
{
  buf_puts(b, ", \"");
  buf_puts(b, k);
  buf_puts(b, "\": \"");
  if(v)
    util_json_escape(b, v, strlen(v));
  buf_putc(b, '"');
}

static void kv_str(struct buf *b, const char *k, const char *v)
{
  buf_puts(b, "vendor_rua_mail_");
  buf_puts(b, k);
  buf_puts(b, "=\"");
  for(const char *p = v ? v : ""; *p; p++) {
    if(*p == '"' || *p == '\\')
      buf_putc(b, '\\');
    buf_putc(b, *p == '\n' || *p == '\r' ? ' ' : *p);
  }
  buf_puts(b, "\"\n");
}

static void build_extras(const struct mb *mb, const struct meta *mt,
                         struct buf *js, struct buf *kv)
{
  char num[32];

  buf_puts(js, "\"vendor_rua_mail\": {\"protocol\": ");
  buf_puts(js, mb->o->proto == MAILBOX_IMAP ? "\"imap\"" : "\"pop3\"");
  json_str(js, "server", mb->o->server);
  kv_str(kv, "server", mb->o->server);
  if(mb->o->proto == MAILBOX_IMAP) {
    json_str(js, "folder", mt->folder);
    buf_printf(js, ", \"uidvalidity\": %u, \"uid\": %u", mt->uidvalidity,
               mt->uid);
    kv_str(kv, "folder", mt->folder);
    snprintf(num, sizeof(num), "%u", mt->uidvalidity);
    kv_str(kv, "uidvalidity", num);
    snprintf(num, sizeof(num), "%u", mt->uid);
    kv_str(kv, "uid", num);
  }
  else {
    json_str(js, "uidl", mt->uidl);
    kv_str(kv, "uidl", mt->uidl);
  }
  json_str(js, "from", mt->from);
  json_str(js, "subject", mt->subject);
  json_str(js, "message_id", mt->msgid);
  json_str(js, "date", mt->date);
  kv_str(kv, "from", mt->from);
  kv_str(kv, "subject", mt->subject);
  kv_str(kv, "message_id", mt->msgid);
  kv_str(kv, "date", mt->date);
  if(mt->part) {
    json_str(js, "part", mt->part);
    kv_str(kv, "part", mt->part);
  }
  if(mt->dkim_json) {
    buf_puts(js, ", \"dkim\": ");
    buf_puts(js, mt->dkim_json);
    mailbox_dkim_kv(kv, mt->dkim_json);
  }
  buf_putc(js, '}');
}

/* What ingesting one leaf gave, into the message's outcome. */
static void note_result(struct outcome *oc, const char *name,
                        const struct dmarc_ingest_result *res)
{
  oc->reports += res->reports;
  oc->duplicates += res->duplicates;
  oc->events += res->events;
  switch(res->status) {
  case INGEST_OK:
    if(res->skipped_leaves)
      log_info("%s: %s", name, res->reason);
    break;
  case INGEST_NOT_REPORT:
    log_debug("%s: not a report: %s", name, res->reason);
    break;
  case INGEST_REJECTED:
    oc->rejected++;
    if(!*oc->note)
      snprintf(oc->note, sizeof(oc->note), "%s: %s", name, res->reason);
    break;
  case INGEST_TRANSIENT:
    oc->transient = true;
    snprintf(oc->note, sizeof(oc->note), "%s: %s", name, res->reason);
    break;
  }
}

static void pool_done(void *ud, const char *name,
                      const struct dmarc_ingest_result *res)
{
  note_result(ud, name, res);
}

/* Wait until every leaf handed to the ingest threads is written out and
 * noted in its message's outcome: before anything is checkpointed, and
 * before the outcomes (the batch) are freed. */
void mb_ingest_wait(struct mb *mb)
{
  if(mb->pool && dmarc_pool_drain(mb->pool, true))
    mb->fatal = true;
}

/* Ingest one decoded leaf, d->data taken over (freed, or handed to the
 * pool, which frees it). */
static void ingest_leaf(struct mb *mb, struct mime_data *d, const char *name,
                        const struct meta *mt, struct outcome *oc)
{
  struct dmarc_source_info info;
  struct dmarc_ingest_result res;
  struct input_sink sink = { mb->w, 0 };
  struct buf js, kv;

  if(!d->len) {
    mime_data_free(d);
    return;
  }
  buf_init(&js, 256 * 1024);
  buf_init(&kv, 256 * 1024);
  build_extras(mb, mt, &js, &kv);
  memset(&info, 0, sizeof(info));
  info.extra_json = js.data;
  info.extra_kv = kv.data;
  info.seen = mb_seen_cb;
  info.emitted = mb_emitted_cb;
  info.ud = &mb->seen;
  oc->parts++;
  if(mb->pool) {
    char *data = d->data;
    d->data = NULL;
    if(dmarc_pool_submit(mb->pool, data, d->len, name, &info, pool_done, oc)) {
      oc->transient = true;
      snprintf(oc->note, sizeof(oc->note), "%s: %s", name,
               "out of memory, or writing the events failed");
    }
  }
  else {
    dmarc_ingest_mem(mb->in, d->data, d->len, name, &info, input_sink_event,
                     &sink, &res);
    note_result(oc, name, &res);
  }
  mime_data_free(d);
  buf_free(&js);
  buf_free(&kv);
}

/* Keep a part's name usable in events and logs: the file name the sender
 * gave, else where it was in the mail. */
void mb_part_name(char *out, size_t outlen, const char *filename,
                  const char *fallback)
{
  size_t k = 0;

  if(!filename || !*filename) {
    snprintf(out, outlen, "%s", fallback);
    return;
  }
  for(const char *p = filename; *p && k + 1 < outlen; p++)
    out[k++] = (unsigned char)*p < 0x20 ? '_' : *p;
  out[k] = '\0';
}

/* Every leaf of a parsed message (or of one fetched part) to ingest. */
void mb_ingest_mime(struct mb *mb, const struct mime_message *msg,
                    const char *base, const struct meta *mt, struct outcome *oc)
{
  for(const struct mime_part *p = mime_message_root(msg); p;
      p = mime_part_next(p)) {
    struct mime_data d;
    char name[300], fb[300];

    if(!mime_part_is_leaf(p) || !p->body_len)
      continue;
    if(mime_part_decode(msg, p, &d)) {
      oc->transient = true;
      snprintf(oc->note, sizeof(oc->note), "out of memory");
      return;
    }
    snprintf(fb, sizeof(fb), "%s.%u", base, p->index);
    mb_part_name(name, sizeof(name), p->filename, p->index ? fb : base);
    if(d.flags & MIME_DATA_TRUNCATED)
      log_warn("%s: part larger than the decoding limit, its end was cut",
               name);
    ingest_leaf(mb, &d, name, mt, oc);
    if(oc->transient)
      return;
  }
}

static char *hdr_copy(const struct mime_part *root, const char *name)
{
  const char *v = mime_header_get(root, name);
  size_t n;
  char *s;

  if(!v)
    return NULL;
  n = strlen(v);
  if(n > META_MAX)
    n = META_MAX;
  s = malloc(n + 1);
  if(s) {
    memcpy(s, v, n);
    s[n] = '\0';
  }
  return s;
}

void mb_headers_free(struct headers *h)
{
  free(h->from);
  free(h->subject);
  free(h->msgid);
  free(h->date);
  memset(h, 0, sizeof(*h));
}

void mb_headers_take(struct headers *h, const struct mime_part *root)
{
  mb_headers_free(h);
  h->from = hdr_copy(root, "From");
  h->subject = hdr_copy(root, "Subject");
  h->msgid = hdr_copy(root, "Message-ID");
  h->date = hdr_copy(root, "Date");
}

/* A whole message (POP3, or IMAP with DKIM): DKIM, then every leaf. */
void mb_ingest_whole(struct mb *mb, const void *data, size_t len,
                     struct meta *mt, const char *base, struct outcome *oc)
{
  struct mime_message *msg = NULL;
  struct headers h = { 0 };
  struct buf dk;

  buf_init(&dk, 64 * 1024);
  if(mb->o->dkim && mb->o->dkim(mb->o->dkim_ud, data, len, &dk) == 0)
    mt->dkim_json = dk.data;
  if(mime_parse(data, len, NULL, &msg, NULL)) {
    oc->transient = true;
    snprintf(oc->note, sizeof(oc->note), "out of memory parsing the mail");
    buf_free(&dk);
    return;
  }
  mb_headers_take(&h, mime_message_root(msg));
  mt->from = h.from;
  mt->subject = h.subject;
  mt->msgid = h.msgid;
  mt->date = h.date;
  mb_ingest_mime(mb, msg, base, mt, oc);
  mime_message_free(&msg);
  mb_headers_free(&h);
  buf_free(&dk);
  mt->dkim_json = NULL;
  mt->from = mt->subject = mt->msgid = mt->date = NULL;
}

void mb_account(struct mb *mb, const char *what, const char *subject,
                const struct outcome *oc)
{
  mb->t.reports += oc->reports;
  mb->t.duplicates += oc->duplicates;
  mb->t.events += oc->events;
  if(oc->reports || oc->duplicates) {
    mb->t.with_reports++;
    log_info("%s \"%s\": %u report(s), %llu event(s), %u already ingested",
             what, subject ? subject : "", oc->reports,
             (unsigned long long)oc->events, oc->duplicates);
  }
  if(oc->rejected) {
    mb->t.rejected++;
    log_warn("%s \"%s\": rejected: %s", what, subject ? subject : "", oc->note);
  }
  else if(!oc->reports && !oc->duplicates) {
    mb->t.not_report++;
    log_debug("%s \"%s\": no report in it", what, subject ? subject : "");
  }
}

/* Flush the events: nothing is checkpointed unless this worked. */
int mb_flush_events(struct mb *mb)
{
  mb_ingest_wait(mb);
  if(mb->fatal && mb->pool) {
    log_error("writing events failed; nothing more is checkpointed");
    return -1;
  }
  if(splunk_writer_flush(mb->w)) {
    log_error("writing events failed; nothing more is checkpointed");
    mb->fatal = true;
    return -1;
  }
  return 0;
}

void mb_conn_opts(const struct mailbox_opts *o, uint16_t tls_port,
                  uint16_t starttls_port, struct conn_opts *c)
{
  c->host = o->server;
  c->port = o->port                           ? o->port
            : o->security == MAILBOX_STARTTLS ? starttls_port
                                              : tls_port;
  c->ca_file = o->ca_file;
  c->connect_timeout_ms = o->timeout_ms;
  c->io_timeout_ms = o->timeout_ms;
}

const char *mb_tls_hint(const char *err)
{
  return strstr(err, "certificate")
             ? " (if the server uses a private CA, "
               "give its certificate with ca_file / --ca-file)"
             : "";
}

void mb_log_totals(const struct mb *mb, const char *where)
{
  log_info("%s: %u new message(s): %u done, %u with reports (%u "
           "report(s), %llu event(s)), %u report(s) already ingested, "
           "%u without report, %u rejected, %u too large; fetched %llu "
           "bytes in %lld ms",
           where, mb->t.fresh, mb->t.done, mb->t.with_reports, mb->t.reports,
           (unsigned long long)mb->t.events, mb->t.duplicates, mb->t.not_report,
           mb->t.rejected, mb->t.too_large,
           (unsigned long long)mb->t.fetched_bytes,
           (long long)(util_now_ms() - mb->start));
}
