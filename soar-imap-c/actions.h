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
  uint16_t port;             /* 0: 993 with use_ssl, else 143 */
  const char *auth_type;     /* "Basic" or "OAuth" */
  const char *username, *password;
  const char *folder;        /* default "inbox" */
  bool use_ssl, verify_server_cert;
  const char *ca_file;       /* NULL: system trust store */
  bool extract_attachments, extract_urls, extract_ips, extract_domains,
       extract_hashes;
  int timeout_ms;            /* 60 s, as the Python app */
};

/* Read and check the asset config (pointers into cfg).  Returns 0, or -1
 * with the Python app's message in err. */
int soar_config_parse(const cJSON *cfg, struct soar_config *c, char *err,
                      size_t errlen);

struct soar_env {
  const char *store_dir;     /* the local store */
  const char *asset_id;
};

/* Run action `identifier` with one parameters entry.  Returns the
 * action_result object (never NULL unless memory runs out). */
cJSON *soar_action_run(const char *identifier, const struct soar_config *cfg,
                       const cJSON *param, const struct soar_env *env);

/* An action_result for a failure before any action ran. */
cJSON *soar_result_failed(const cJSON *param, const char *msg);

#endif
