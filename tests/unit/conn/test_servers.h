/*
 * test_servers.h: where the servers started by run_with_servers.sh listen.
 * Dovecot's settings come from DOVETEST_* variables (tests/lib/dovecot.sh),
 * the fake servers' ports from the FAKE_PORTS file (fake_server.py).
 */
#ifndef TEST_SERVERS_H
#define TEST_SERVERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *tenv(const char *name)
{
  const char *v = getenv(name);
  if(!v || !*v) {
    fprintf(stderr, "missing %s: run through run_with_servers.sh\n", name);
    exit(1);
  }
  return v;
}

static inline uint16_t tenv_port(const char *name)
{
  return (uint16_t)atoi(tenv(name));
}

static inline uint16_t fake_port(const char *scenario)
{
  FILE *f = fopen(tenv("FAKE_PORTS"), "r");
  char name[64];
  int port;
  if(!f) {
    perror("FAKE_PORTS");
    exit(1);
  }
  while(fscanf(f, "%63s %d", name, &port) == 2)
    if(strcmp(name, scenario) == 0) {
      fclose(f);
      return (uint16_t)port;
    }
  fclose(f);
  fprintf(stderr, "no fake server %s\n", scenario);
  exit(1);
}

/* Read a whole file (expected bytes written by the seed scripts). */
static inline char *slurp(const char *path, size_t *len_r)
{
  FILE *f = fopen(path, "rb");
  char *d = NULL;
  long n;
  if(!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  d = malloc((size_t)n + 1);
  if(d && fread(d, 1, (size_t)n, f) != (size_t)n) {
    free(d);
    d = NULL;
  }
  fclose(f);
  if(d) {
    d[n] = '\0';
    *len_r = (size_t)n;
  }
  return d;
}

#endif
