/*
 * container: one email turned into a SOAR container and its artifacts,
 * as the Python IMAP connector (process_email.py) makes them.  This header
 * is the whole interface; the work is split over container.c (the walk
 * and printing), container_headers.c (the header emulation) and
 * container_attach.c (attachments and the vault), which share
 * container_private.h.
 *
 * Same as the Python connector (so the platform deduplicates re-ingested
 * mail against containers it made):
 *  - container: name = the decoded Subject or "Email ID: <uid>",
 *    source_data_identifier = "<md5(folder as typed)> : <uid>",
 *    data.raw_email, run_automation false;
 *  - artifacts in the order IP, Hash, URL, Domain, Email (one per header
 *    block with From, To or Message-ID, walk order, then forwarded blocks),
 *    then Vault; names, CEF keys and cef_types as Python's; each
 *    source_data_identifier = md5 of json.dumps(artifact, sort_keys=True);
 *    run_automation only on the last artifact, or on the last Vault
 *    Artifact when there are attachments.
 * Better than the Python connector:
 *  - bodies are the text/plain and text/html leaves that are not
 *    attachments, decoded by their charset; images are never read as text;
 *  - IOCs per soar-imap-c/ioc (text URLs also in HTML mails, IPv6 without false
 *    positives, SHA512, domains under known public suffixes), kept in the
 *    order first seen;
 *  - a forwarded block anywhere in a text body ("Forwarded message" or
 *    "Original Message" line) gives the original sender's Email Artifact;
 *  - attachments are hashed in one pass and stored once per SHA1;
 *  - limits (message size, MIME depth/parts/header size, attachments) never
 *    fail the email: what could be read is kept and an "Email Limits
 *    Artifact" says what was cut.
 */
#ifndef SOAR_CONTAINER_H
#define SOAR_CONTAINER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ioc.h"
#include "mime.h"

#define SOAR_DEFAULT_MAX_MESSAGE     (64u * 1024 * 1024)
#define SOAR_DEFAULT_MAX_ATTACHMENTS 500

struct soar_email_opts {
  bool extract_attachments, extract_urls, extract_ips, extract_domains,
      extract_hashes;
  const char *folder;        /* as typed; hashed into the SDI */
  const char *folder_hash;   /* used verbatim instead when not NULL (re-
                                ingesting from a container's SDI) */
  const char *uid;           /* the email id (IMAP UID), digits */
  bool uid_is_string;        /* emailId as a JSON string (get email) rather
                                than a number (polling) */
  long long container_id;    /* for Vault Artifacts; < 0 prints null */
  const char *vault_dir;     /* write attachments to vault_dir/<sha1>;
                                NULL: only hash them */
  size_t max_message;        /* 0 = SOAR_DEFAULT_MAX_MESSAGE */
  unsigned max_attachments;  /* 0 = SOAR_DEFAULT_MAX_ATTACHMENTS */
  struct mime_limits limits; /* zeroes: mime defaults */
};

/* Fill o with the Python app's defaults (every extract flag on). */
void soar_email_opts_default(struct soar_email_opts *o);

struct soar_container {
  char *name; /* UTF-8 */
  char sdi[160];
  const char *raw; /* the raw email (caller's memory) */
  size_t raw_len;
  bool raw_latin1; /* not UTF-8: read as Latin-1, as Python does */
  /* The artifacts are the IOC Artifacts (IP, Hash, URL, Domain) of iocs,
   * then those in the array "artifacts".  IOC Artifacts are the bulk of a
   * container (hundreds in a mail full of links) and all of one shape, so
   * they are kept as iocs' strings and printed from there rather than as
   * a cJSON tree each; soar_container_artifacts() gives them all as JSON. */
  struct ioc_result *iocs; /* NULL: none */
  bool ioc_last_runs;      /* the last IOC Artifact is the last artifact:
                              run_automation true */
  cJSON *artifacts;        /* array: Email, forwarded, limits, Vault */
  unsigned nvault;         /* Vault Artifacts among them */
  bool limited;            /* a limit tripped (see the limits artifact) */
};

/* Set up what soar_email_process shares between threads (libxml2, the
 * public suffix list, tables).  Call it before processing mail on more
 * than one thread; calling it again does nothing. */
void soar_parse_init(void);

/* Turn raw[0..len) into *c (zeroed first).  raw must outlive c.  Returns 0,
 * or -1 with a reason in err (out of memory, vault write error). */
int soar_email_process(const char *raw, size_t len,
                       const struct soar_email_opts *o,
                       struct soar_container *c, char *err, size_t errlen);
void soar_container_free(struct soar_container *c);

/* All the artifacts of c as one new JSON array (the caller deletes it),
 * as soar_container_write prints them; NULL out of memory. */
cJSON *soar_container_artifacts(const struct soar_container *c);

/* How many artifacts c has. */
size_t soar_container_count(const struct soar_container *c);

/* Print the container (id < 0: no "id" key) with its artifacts as one
 * JSON object, streaming raw_email so it is never copied whole. */
int soar_container_write(FILE *f, const struct soar_container *c, long long id);

/* The top-level header fields of a message, name -> decoded value (the
 * last of duplicates wins), as get email's data.  NULL out of memory. */
cJSON *soar_email_headers(const char *raw, size_t len);

/* Python's hashlib.md5(folder.encode()).hexdigest() " : " uid. */
void soar_sdi(const char *folder, const char *uid, char *out, size_t outlen);

#endif
