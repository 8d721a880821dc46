/*
 * mailbox_dkim: DKIM verification of the report mails (see
 * mailbox_dkim.h).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mailbox_dkim.h"

#include "dkim.h"
#include "buf.h"
#include "log.h"
#include "util.h"

/* The one place a verifier is made: from the ingest options' DNS server.
 * Returns it, or NULL with the reason in err. */
static struct dkim_verifier *verifier_new(const struct mailbox_dkim *d,
                                          char *err, size_t errlen)
{
  return dkim_verifier_new(d->dns ? d->dns->dns_server : NULL, d->timeout_ms,
                           err, errlen);
}

int mailbox_dkim_check(const struct mailbox_dkim *d, char *err, size_t errlen)
{
  char derr[300];
  struct dkim_verifier *v = verifier_new(d, derr, sizeof(derr));

  if(!v) {
    snprintf(err, errlen, "DKIM verification: %s", derr);
    return -1;
  }
  dkim_verifier_free(v);
  return 0;
}

static int json_member(struct buf *b, const char *sep, const char *k,
                       const char *v)
{
  return (buf_printf(b, "%s\"%s\": \"", sep, k) |
          util_json_escape(b, v, strlen(v)) | buf_putc(b, '"'))
             ? -1
             : 0;
}

int mailbox_dkim_verify(void *ud, const void *msg, size_t len, struct buf *json)
{
  struct mailbox_dkim *d = ud;
  struct dkim_result *r = NULL;
  size_t n = 0;
  char err[300];
  int bad;

  if(d->broken)
    return -1;
  if(!d->v) {
    d->v = verifier_new(d, err, sizeof(err));
    if(!d->v) {
      log_error("DKIM verification off for this run: %s", err);
      d->broken = true;
      return -1;
    }
  }
  if(dkim_verify_message(d->v, msg, len, &r, &n, err, sizeof(err))) {
    log_warn("DKIM verification of a %zu-byte mail failed: %s", len, err);
    return -1;
  }
  /* a failed append (json's ceiling) makes the whole value unusable */
  bad = buf_putc(json, '[');
  for(size_t i = 0; i < n; i++) {
    bad |= buf_puts(json, i ? ", " : "");
    bad |= json_member(json, "{", "domain", r[i].domain);
    bad |= json_member(json, ", ", "selector", r[i].selector);
    bad |= json_member(json, ", ", "result", r[i].result);
    if(*r[i].reason)
      bad |= json_member(json, ", ", "reason", r[i].reason);
    bad |= buf_putc(json, '}');
  }
  bad |= buf_putc(json, ']');
  dkim_results_free(r, n);
  return bad ? -1 : 0;
}

/* One KV line, quoted the way mailbox_msg.c quotes its vendor_rua_mail_
 * ones. */
static void kv_line(struct buf *kv, const char *k, const char *v)
{
  buf_printf(kv, "vendor_rua_mail_dkim_%s=\"", k);
  for(const char *p = v ? v : ""; *p; p++) {
    if(*p == '"' || *p == '\\')
      buf_putc(kv, '\\');
    buf_putc(kv, *p == '\n' || *p == '\r' ? ' ' : *p);
  }
  buf_puts(kv, "\"\n");
}

void mailbox_dkim_kv(struct buf *kv, const char *dkim_json)
{
  cJSON *a = cJSON_Parse(dkim_json), *e;

  if(!cJSON_IsArray(a)) {
    cJSON_Delete(a);
    return;
  }
  if(!cJSON_GetArraySize(a))
    kv_line(kv, "result", "none");
  cJSON_ArrayForEach(e, a)
  {
    static const char *const keys[] = { "domain", "selector", "result" };
    for(unsigned i = 0; i < 3; i++)
      kv_line(
          kv, keys[i],
          cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, keys[i])));
  }
  cJSON_Delete(a);
}

void mailbox_dkim_free(struct mailbox_dkim *d)
{
  dkim_verifier_free(d->v);
  d->v = NULL;
}
