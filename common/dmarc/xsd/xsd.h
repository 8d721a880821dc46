/*
 * xsd: validation of DMARC aggregate reports against the project's own XML
 * schemas, as annotations: a failed validation never rejects a report, it
 * is reported beside its events (vendor_rua_xsd_validations).
 *
 * The schemas are compiled into the executable and parsed once per process.
 * Validation is streamed (libxml2 push parser with the schema plugged into
 * SAX), so memory does not grow with the report, and is fed the same chunks
 * the report parser has already accepted: no DTD is loaded, no entity is
 * substituted and nothing is fetched from the network.
 *
 * Schemas, in output order (key names of the old add-on for the first three):
 *   rua_ta_dmarc_relaxed_v01.xsd   relaxed: what real reporters send
 *   rua_draft-dmarc-base-00-02.xsd the 2012 draft
 *   rua_rfc7489.xsd                RFC 7489 Appendix C, as meant
 *   rua_rfc9990.xsd                RFC 9990 (urn:ietf:params:xml:ns:dmarc-2.0)
 */
#ifndef XSD_XSD_H
#define XSD_XSD_H

#include <stddef.h>

#define XSD_SCHEMA_COUNT 4

struct xsd_result {
  int pass;       /* 1 valid, 0 invalid */
  char info[512]; /* when !pass: the first error, as lxml words it, e.g.
                     "Element 'report_metadata': This element is not
                     expected. Expected is ( version )., line 3" */
};

/* Parse and compile the built-in schemas (idempotent; first call does the
 * work).  Returns 0, or -1 with a message in err. */
int xsd_init(char *err, size_t errlen);

/* Name of schema i (0 <= i < XSD_SCHEMA_COUNT), e.g. "rua_rfc7489.xsd". */
const char *xsd_schema_name(unsigned i);

struct xsd_validation;

/* Start validating one document against all schemas.  xsd_init must have
 * succeeded.  Returns NULL when out of memory. */
struct xsd_validation *xsd_validation_begin(void);

/* Feed the next chunk of the document.  Never fails: a schema that finds
 * the document invalid stops consuming and keeps its first error. */
void xsd_validation_feed(struct xsd_validation *v, const void *buf, size_t len);

/* End the document, store one result per schema in results[], free v. */
void xsd_validation_end(struct xsd_validation *v,
                        struct xsd_result results[XSD_SCHEMA_COUNT]);

/* Free v without results (the document was abandoned). NULL is ignored. */
void xsd_validation_abort(struct xsd_validation *v);

#endif
