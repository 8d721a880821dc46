/*
 * ioc_private: what the files of soar-imap-c/ioc share.  Private: ioc.h is
 * the folder's interface.  Calls run one way:
 *   ioc.c        extraction (uses ioc_idna.c)
 *   ioc_idna.c   A-labels of IDNs; uses nothing else in ioc
 */
#ifndef IOC_IOC_PRIVATE_H
#define IOC_IOC_PRIVATE_H

#include <stddef.h>

/* Code points of one domain label turned into its A-label: DNS allows 63
 * bytes, and no character is shorter. */
#define IOC_MAX_LABEL 63

/* The A-label form (IDNA, "xn--") of the UTF-8 domain s[0..len) into
 * out[cap], NUL-terminated: each label with non-ASCII characters
 * Punycoded.  Returns the length, or 0 when s is not valid UTF-8, a label
 * is too long or the result does not fit. */
size_t ioc_domain_alabel(const char *s, size_t len, char *out, size_t cap);

#endif
