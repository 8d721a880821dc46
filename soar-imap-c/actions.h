/*
 * actions: the connector's actions on one asset configuration, each
 * producing the action_result the SOAR platform expects:
 *   {"status", "message", "parameter", "data": [...], "summary": {...}}
 *
 *   test_asset_connectivity   connect, STARTTLS or TLS, LOGIN, EXAMINE
 *   get_email                 by id (IMAP UID FETCH) or container_id (store)
 *
 * Config keys, defaults and messages are the Python app's (see
 * shared/notes/soar-imap-reference.md 1.3), plus "server" as host:port and
 * "ca_file" for extra trust anchors.
 */
#ifndef SOAR_ACTIONS_H
#define SOAR_ACTIONS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "sstore.h"

#define SOAR_ERR_LEN 1024

struct soar_config {
  char host[256];
  uint16_t port;         /* 0: 993 with use_ssl, else 143 */
  const char *auth_type; /* "Basic" or "OAuth" */
  const char *username, *password;
  const char *folder; /* default "inbox" */
  bool use_ssl, verify_server_cert;
  const char *ca_file; /* NULL: system trust store */
  bool extract_attachments, extract_urls, extract_ips, extract_domains,
      extract_hashes;
  int timeout_ms; /* 60 s, as the Python app */
};

/* Read and check the asset config (pointers into cfg).  Returns 0, or -1
 * with the Python app's message in err. */
int soar_config_parse(const cJSON *cfg, struct soar_config *c, char *err,
                      size_t errlen);

/* An action document as the platform sends it ({"identifier", "asset_id",
 * "config", "parameters": [...]}), parsed and checked; nothing is run. */
struct soar_action_doc {
  cJSON *root;            /* the whole document; owns what follows */
  const char *identifier; /* non-empty after success; on failure as
                             found (NULL or "") */
  const char *asset_id;   /* NULL when absent */
  const cJSON *params;    /* the "parameters" array, NULL when absent */
  struct soar_config cfg; /* valid when cfg_ok */
  bool cfg_ok;
  char cfg_err[SOAR_ERR_LEN]; /* why not, the message every run then gets */
};

/* Parse and check the action JSON text[0..len) into *d: an object with a
 * non-empty "identifier" and, if present, a list of "parameters"; then its
 * "config" (soar_config_parse; a bad config is not an error here, every
 * run of the action fails with cfg_err).  Returns 0, or -1 with the
 * message of the failed action result in err ("Invalid action JSON: ...").
 * Either way, free with soar_action_doc_free (identifier may be set even
 * on failure: the app result names it). */
int soar_action_doc_parse(const char *text, size_t len,
                          struct soar_action_doc *d, char *err, size_t errlen);
void soar_action_doc_free(struct soar_action_doc *d);

struct soar_env {
  const char *store_dir; /* the local store */
  const char *asset_id;
};

/* Run action `identifier` with one parameters entry.  Returns the
 * action_result object (never NULL unless memory runs out). */
cJSON *soar_action_run(const char *identifier, const struct soar_config *cfg,
                       const cJSON *param, const struct soar_env *env);

/* An action_result for a failure before any action ran. */
cJSON *soar_result_failed(const cJSON *param, const char *msg);

#endif
