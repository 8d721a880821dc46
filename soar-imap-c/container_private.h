/*
 * container_private: what the files of soar-imap-c's container mapping share.
 * Private: container.h is the folder's interface; this may change with
 * the files:
 *   container.c          the walk over one message (bodies, IOCs, limits),
 *                        the artifact list, and printing the container;
 *   container_headers.c  header fields as Python's compat32 parser sees
 *                        them (the Python connector's emulation), and the
 *                        Email Artifacts made from them;
 *   container_attach.c   attachments: hashes, vault files, Vault Artifacts;
 *                        references to files not in the mail
 *                        (message/external-body).
 * Calls run top down: container.c uses the other two, container_attach.c
 * uses container_headers.c, which uses neither (it also keeps ct_note).
 * One email's state lives in one struct ctx, passed to every step.
 */
#ifndef SOAR_CONTAINER_PRIVATE_H
#define SOAR_CONTAINER_PRIVATE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "container.h"
#include "ioc.h"
#include "mime.h"
#include "buf.h"

#define MAX_FIELDS      2000 /* header fields read per block */
#define MAX_LIMIT_NOTES 16

/* What was cut by a limit, for the Email Limits Artifact: distinct
 * messages, at most MAX_LIMIT_NOTES. */
struct notes {
  char *v[MAX_LIMIT_NOTES];
  unsigned n;
};

/* Add a note (printf format); a repeat or one over the cap is dropped. */
void ct_note(struct notes *nt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct ctx {
  const struct soar_email_opts *o;
  struct mime_message *msg;
  bool latin1;
  struct ioc_result *iocs;
  struct ioc_opts iopts;
  cJSON *email_arts;    /* header artifacts, walk order */
  cJSON *forward_arts;  /* from forwarded blocks */
  cJSON *external_arts; /* message/external-body references */
  cJSON *vault_arts;
  struct notes notes;
  unsigned attachments;
  bool has_text_body;
  struct buf html_text; /* visible text of HTML bodies (forward
                           detection when there is no text body) */
  bool oom;
  char *err;
  size_t errlen;
};

/* ---- container_headers.c ---- */

/* One block of header fields, as Python's email parser reads them. */
struct field {
  const char *name;
  size_t name_len;
  char *value;     /* UTF-8, folding kept, trailing CR/LF removed */
  const char *raw; /* the value's bytes as in the message (not converted */
  size_t raw_len;  /* from Latin-1): what encoded words are decoded from */
};

struct fields {
  struct field *f;
  size_t n;
};

/* Parse the header block at s[0..len) into *fs (free with ct_fields_free
 * even on failure), as Python's feedparser does: see the definition.
 * latin1: the bytes are Latin-1 (converted to UTF-8).  skip_from_line: an
 * mbox "From " line first is not a field.  Returns 0, -1 out of memory. */
int ct_fields_parse(const char *s, size_t len, bool latin1, bool skip_from_line,
                    struct fields *fs);
void ct_fields_free(struct fields *fs);

/* The start of the line after the one at p (end when there is none). */
const char *ct_line_end(const char *p, const char *end);

/* Python's str(make_header(decode_header(v))) of field f: its value
 * unchanged without encoded words, else the words decoded from the raw
 * bytes and the raw text between them converted once (valid UTF-8 as is,
 * else windows-1252), never the Latin-1 conversion of the value decoded
 * again.  A new string (NULL out of memory). */
char *ct_py_make_header(const struct field *f);

/* _get_email_headers_from_part's dict of fs; NULL when there are no fields
 * or out of memory (*oom set). */
cJSON *ct_headers_dict(const struct fields *fs, bool *oom);

/* Append an Email Artifact for fs to dest when the block has a From or To
 * value (or, with_id, a Message-ID field).  Returns 0, -1 out of memory. */
int ct_email_artifact(struct ctx *x, const struct fields *fs, bool with_id,
                      cJSON *dest);

/* ---- container_attach.c ---- */

/* Hash attachment part p (and write it to the vault when there is one)
 * and add its Vault Artifact, within the attachment limit.  Returns 0, -1
 * out of memory, -2 vault write error (message in x->err). */
int ct_handle_attachment(struct ctx *x, const struct mime_part *p);

/* A message/external-body part (RFC 2046 5.2.3, RFC 2017): the file is
 * not in the mail, so nothing is vaulted; an External Body Artifact
 * records the reference (access-type, name, site, directory, server, URL)
 * and a URL is also scanned as a link.  Returns 0, -1 out of memory. */
int ct_handle_external(struct ctx *x, const struct mime_part *p);

/* The same for the uuencoded block blk of p's text (UTF-8, as
 * mime_part_text made it), named by its begin line. */
int ct_handle_uu_block(struct ctx *x, const struct mime_part *p,
                       const char *text, const struct mime_uu_block *blk);

#endif
