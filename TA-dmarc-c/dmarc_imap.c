/*
 * dmarc_imap: DMARC aggregate reports from an IMAP folder into Splunk.
 *
 * Logs in with a password over TLS (implicit or STARTTLS, the certificate
 * verified), opens the folder read-only and ingests the report parts of the
 * messages not yet checkpointed, fetching only those parts (see mailbox.h).
 */
#include <stddef.h>

#include "mailbox.h"

static const struct splunk_arg args[] = {
  { "server", "IMAP server", "Host name or address of the IMAP server",
    SPLUNK_ARG_STRING, 1 },
  { "port", "Port", "Default 993 (tls) or 143 (starttls)", SPLUNK_ARG_NUMBER,
    0 },
  MAILBOX_SCHEME_TLS_ARGS,
  { "username", "Username", "Login name", SPLUNK_ARG_STRING, 1 },
  { "password", "Password", "Login password", SPLUNK_ARG_STRING, 1 },
  MAILBOX_SCHEME_FOLDER_ARGS,
  MAILBOX_SCHEME_END_ARGS,
};

static const struct splunk_scheme scheme = {
  "DMARC aggregate reports from IMAP",
  "Ingest DMARC aggregate reports (XML, gzip, zip; attached, inline or "
  "forwarded) from an IMAP folder, one event per report record.",
  args,
};

int main(int argc, char **argv)
{
  static const struct mailbox_frontend fe = {
    .name = "dmarc_imap",
    .proto = MAILBOX_IMAP,
    .scheme = &scheme,
    .password = true,
  };
  return mailbox_main(argc, argv, &fe);
}
