/*
 * mailbox_auth: the two hooks of struct mailbox_opts that need more than
 * the mailbox module itself, kept apart so mailbox.c stays protocol work
 * only:
 *  - an XOAUTH2 token source on top of common/oauth (dmarc_imap_oauth2):
 *    the settings are collected from the command line or the stanza,
 *    checked, and turned into one struct oauth_config;
 *  - DKIM verification of a whole report mail on top of common/dkim, whose
 *    result is the JSON array that becomes vendor_rua_mail.dkim.
 */
#ifndef TA_MAILBOX_AUTH_H
#define TA_MAILBOX_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "mailbox.h"
#include "oauth/oauth.h"

/* Name of the token cache in the checkpoint directory when none is given:
 * "oauth2-token-<16 hex digits>.json", the digits a hash of the grant, the
 * endpoint, the client id and the scope, so inputs of one scheme sharing
 * Splunk's checkpoint directory never take each other's tokens. */
#define MAILBOX_OAUTH_CACHE_PREFIX "oauth2-token-"

/* What dmarc_imap_oauth2 is told.  Strings are borrowed (argv or the
 * stanza) except the secrets, which are read from files (CLI) or copied
 * (stanza), owned, and wiped on free. */
struct mailbox_oauth {
  const char *client_id;
  const char *client_secret_file;  /* CLI: the secret is read from here */
  const char *refresh_token_file;  /* CLI: the refresh token, likewise */
  const char *token_url;           /* refresh grant (Gmail style), or a
                                      client-credentials endpoint */
  const char *authority;           /* M365: https://login.../<tenant> */
  const char *scope;               /* NULL: oauth.h's default per grant */
  const char *token_cache;         /* NULL: see MAILBOX_OAUTH_CACHE_PREFIX */
  const char *ca_file;             /* extra trust anchors for the endpoint */
  char *client_secret;             /* owned */
  char *refresh_token;             /* owned */
  char *cache_path;                /* owned, derived */
  struct oauth_config cfg;         /* filled by mailbox_oauth_prepare */
};

/* Read the secret files named in o (if any), check that the settings make
 * one complete grant (a refresh token, or a client secret with an
 * authority or token URL), that the endpoint URL is acceptable, and fill
 * o->cfg; the cache goes to o->token_cache, else into checkpoint_dir
 * (NULL: no cache).  Returns 0, or -1 with the reason in err (never a
 * secret). */
int mailbox_oauth_prepare(struct mailbox_oauth *o, const char *checkpoint_dir,
                          char *err, size_t errlen);

/* Only the checks of mailbox_oauth_prepare that need no file (for
 * --validate-arguments): 0 or -1 with the reason in err. */
int mailbox_oauth_check(const struct mailbox_oauth *o, char *err,
                        size_t errlen);

/* The token source: ud is a prepared struct mailbox_oauth. */
mailbox_token_fn mailbox_oauth_token;

/* Wipe and free what o owns. */
void mailbox_oauth_free(struct mailbox_oauth *o);

/* DKIM verification state: one verifier, made on first use so a run that
 * finds no candidate message never opens a resolver. */
struct mailbox_dkim {
  const char *dns_server;        /* "IP[:PORT]", NULL: the system resolver */
  int timeout_ms;                /* per key lookup; 0: the dkim default */
  struct dkim_verifier *v;
  bool broken;                   /* the verifier could not be made: say so
                                    once, then verify nothing */
};

/* Check that dns_server is usable (makes and frees a verifier): 0, or -1
 * with the reason in err. */
int mailbox_dkim_check(const struct mailbox_dkim *d, char *err,
                       size_t errlen);

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
