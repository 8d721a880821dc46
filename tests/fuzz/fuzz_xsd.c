/*
 * fuzz_xsd: streaming schema validation (common/dmarc/xsd/xsd.h) of arbitrary
 * bytes against the four built-in schemas, fed in chunks.
 *
 * Input layout: byte 0 picks the largest chunk (1 << (n % 14)), byte 1
 * seeds the chunk sizes, the rest is the document.  Byte 0 bit 7 set ends
 * the document with xsd_validation_abort instead of _end (the path ingest
 * takes for a leaf it rejected).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "xsd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  char err[256];

  (void)argc;
  (void)argv;
  /* The schemas are compiled once per process, as in the add-on. */
  if(xsd_init(err, sizeof(err))) {
    fprintf(stderr, "fuzz_xsd: xsd_init: %s\n", err);
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct xsd_result res[XSD_SCHEMA_COUNT];
  struct xsd_validation *v;
  struct fuzz_chunker ch;
  uint8_t mode;

  if(size < 2)
    return 0;
  mode = data[0];
  fuzz_chunker_init(&ch, data[1], (uint8_t)(mode & 0x7f));
  data += 2;
  size -= 2;

  v = xsd_validation_begin();
  if(!v)
    return 0;
  for(size_t off = 0; off < size;) {
    size_t n = fuzz_chunker_next(&ch, size - off);

    xsd_validation_feed(v, data + off, n);
    off += n;
  }
  if(mode & 0x80) {
    xsd_validation_abort(v);
    return 0;
  }
  memset(res, 0x5a, sizeof(res));
  xsd_validation_end(v, res);
  for(unsigned i = 0; i < XSD_SCHEMA_COUNT; i++) {
    FUZZ_CHECK(res[i].pass == 0 || res[i].pass == 1);
    FUZZ_CHECK(memchr(res[i].info, '\0', sizeof(res[i].info)) != NULL);
    /* A failure always says why; a pass says nothing. */
    FUZZ_CHECK(res[i].pass == (res[i].info[0] == '\0'));
  }
  return 0;
}
