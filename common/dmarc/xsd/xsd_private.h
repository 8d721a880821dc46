/*
 * xsd_builtin: the schema files compiled into the executable (private to
 * common/dmarc/xsd).  The table is generated at build time by embed_schemas.py
 * from common/dmarc/xsd/schemas/, in the order results are reported.
 */
#ifndef XSD_XSD_BUILTIN_H
#define XSD_XSD_BUILTIN_H

#include <stddef.h>

struct xsd_builtin {
  const char *name;          /* file name, e.g. "rua_rfc7489.xsd" */
  const unsigned char *data; /* the .xsd text, not NUL-terminated */
  size_t len;
};

extern const struct xsd_builtin xsd_builtins[];
extern const unsigned xsd_builtin_count;

#endif
