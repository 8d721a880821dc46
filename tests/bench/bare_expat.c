/*
 * bare_expat: the reference the report benchmark compares against: read a
 * file (or stdin with "-") in 64 KiB chunks and run expat over it with no
 * handlers at all.  Prints the bytes parsed.
 */
#include <expat.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  static char buf[65536];
  XML_Parser p = XML_ParserCreate(NULL);
  long long total = 0;
  ssize_t n;
  int fd;

  if(argc != 2) {
    fprintf(stderr, "usage: bare_expat FILE|-\n");
    return 2;
  }
  fd = strcmp(argv[1], "-") ? open(argv[1], O_RDONLY) : 0;
  if(fd < 0 || !p) {
    perror(argv[1]);
    return 1;
  }
  while((n = read(fd, buf, sizeof(buf))) > 0) {
    total += n;
    if(XML_Parse(p, buf, (int)n, 0) == XML_STATUS_ERROR)
      goto bad;
  }
  if(XML_Parse(p, buf, 0, 1) == XML_STATUS_ERROR)
    goto bad;
  printf("%lld\n", total);
  XML_ParserFree(p);
  return 0;
bad:
  fprintf(stderr, "bare_expat: %s at line %lu\n",
          XML_ErrorString(XML_GetErrorCode(p)),
          (unsigned long)XML_GetCurrentLineNumber(p));
  return 1;
}
