#include "sstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyjson.h"
#include "file.h"
#include "util.h"

static int mkdir_p(const char *path)
{
  char tmp[4096];
  size_t n = strlen(path);

  if(n >= sizeof(tmp))
    return -1;
  memcpy(tmp, path, n + 1);
  for(char *p = tmp + 1; *p; p++) {
    if(*p != '/')
      continue;
    *p = '\0';
    if(mkdir(tmp, 0755) && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return (mkdir(tmp, 0755) && errno != EEXIST) ? -1 : 0;
}

char *sstore_read_file(const char *path, size_t max, size_t *len_r)
{
  FILE *f = fopen(path, "rb");
  struct stat st;
  char *data;

  if(!f)
    return NULL;
  if(fstat(fileno(f), &st) || (size_t)st.st_size > max) {
    fclose(f);
    errno = EFBIG;
    return NULL;
  }
  data = malloc((size_t)st.st_size + 1);
  if(!data || fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
    free(data);
    fclose(f);
    errno = EIO;
    return NULL;
  }
  fclose(f);
  data[st.st_size] = '\0';
  if(len_r)
    *len_r = (size_t)st.st_size;
  return data;
}

int sstore_open(struct sstore *s, const char *dir, char *err, size_t errlen)
{
  char path[4096];
  const char *subs[] = { "containers", "vault", "state" };

  memset(s, 0, sizeof(*s));
  s->lockfd = -1;
  for(int i = 0; i < 3; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
    if(mkdir_p(path)) {
      snprintf(err, errlen, "cannot create the store directory %s: %s", path,
               strerror(errno));
      return -1;
    }
  }
  s->dir = strdup(dir);
  if(asprintf(&s->vault, "%s/vault", dir) < 0)
    s->vault = NULL;
  snprintf(path, sizeof(path), "%s/.lock", dir);
  s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if(!s->dir || !s->vault || s->lockfd < 0 || flock(s->lockfd, LOCK_EX)) {
    snprintf(err, errlen, "cannot lock the store %s: %s", dir, strerror(errno));
    sstore_close(s);
    return -1;
  }
  /* a run killed in the middle of a write left its temporary file behind */
  util_atomic_sweep(dir);
  for(int i = 0; i < 3; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
    util_atomic_sweep(path);
  }
  snprintf(path, sizeof(path), "%s/index.json", dir);
  char *data = sstore_read_file(path, SSTORE_MAX_JSON, NULL);
  if(data) {
    s->index = cJSON_Parse(data);
    free(data);
    if(!s->index) {
      snprintf(err, errlen, "the store index %s is not valid JSON", path);
      sstore_close(s);
      return -1;
    }
  }
  else if(errno != ENOENT) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    sstore_close(s);
    return -1;
  }
  else {
    s->index = cJSON_CreateObject();
    cJSON_AddNumberToObject(s->index, "next_id", 1);
    cJSON_AddObjectToObject(s->index, "sdi");
  }
  if(!cJSON_IsNumber(cJSON_GetObjectItem(s->index, "next_id")) ||
     !cJSON_IsObject(cJSON_GetObjectItem(s->index, "sdi"))) {
    snprintf(err, errlen, "the store index %s lacks next_id or sdi", path);
    sstore_close(s);
    return -1;
  }
  return 0;
}

void sstore_close(struct sstore *s)
{
  if(s->lockfd >= 0)
    close(s->lockfd);
  free(s->dir);
  free(s->vault);
  cJSON_Delete(s->index);
  memset(s, 0, sizeof(*s));
  s->lockfd = -1;
}

long long sstore_find(const struct sstore *s, const char *sdi)
{
  cJSON *v = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItem(s->index, "sdi"), sdi);
  return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

long long sstore_id_for(const struct sstore *s, const char *sdi)
{
  long long id = sstore_find(s, sdi);
  return id >= 0
             ? id
             : (long long)cJSON_GetObjectItem(s->index, "next_id")->valuedouble;
}

cJSON *sstore_load(const struct sstore *s, long long id, char *err,
                   size_t errlen)
{
  char path[4096];
  char *data;
  cJSON *c;

  snprintf(path, sizeof(path), "%s/containers/%lld.json", s->dir, id);
  if(!(data = sstore_read_file(path, SSTORE_MAX_JSON, NULL))) {
    if(errno == ENOENT)
      snprintf(err, errlen, "Container %lld not found", id);
    else
      snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  c = cJSON_Parse(data);
  free(data);
  if(!c)
    snprintf(err, errlen, "%s is not valid JSON", path);
  return c;
}

static int save_index(struct sstore *s, char *err, size_t errlen)
{
  char path[4096];
  struct buf b;
  int rc;

  snprintf(path, sizeof(path), "%s/index.json", s->dir);
  buf_init(&b, SSTORE_MAX_JSON);
  /* via a temporary file and rename, so a reader never sees half */
  rc = pyjson_dump(&b, s->index, false) || buf_putc(&b, '\n') ||
       util_write_file_atomic(path, b.data, b.len, 0644, UTIL_ATOMIC_NO_DIRSYNC,
                              NULL, 0);
  buf_free(&b);
  if(rc)
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
  return rc ? -1 : 0;
}

static int write_container(const struct sstore *s,
                           const struct soar_container *c, long long id,
                           char *err, size_t errlen)
{
  char path[4096];
  struct util_atomic tmp;
  FILE *f;
  int fd;

  snprintf(path, sizeof(path), "%s/containers/%lld.json", s->dir, id);
  /* 0666 less the umask, as fopen makes it */
  if(util_atomic_open(&tmp, path, 0666, NULL, 0) < 0) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  /* a FILE of its own on a copy of the descriptor, closed before the
   * commit syncs and closes the original */
  if((fd = dup(tmp.fd)) < 0 || !(f = fdopen(fd, "wb"))) {
    snprintf(err, errlen, "cannot write %s: %s", tmp.tmp, strerror(errno));
    if(fd >= 0)
      close(fd);
    util_atomic_abort(&tmp);
    return -1;
  }
  int rc = soar_container_write(f, c, id);
  if(fflush(f))
    rc = -1;
  if(fclose(f))
    rc = -1;
  if(rc || util_atomic_commit(&tmp, NULL, UTIL_ATOMIC_NO_DIRSYNC, NULL, 0)) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    util_atomic_abort(&tmp);
    return -1;
  }
  return 0;
}

int sstore_save(struct sstore *s, const struct soar_container *c,
                long long *id_r, bool *created, char *err, size_t errlen)
{
  long long id = sstore_find(s, c->sdi);

  *created = id < 0;
  if(id < 0) {
    cJSON *next = cJSON_GetObjectItem(s->index, "next_id");
    id = (long long)next->valuedouble;
    if(write_container(s, c, id, err, errlen))
      return -1;
    cJSON_SetNumberValue(next, (double)(id + 1));
    cJSON_AddNumberToObject(cJSON_GetObjectItem(s->index, "sdi"), c->sdi,
                            (double)id);
    *id_r = id;
    return save_index(s, err, errlen);
  }
  /* "Duplicate container found": add the artifacts it does not have. */
  cJSON *old = sstore_load(s, id, err, errlen);
  if(!old)
    return -1;
  cJSON *oarts = cJSON_GetObjectItem(old, "artifacts");
  const char *raw = cJSON_GetStringValue(
      cJSON_GetObjectItem(cJSON_GetObjectItem(old, "data"), "raw_email"));
  const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(old, "name"));
  if(!cJSON_IsArray(oarts) || !raw || !name) {
    snprintf(err, errlen, "container %lld in the store is damaged", id);
    cJSON_Delete(old);
    return -1;
  }
  cJSON *a, *all = soar_container_artifacts(c);
  if(!all) {
    snprintf(err, errlen, "out of memory");
    cJSON_Delete(old);
    return -1;
  }
  cJSON_ArrayForEach(a, all)
  {
    const char *sdi =
        cJSON_GetStringValue(cJSON_GetObjectItem(a, "source_data_identifier"));
    bool have = false;
    cJSON *o;
    cJSON_ArrayForEach(o, oarts)
    {
      const char *osdi = cJSON_GetStringValue(
          cJSON_GetObjectItem(o, "source_data_identifier"));
      if(sdi && osdi && !strcmp(sdi, osdi))
        have = true;
    }
    if(!have)
      cJSON_AddItemToArray(oarts, cJSON_Duplicate(a, 1));
  }
  struct soar_container m = *c;
  m.name = (char *)name;
  m.raw = raw;
  m.raw_len = strlen(raw);
  m.raw_latin1 = false;
  m.artifacts = oarts;
  m.iocs = NULL; /* all of them are in oarts now */
  m.ioc_last_runs = false;
  int rc = write_container(s, &m, id, err, errlen);
  cJSON_Delete(all);
  cJSON_Delete(old);
  *id_r = id;
  return rc;
}
