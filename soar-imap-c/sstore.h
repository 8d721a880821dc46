/*
 * sstore: the connector's local store, standing in for the SOAR platform
 * when the executable runs on its own (the app package maps the same
 * containers onto the platform instead).
 *
 *   DIR/containers/<id>.json   a container with its artifacts
 *   DIR/vault/<sha1>           attachment bytes, once per content
 *   DIR/index.json             {"next_id": N, "sdi": {"<sdi>": id, ...}}
 *   DIR/state/<asset_id>.json  the asset state (as the Python app's)
 *   DIR/.lock                  flock'ed while an action runs
 *
 * Like save_container on the platform: a container whose
 * source_data_identifier is already known is not created again; its
 * artifacts that are new (by their source_data_identifier) are added to
 * the existing one.
 */
#ifndef SOAR_SSTORE_H
#define SOAR_SSTORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "container.h"

#define SSTORE_MAX_JSON (512u * 1024 * 1024) /* largest container file read */

struct sstore {
  char *dir;
  char *vault; /* DIR/vault */
  int lockfd;
  cJSON *index;
};

/* Create the layout if needed, take the lock, read the index.  Returns 0,
 * or -1 with the reason in err. */
int sstore_open(struct sstore *s, const char *dir, char *err, size_t errlen);
void sstore_close(struct sstore *s);

/* The id of the container with that SDI, or -1. */
long long sstore_find(const struct sstore *s, const char *sdi);
/* The id the container with that SDI has or will get when saved. */
long long sstore_id_for(const struct sstore *s, const char *sdi);

/* Save c under id = sstore_id_for(c->sdi), merging into an existing
 * container (see above).  *created says which.  Returns 0 or -1 (err). */
int sstore_save(struct sstore *s, const struct soar_container *c,
                long long *id_r, bool *created, char *err, size_t errlen);

/* The container stored under id (the caller cJSON_Deletes it), or NULL
 * with the reason in err ("Container 7 not found"). */
cJSON *sstore_load(const struct sstore *s, long long id, char *err,
                   size_t errlen);

/* Read a whole file (at most max bytes) into a malloc'd, NUL-terminated
 * buffer.  Returns NULL with errno set. */
char *sstore_read_file(const char *path, size_t max, size_t *len_r);

#endif
