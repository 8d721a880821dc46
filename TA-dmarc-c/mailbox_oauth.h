/*
 * mailbox_oauth: the XOAUTH2 token source of dmarc_imap_oauth2 (a
 * mailbox_token_fn, see mailbox.h) on top of common/mail/oauth: the settings
 * are collected from the command line or the stanza, checked, and turned
 * into one struct oauth_config.
 */
#ifndef TA_MAILBOX_OAUTH_H
#define TA_MAILBOX_OAUTH_H

#include <stddef.h>

#include "mailbox.h"
#include "oauth.h"

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
  const char *client_secret_file; /* CLI: the secret is read from here */
  const char *refresh_token_file; /* CLI: the refresh token, likewise */
  const char *token_url;          /* refresh grant (Gmail style), or a
                                     client-credentials endpoint */
  const char *authority;          /* M365: https://login.../<tenant> */
  const char *scope;              /* NULL: oauth.h's default per grant */
  const char *token_cache;        /* NULL: see MAILBOX_OAUTH_CACHE_PREFIX */
  const char *ca_file;            /* extra trust anchors for the endpoint */
  char *client_secret;            /* owned */
  char *refresh_token;            /* owned */
  char *cache_path;               /* owned, derived */
  struct oauth_config cfg;        /* filled by mailbox_oauth_prepare */
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

#endif
