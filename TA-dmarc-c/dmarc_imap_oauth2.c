/*
 * dmarc_imap_oauth2: DMARC aggregate reports from an IMAP folder, logging
 * in with XOAUTH2 (Microsoft 365, Gmail, any server with an OAuth2 token
 * endpoint).
 *
 * The access token comes from the client-credentials grant (Microsoft 365:
 * authority https://login.microsoftonline.com/<tenant>, client id and
 * secret, scope https://outlook.office365.com/.default) or from a refresh
 * token at a token URL (Gmail style).  It is cached in a 0600 file until
 * shortly before it expires, and a new one is fetched once when the server
 * refuses the cached one (see mailbox_oauth.h, common/mail/oauth/oauth.h).  The
 * rest is dmarc_imap (see mailbox.h).
 *
 * Secrets never come from the command line: --client-secret-file and
 * --refresh-token-file name files holding them; a stanza has them as
 * params (client_secret, refresh_token), like dmarc_imap's password.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailbox.h"
#include "mailbox_oauth.h"

/* Microsoft 365's IMAP server: the old add-on's default for this input. */
#define DEFAULT_SERVER "outlook.office365.com"

static const struct splunk_arg args[] = {
  { "imap_server", "IMAP server",
    "Host name or address of the IMAP server "
    "(default " DEFAULT_SERVER ")",
    SPLUNK_ARG_STRING, 0 },
  { "port", "Port", "Default 993 (tls) or 143 (starttls)", SPLUNK_ARG_NUMBER,
    0 },
  { "security", "Security",
    "tls (default: TLS from the start) or starttls; "
    "a token is never sent without verified TLS",
    SPLUNK_ARG_STRING, 0 },
  { "ca_file", "CA file",
    "PEM file of the CAs to trust for the IMAP server "
    "(default: the system store)",
    SPLUNK_ARG_STRING, 0 },
  { "imap_username", "Mailbox",
    "The mailbox to log in to, e.g. "
    "dmarc@contoso.onmicrosoft.com",
    SPLUNK_ARG_STRING, 1 },
  { "oauth2_authority", "Authority",
    "Client credentials: "
    "https://login.microsoftonline.com/<tenant id>",
    SPLUNK_ARG_STRING, 0 },
  { "oauth2_scope", "Scope",
    "Default https://outlook.office365.com/.default "
    "(client credentials), none (refresh token)",
    SPLUNK_ARG_STRING, 0 },
  { "client_id", "Client id", "OAuth2 client (application) id",
    SPLUNK_ARG_STRING, 1 },
  { "client_secret", "Client secret",
    "OAuth2 client secret (required for "
    "client credentials)",
    SPLUNK_ARG_STRING, 0 },
  { "refresh_token", "Refresh token",
    "Use the refresh-token grant at "
    "token_url instead of client credentials",
    SPLUNK_ARG_STRING, 0 },
  { "token_url", "Token URL",
    "Token endpoint (refresh token; or instead of "
    "the authority)",
    SPLUNK_ARG_STRING, 0 },
  { "token_ca_file", "Token endpoint CA file",
    "PEM file of extra CAs for "
    "the token endpoint",
    SPLUNK_ARG_STRING, 0 },
  MAILBOX_SCHEME_FOLDER_ARGS,
  MAILBOX_SCHEME_END_ARGS,
};

static const struct splunk_scheme scheme = {
  "DMARC aggregate reports from IMAP with OAuth2",
  "Ingest DMARC aggregate reports (XML, gzip, zip; attached, inline or "
  "forwarded) from an IMAP folder, logging in with XOAUTH2 (Microsoft 365 "
  "client credentials, or a refresh token), one event per report record.",
  args,
};

/* The hooks get only the mailbox options: the OAuth2 settings live here. */
static struct mailbox_oauth oa;

enum {
  O_CLIENT_ID = 2000,
  O_SECRET_FILE,
  O_RT_FILE,
  O_TOKEN_URL,
  O_AUTHORITY,
  O_SCOPE,
  O_CACHE,
  O_TOKEN_CA,
  O_SECRET,
  O_RT,
};

static const struct option options[] = {
  { "client-id", required_argument, NULL, O_CLIENT_ID },
  { "client-secret-file", required_argument, NULL, O_SECRET_FILE },
  { "refresh-token-file", required_argument, NULL, O_RT_FILE },
  { "token-url", required_argument, NULL, O_TOKEN_URL },
  { "authority", required_argument, NULL, O_AUTHORITY },
  { "scope", required_argument, NULL, O_SCOPE },
  { "token-cache", required_argument, NULL, O_CACHE },
  { "token-ca-file", required_argument, NULL, O_TOKEN_CA },
  /* Spelled out so getopt never takes them as abbreviations of the
   * *-file options (the secret would then be taken for a file name). */
  { "client-secret", required_argument, NULL, O_SECRET },
  { "refresh-token", required_argument, NULL, O_RT },
};

