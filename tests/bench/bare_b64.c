/*
 * bare_b64: the reference for bench_soar.py.  Reads each file named on the
 * command line whole and base64-decodes all its bytes (characters outside
 * the alphabet are skipped), the least any MIME parser must do with mail
 * that is mostly base64 attachments.  Prints a checksum so the work cannot
 * be optimised away.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
  static signed char val[256];
  unsigned char *in = NULL, *out = NULL;
  size_t cap = 0;
  uint64_t sum = 0, total = 0;

  for(int i = 0; i < 256; i++)
    val[i] = -1;
  for(int i = 0; i < 64; i++)
    val[(
        unsigned char)"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            [i]] = (signed char)i;
  for(int a = 1; a < argc; a++) {
    FILE *f = fopen(argv[a], "rb");
    if(!f) {
      perror(argv[a]);
      return 1;
    }
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    if(n > cap) {
      cap = n;
      in = realloc(in, cap);
      out = realloc(out, cap);
      if(!in || !out)
        return 1;
    }
    if(fread(in, 1, n, f) != n) {
      fclose(f);
      return 1;
    }
    fclose(f);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for(size_t j = 0; j < n; j++) {
      int v = val[in[j]];
      if(v < 0)
        continue;
      acc = (acc << 6) | (uint32_t)v;
      bits += 6;
      if(bits >= 8) {
        bits -= 8;
        out[o++] = (unsigned char)(acc >> bits);
      }
    }
    for(size_t j = 0; j < o; j += 4096)
      sum += out[j];
    total += n;
  }
  printf("bytes=%llu checksum=%llu\n", (unsigned long long)total,
         (unsigned long long)sum);
  free(in);
  free(out);
  return 0;
}
