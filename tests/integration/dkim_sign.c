/*
 * dkim_sign: test helper that DKIM-signs one mail with libopendkim.
 *
 *   dkim_sign KEYFILE SELECTOR DOMAIN < in.eml > out.eml
 *
 * KEYFILE is a PEM private key (opendkim-genkey's <selector>.private).  The
 * message is read whole (bare LFs become CRLF, as on the wire), signed with
 * rsa-sha256 and relaxed/relaxed canonicalization, and written back with
 * the DKIM-Signature field in front.  Exit 0, or 1 with the reason on
 * stderr.  Only for tests: it holds everything in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#define SIGN_MAX_MESSAGE (16u * 1024 * 1024)

static char *slurp(FILE *f, size_t max, size_t *len)
{
  size_t cap = 65536, n = 0, r;
  char *b = malloc(cap + 1);

  while(b && (r = fread(b + n, 1, cap - n, f)) > 0) {
    n += r;
    if(n == cap) {
      char *nb = cap >= max ? NULL : realloc(b, 2 * cap + 1);
      if(!nb) {
        free(b);
        return NULL;
      }
      b = nb;
      cap *= 2;
    }
  }
  if(b) {
    b[n] = '\0';
    *len = n;
  }
  return b;
}

/* A copy of s with every bare LF made CRLF. */
static char *crlf(const char *s, size_t len, size_t *out_len)
{
  char *o = malloc(2 * len + 1);
  size_t k = 0;

  if(!o)
    return NULL;
  for(size_t i = 0; i < len; i++) {
    if(s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
      o[k++] = '\r';
    o[k++] = s[i];
  }
  o[k] = '\0';
  *out_len = k;
  return o;
}

int main(int argc, char **argv)
{
  static const char field[] = DKIM_SIGNHEADER ": ";
  FILE *kf;
  char *key, *raw, *msg;
  size_t klen, rlen, mlen, hlen = 0;
  unsigned char *hdr = NULL;
  DKIM_LIB *lib;
  DKIM_STAT st;
  DKIM *d;

  if(argc != 4) {
    fprintf(stderr, "usage: dkim_sign KEYFILE SELECTOR DOMAIN < in > out\n");
    return 1;
  }
  if(!(kf = fopen(argv[1], "r"))) {
    perror(argv[1]);
    return 1;
  }
  key = slurp(kf, 65536, &klen);
  fclose(kf);
  raw = slurp(stdin, SIGN_MAX_MESSAGE, &rlen);
  if(!key || !raw || !(msg = crlf(raw, rlen, &mlen))) {
    fprintf(stderr, "dkim_sign: cannot read the key or the message\n");
    return 1;
  }
  lib = dkim_init(NULL, NULL);
  d = lib ? dkim_sign(lib, (const unsigned char *)"dkim_sign", NULL,
                      (unsigned char *)key, (const unsigned char *)argv[2],
                      (const unsigned char *)argv[3], DKIM_CANON_RELAXED,
                      DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st)
          : NULL;
  if(!d || dkim_chunk(d, (unsigned char *)msg, mlen) != DKIM_STAT_OK ||
     dkim_chunk(d, NULL, 0) != DKIM_STAT_OK ||
     dkim_eom(d, NULL) != DKIM_STAT_OK ||
     dkim_getsighdr_d(d, strlen(field), &hdr, &hlen) != DKIM_STAT_OK) {
    const char *e = d ? dkim_geterror(d) : NULL;
    fprintf(stderr, "dkim_sign: signing failed: %s\n", e ? e : "no reason");
    return 1;
  }
  /* The signature header comes folded with bare LFs: put it on the wire
   * form too. */
  {
    size_t hl;
    char *h = crlf((const char *)hdr, hlen, &hl);
    if(!h)
      return 1;
    fwrite(field, 1, strlen(field), stdout);
    fwrite(h, 1, hl, stdout);
    fwrite("\r\n", 1, 2, stdout);
    free(h);
  }
  fwrite(msg, 1, mlen, stdout);
  dkim_free(d);
  dkim_close(lib);
  free(key);
  free(raw);
  free(msg);
  return fflush(stdout) ? 1 : 0;
}
