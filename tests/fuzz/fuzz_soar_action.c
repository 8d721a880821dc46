/*
 * fuzz_soar_action: the two things soar-imap-c reads from outside, without
 * network or disk.
 *
 * Mode (byte 0 % 2):
 *   0  the action JSON: soar_action_doc_parse (JSON, identifier,
 *      parameters, config validation), then every parameters entry run
 *      through soar_action_run, as soar_imap does, with two changes that
 *      keep it offline: the config's auth_type is forced to "OAuth", which
 *      open_folder refuses before connecting, and the store is a path that
 *      cannot be created (/dev/null/...).  That covers the parameter
 *      parsing of get_email (id, container_id, folder, ingest_email) and
 *      the results.  Each result is printed with pyjson_dump, which must
 *      give ASCII only (ensure_ascii) and parse back.
 *   1  an email: soar_email_process (the "soar_imap parse" path: MIME,
 *      bodies, IOCs, Email Artifacts, attachments hashed, nothing written)
 *      with limits from byte 1, then soar_container_write into memory,
 *      which must be one JSON object with the artifacts and the name; and
 *      soar_email_headers.
 *   byte 1 (mode 1): bits 0-2 max_depth 1 + n, bits 3-5 max_parts 4 << n,
 *      bit 6 max_attachments 2, bit 7 extract flags off (all but urls)
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "container.h"
#include "pyjson.h"
#include "buf.h"
#include "log.h"
#include "fuzz_common.h"

#define MAX_RUNS 8 /* parameters entries run per document */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  /* Every failed action logs an ERROR line; the text is in the result. */
  log_set_level((enum log_level)(LOG_ERROR + 1));
  return 0;
}

static void check_dump(const cJSON *j)
{
  struct buf b;

  buf_init(&b, 16u << 20);
  if(pyjson_dump(&b, j, true) == 0) {
    for(size_t i = 0; i < b.len; i++)
      FUZZ_CHECK((unsigned char)b.data[i] < 0x80);
    cJSON *back = cJSON_ParseWithLength(b.data, b.len);
    FUZZ_CHECK(back != NULL);
    cJSON_Delete(back);
  }
  buf_free(&b);
}

static void action(const uint8_t *data, size_t size)
{
  struct soar_action_doc doc;
  char err[SOAR_ERR_LEN];
  const struct soar_env env = { "/dev/null/fuzz-store", "1" };

  err[0] = '\0';
  if(soar_action_doc_parse((const char *)data, size, &doc, err, sizeof(err)) <
     0) {
    FUZZ_CHECK(strncmp(err, "Invalid action JSON: ", 21) == 0);
    soar_action_doc_free(&doc);
    return;
  }
  FUZZ_CHECK(doc.identifier && *doc.identifier);
  FUZZ_CHECK(doc.cfg_ok || doc.cfg_err[0]);
  if(doc.cfg_ok) {
    struct soar_config cfg = doc.cfg;
    const cJSON *p;
    int runs = 0;

    FUZZ_CHECK(cfg.host[0] && memchr(cfg.host, '\0', sizeof(cfg.host)));
    FUZZ_CHECK(cfg.username && cfg.folder);
    cfg.auth_type = "OAuth"; /* never connect */
    cJSON_ArrayForEach(p, doc.params)
    {
      if(!cJSON_IsObject(p) || ++runs > MAX_RUNS)
        continue;
      cJSON *r = soar_action_run(doc.identifier, &cfg, p, &env);
      if(!r)
        continue;
      /* Offline every action fails: a success would mean a connection
       * or a store was used. */
      const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(r, "status"));
      FUZZ_CHECK(st && !strcmp(st, "failed"));
      FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItem(r, "message")));
      check_dump(r);
      cJSON_Delete(r);
    }
  }
  else {
    cJSON *r =
        soar_result_failed(doc.params ? doc.params->child : NULL, doc.cfg_err);
    if(r) {
      check_dump(r);
      cJSON_Delete(r);
    }
  }
  soar_action_doc_free(&doc);
}

static void email(const uint8_t *data, size_t size)
{
  struct soar_email_opts o;
  struct soar_container c;
  char err[SOAR_ERR_LEN];
  char *out = NULL;
  size_t outlen = 0;
  FILE *f;

  if(size < 1)
    return;
  soar_email_opts_default(&o);
  o.folder = "inbox";
  o.uid = "42";
  o.container_id = 7;
  o.limits.max_depth = 1 + (data[0] & 7);
  o.limits.max_parts = 4u << ((data[0] >> 3) & 7);
  o.limits.max_decoded_bytes = 1u << 20;
  o.max_attachments = (data[0] & 0x40) ? 2 : 0;
  if(data[0] & 0x80)
    o.extract_attachments = o.extract_ips = o.extract_domains =
        o.extract_hashes = false;
  data++;
  size--;

  if(soar_email_process((const char *)data, size, &o, &c, err, sizeof(err)) < 0)
    return; /* only out of memory */
  FUZZ_CHECK(c.name && fuzz_utf8_ok(c.name, strlen(c.name)));
  FUZZ_CHECK(cJSON_IsArray(c.artifacts));
  f = open_memstream(&out, &outlen);
  if(f) {
    int rc = soar_container_write(f, &c, -1);
    fclose(f);
    if(rc == 0) {
      cJSON *j = cJSON_ParseWithLength(out, outlen);
      FUZZ_CHECK(j != NULL);
      /* IOC artifacts are printed straight from the IOC lists, so the
       * container's own count is what the output must have. */
      FUZZ_CHECK((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(
                     j, "artifacts")) == soar_container_count(&c));
      FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "name")));
      cJSON_Delete(j);
    }
    free(out);
  }
  soar_container_free(&c);

  cJSON *h = soar_email_headers((const char *)data, size);
  if(h) {
    check_dump(h);
    cJSON_Delete(h);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size < 1)
    return 0;
  if(data[0] % 2)
    email(data + 1, size - 1);
  else
    action(data + 1, size - 1);
  return 0;
}