static int flag(struct mailbox_opts *m, int id, const char *v)
{
  (void)m;
  switch(id) {
  case O_CLIENT_ID: oa.client_id = v; return 0;
  case O_SECRET_FILE: oa.client_secret_file = v; return 0;
  case O_RT_FILE: oa.refresh_token_file = v; return 0;
  case O_TOKEN_URL: oa.token_url = v; return 0;
  case O_AUTHORITY: oa.authority = v; return 0;
  case O_SCOPE: oa.scope = v; return 0;
  case O_CACHE: oa.token_cache = v; return 0;
  case O_TOKEN_CA: oa.ca_file = v; return 0;
  case O_SECRET:
  case O_RT:
    fprintf(stderr, "dmarc_imap_oauth2: secrets are never accepted on the "
                    "command line (they would show in the process list); use "
                    "--client-secret-file / --refresh-token-file\n");
    return -2;
  }
  return -1;
}

/* A secret param: kept as given, or fetched from storage/passwords when
 * the stanza masks it; *out owns a copy.  0, or -1 with err. */
static int secret_param(struct input_opts *io, const struct splunk_config *c,
                        const char *v, const char *field, char **out, char *err,
                        size_t errlen)
{
  if(!v)
    return 0;
  if(!(v = input_secret(io, c, v, field, err, errlen)))
    return -1;
  if(!(*out = strdup(v))) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

static int stanza(struct mailbox_opts *m, struct input_opts *io,
                  const struct splunk_config *c, char *err, size_t errlen)
{
  (void)m;
  oa.client_id = input_param(c, "client_id", "oauth2_client_id");
  oa.authority = input_param(c, "oauth2_authority", "authority");
  oa.scope = input_param(c, "oauth2_scope", "scope");
  oa.token_url = input_param(c, "token_url", "oauth2_token_url");
  oa.ca_file = input_param(c, "token_ca_file", NULL);
  oa.token_cache = input_param(c, "token_cache", NULL);
  if(secret_param(io, c,
                  input_param(c, "client_secret", "oauth2_client_secret"),
                  "client_secret", &oa.client_secret, err, errlen) ||
     secret_param(io, c,
                  input_param(c, "refresh_token", "oauth2_refresh_token"),
                  "refresh_token", &oa.refresh_token, err, errlen))
    return -1;
  return mailbox_oauth_check(&oa, err, errlen);
}

static int prepare(struct mailbox_opts *m, const struct input_opts *io,
                   char *err, size_t errlen)
{
  if(mailbox_oauth_prepare(&oa, io->checkpoint_dir, err, errlen))
    return -1;
  m->password = NULL;
  m->token = mailbox_oauth_token;
  m->token_ud = &oa;
  return 0;
}

int main(int argc, char **argv)
{
  static const struct mailbox_frontend fe = {
    .name = "dmarc_imap_oauth2",
    .proto = MAILBOX_IMAP,
    .default_server = DEFAULT_SERVER,
    .scheme = &scheme,
    .password = false,
    .extra_options = options,
    .extra_options_count = sizeof(options) / sizeof(options[0]),
    .extra_help =
        "OAuth2 (XOAUTH2 login; --username is the mailbox):\n"
        "  --client-id ID            OAuth2 client (application) id\n"
        "  --client-secret-file F    the client secret, first line of F\n"
        "  --authority URL           client credentials at Microsoft:\n"
        "                            https://login.microsoftonline.com/<tenant>\n"
        "  --refresh-token-file F    refresh-token grant (Gmail style): the "
        "token,\n"
        "                            first line of F\n"
        "  --token-url URL           the token endpoint (refresh token, or "
        "instead\n"
        "                            of --authority)\n"
        "  --scope S                 client credentials: default\n"
        "                            https://outlook.office365.com/.default;\n"
        "                            refresh token: none (the grant's own)\n"
        "  --token-cache FILE        token cache, mode 0600 (default: in the\n"
        "                            checkpoint dir)\n"
        "  --token-ca-file PEM       extra CAs for the token endpoint\n",
    .extra_flag = flag,
    .extra_stanza = stanza,
    .prepare = prepare,
  };
  int rc = mailbox_main(argc, argv, &fe);

  mailbox_oauth_free(&oa);
  return rc;
}
