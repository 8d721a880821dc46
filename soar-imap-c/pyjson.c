#include "pyjson.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"

#define PYJSON_MAX_DEPTH 64 /* our own trees are 4 levels deep */

static int key_cmp(const void *a, const void *b)
{
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
  return strcmp(x->string, y->string);
}

static int dump(struct buf *b, const cJSON *it, bool sort, unsigned depth)
{
  if(depth > PYJSON_MAX_DEPTH)
    return -1;
  switch(it->type & 0xff) {
  case cJSON_NULL: return buf_puts(b, "null");
  case cJSON_True: return buf_puts(b, "true");
  case cJSON_False: return buf_puts(b, "false");
  case cJSON_Number: {
    double d = it->valuedouble;
    if(d == floor(d) && fabs(d) < 9007199254740992.0)
      return buf_printf(b, "%lld", (long long)d);
    return buf_printf(b, "%.17g", d);
  }
  case cJSON_String:
  case cJSON_Raw: {
    const char *s = it->valuestring ? it->valuestring : "";
    if(buf_putc(b, '"') || util_json_escape(b, s, strlen(s)))
      return -1;
    return buf_putc(b, '"');
  }
  case cJSON_Array: {
    if(buf_putc(b, '['))
      return -1;
    for(const cJSON *c = it->child; c; c = c->next) {
      if(c != it->child && buf_puts(b, ", "))
        return -1;
      if(dump(b, c, sort, depth + 1))
        return -1;
    }
    return buf_putc(b, ']');
  }
  case cJSON_Object: {
    size_t n = 0, i = 0;
    const cJSON **kids;
    for(const cJSON *c = it->child; c; c = c->next)
      n++;
    if(!n)
      return buf_puts(b, "{}");
    kids = malloc(n * sizeof(*kids));
    if(!kids)
      return -1;
    for(const cJSON *c = it->child; c; c = c->next)
      kids[i++] = c;
    if(sort)
      qsort(kids, n, sizeof(*kids), key_cmp);
    int rc = buf_putc(b, '{');
    for(i = 0; i < n && !rc; i++) {
      const char *k = kids[i]->string ? kids[i]->string : "";
      rc = (i && buf_puts(b, ", ")) || buf_putc(b, '"') ||
           util_json_escape(b, k, strlen(k)) || buf_puts(b, "\": ") ||
           dump(b, kids[i], sort, depth + 1);
    }
    free(kids);
    return rc ? -1 : buf_putc(b, '}');
  }
  default: return -1;
  }
}

int pyjson_dump(struct buf *b, const cJSON *item, bool sort)
{
  return dump(b, item, sort, 0);
}

/* MD5 is fetched once: EVP_Digest(EVP_md5()) looks the algorithm up in
 * the provider tables (a lock and a hash lookup) and makes a new context
 * on every call, which costs several times what hashing one artifact's
 * hundred bytes does, and a container has hundreds of artifacts. */
static EVP_MD *md5_alg;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;
static pthread_key_t md5_key; /* frees a thread's context at its exit */
static bool md5_key_ok;

static void md5_ctx_free(void *ctx)
{
  EVP_MD_CTX_free(ctx);
}

static void md5_fetch(void)
{
  md5_alg = EVP_MD_fetch(NULL, "MD5", NULL);
  md5_key_ok = pthread_key_create(&md5_key, md5_ctx_free) == 0;
}

void pyjson_md5_hex(const void *data, size_t len, char hex[33])
{
  /* One context per thread, reused; freed when the thread ends. */
  static __thread EVP_MD_CTX *ctx;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;

  pthread_once(&md5_once, md5_fetch);
  if(!ctx && (ctx = EVP_MD_CTX_new()) && md5_key_ok)
    pthread_setspecific(md5_key, ctx);
  if(!md5_alg || !ctx || !EVP_DigestInit_ex2(ctx, md5_alg, NULL) ||
     !EVP_DigestUpdate(ctx, data, len) || !EVP_DigestFinal_ex(ctx, md, &mdlen))
    EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL); /* the slow way */
  static const char hx[] = "0123456789abcdef";
  for(unsigned i = 0; i < mdlen && i < 16; i++) {
    hex[2 * i] = hx[md[i] >> 4];
    hex[2 * i + 1] = hx[md[i] & 15];
  }
  hex[32] = '\0';
}

int pyjson_md5(const cJSON *item, char hex[33])
{
  struct buf b;
  int rc;

  buf_init(&b, (size_t)1 << 30);
  rc = pyjson_dump(&b, item, true);
  if(!rc)
    pyjson_md5_hex(b.data ? b.data : "", b.len, hex);
  buf_free(&b);
  return rc;
}
