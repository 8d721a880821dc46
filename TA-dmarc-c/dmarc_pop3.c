/*
 * dmarc_pop3: DMARC aggregate reports from a POP3 mailbox into Splunk.
 *
 * Logs in with a password over TLS (implicit or STLS, the certificate
 * verified), lists the messages by UIDL and reads each one not yet
 * checkpointed; nothing is ever deleted (see mailbox.h).
 */
#include <stddef.h>

#include "mailbox.h"

static const struct splunk_arg args[] = {
  { "server", "POP3 server", "Host name or address of the POP3 server",
    SPLUNK_ARG_STRING, 1 },
  { "port", "Port", "Default 995 (tls) or 110 (starttls, i.e. STLS)",
    SPLUNK_ARG_NUMBER, 0 },
  MAILBOX_SCHEME_TLS_ARGS,
  { "username", "Username", "Login name", SPLUNK_ARG_STRING, 1 },
  { "password", "Password", "Login password", SPLUNK_ARG_STRING, 1 },
  { "batch_size", "Batch size", "Messages per checkpoint (default 100)",
    SPLUNK_ARG_NUMBER, 0 },
  MAILBOX_SCHEME_END_ARGS,
};

static const struct splunk_scheme scheme = {
  "DMARC aggregate reports from POP3",
  "Ingest DMARC aggregate reports (XML, gzip, zip; attached, inline or "
  "forwarded) from a POP3 mailbox, one event per report record.  Messages "
  "are never deleted.",
  args,
};

int main(int argc, char **argv)
{
  static const struct mailbox_frontend fe = {
    .name = "dmarc_pop3",
    .proto = MAILBOX_POP3,
    .scheme = &scheme,
    .password = true,
  };
  return mailbox_main(argc, argv, &fe);
}
