/*
 * fuzz_splunk_config: the reader of the <input>/<items> document splunkd
 * writes on stdin (splunk_read_config in common/splunk/splunk.h), fed the
 * input through fmemopen, then every accessor over what it returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "splunk.h"

static void touch_str(const char *s)
{
  if(s)
    (void)fuzz_touch(s, strlen(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct splunk_config cfg;
  char err[256];
  FILE *in;
  int rc;

  /* fmemopen refuses a zero size; an empty stdin is a case of its own. */
  in = size ? fmemopen((void *)data, size, "rb") : fopen("/dev/null", "rb");
  if(!in)
    return 0;
  err[0] = '\0';
  rc = splunk_read_config(in, &cfg, err, sizeof(err));
  fclose(in);
  FUZZ_CHECK(rc == 0 || rc == -1);
  if(rc) {
    FUZZ_CHECK(err[0] != '\0');
    /* A failed read leaves nothing to free. */
    FUZZ_CHECK(cfg.params == NULL && cfg.nparams == 0 && cfg.stanza == NULL);
    return 0;
  }
  touch_str(cfg.server_host);
  touch_str(cfg.server_uri);
  touch_str(cfg.session_key);
  touch_str(cfg.checkpoint_dir);
  touch_str(cfg.stanza);
  for(unsigned i = 0; i < cfg.nparams; i++) {
    touch_str(cfg.params[i].name);
    touch_str(cfg.params[i].value);
    if(cfg.params[i].name)
      (void)splunk_param(&cfg, cfg.params[i].name);
    if(cfg.params[i].value)
      (void)splunk_parse_bool(cfg.params[i].value);
  }
  (void)splunk_param(&cfg, "directory");
  splunk_config_free(&cfg);
  return 0;
}
