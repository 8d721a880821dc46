/*
 * mime_pool: the bump allocator every tree hands its strings and parts out
 * of, freed at once with the tree.  At the bottom of the mime files: it
 * uses none of them.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime_private.h"

#define POOL_CHUNK 16384
#define POOL_ALIGN (alignof(max_align_t))

struct mime_pool_chunk {
  struct mime_pool_chunk *next;
  size_t used, size;
  alignas(max_align_t) unsigned char data[];
};

void *mime_pool_alloc(struct mime_pool *pool, size_t size)
{
  struct mime_pool_chunk *c = pool->head;
  size_t need = (size + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1);
  void *p;

  if(need < size)
    return NULL;
  if(c == NULL || c->size - c->used < need) {
    size_t csize = need > POOL_CHUNK ? need : POOL_CHUNK;
    if(csize > SIZE_MAX - sizeof(*c))
      return NULL;
    c = malloc(sizeof(*c) + csize);
    if(c == NULL)
      return NULL;
    c->used = 0;
    c->size = csize;
    /* a big one-off block goes behind the current chunk so the current
     * chunk's free space is not abandoned */
    if(pool->head != NULL && csize > POOL_CHUNK) {
      c->next = pool->head->next;
      pool->head->next = c;
    }
    else {
      c->next = pool->head;
      pool->head = c;
    }
  }
  p = c->data + c->used;
  c->used += need;
  memset(p, 0, size);
  return p;
}

char *mime_pool_strndup(struct mime_pool *pool, const char *s, size_t len)
{
  char *d = len == SIZE_MAX ? NULL : mime_pool_alloc(pool, len + 1);

  if(d == NULL)
    return NULL;
  if(len > 0)
    memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

void mime_pool_free(struct mime_pool *pool)
{
  while(pool->head != NULL) {
    struct mime_pool_chunk *c = pool->head;
    pool->head = c->next;
    free(c);
  }
}
