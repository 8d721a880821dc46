/*
 * mailbox_dkim: DKIM verification of a whole report mail (a
 * mailbox_dkim_fn, see mailbox.h) on top of common/dmarc/dkim; its result is
 * the JSON array that becomes vendor_rua_mail.dkim.  Keys are looked up through
 * the DNS server the ingest options name (struct dmarc_ingest_opts.dns_server,
 * the one owner of that setting).
 */
#ifndef TA_MAILBOX_DKIM_H
#define TA_MAILBOX_DKIM_H

#include <stdbool.h>
#include <stddef.h>

#include "mailbox.h"

/* DKIM verification state: one verifier, made on first use so a run that
 * finds no candidate message never opens a resolver. */
struct mailbox_dkim {
  const struct dmarc_ingest_opts *dns; /* its dns_server: "IP[:PORT]",
                                          NULL: the system resolver */
  int timeout_ms;                      /* per key lookup; 0: the dkim default */
  struct dkim_verifier *v;
  bool broken; /* the verifier could not be made: say so
                  once, then verify nothing */
};

/* Check that the DNS server is usable (makes and frees a verifier): 0, or
 * -1 with the reason in err. */
int mailbox_dkim_check(const struct mailbox_dkim *d, char *err, size_t errlen);

/* The DKIM hook: ud is a struct mailbox_dkim.  Appends
 * [{"domain": D, "selector": S, "result": R[, "reason": T]}, ...] ("[]" for
 * a mail without signatures) to json; -1 when nothing could be verified
 * (logged). */
mailbox_dkim_fn mailbox_dkim_verify;

/* The legacy KV form of a vendor_rua_mail.dkim value made by
 * mailbox_dkim_verify: per signature, in order, the lines
 * vendor_rua_mail_dkim_domain="D", _selector="S", _result="R" (Splunk turns
 * repeated keys into multi-value fields); for a mail without signatures one
 * line vendor_rua_mail_dkim_result="none".  Appended to kv. */
void mailbox_dkim_kv(struct buf *kv, const char *dkim_json);

void mailbox_dkim_free(struct mailbox_dkim *d);

#endif
