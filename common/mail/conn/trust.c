/*
 * trust: where the system keeps its trusted CA certificates (see conn.h).
 *
 * Each distribution puts its bundle somewhere else, and a minimal system
 * (a container image, a debootstrap) may have none at all.  Saying which
 * paths were tried turns "certificate verify failed" hours later into one
 * line a user can act on when the run starts.
 */
#include "conn.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "buf.h"

/* The bundles of the Linux systems Splunk and SOAR run on, most common
 * first.  OpenSSL's own compiled-in file comes first of all (below). */
static const char *const bundles[] = {
  "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu */
  "/etc/pki/tls/certs/ca-bundle.crt",                  /* RHEL, Amazon Linux */
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 8+ */
  "/etc/ssl/ca-bundle.pem",                            /* SUSE */
  "/var/lib/ca-certificates/ca-bundle.pem",            /* SUSE */
  "/etc/ssl/cert.pem",                                 /* Alpine */
};

/* $SSL_CERT_FILE, when set, is the system bundle and the only one tried
 * (OpenSSL honours it the same way). */
static const char *forced(void)
{
  const char *e = getenv("SSL_CERT_FILE");

  return e && *e ? e : NULL;
}

const char *conn_system_ca_file(void)
{
  const char *f = forced();

  if(f)
    return access(f, R_OK) == 0 ? f : NULL;
  f = X509_get_default_cert_file();
  if(f && access(f, R_OK) == 0)
    return f;
  for(size_t i = 0; i < sizeof(bundles) / sizeof(bundles[0]); i++)
    if(access(bundles[i], R_OK) == 0)
      return bundles[i];
  return NULL;
}

/* True when dir holds at least one certificate link named the way OpenSSL
 * looks them up (8 hex digits, '.', a digit): an empty /etc/ssl/certs is
 * what a system without ca-certificates has. */
static bool has_hashed_certs(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  bool found = false;

  if(!d)
    return false;
  while(!found && (e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    size_t i = 0;
    while(i < 8 && isxdigit((unsigned char)n[i]))
      i++;
    found = i == 8 && n[8] == '.' && isdigit((unsigned char)n[9]);
  }
  closedir(d);
  return found;
}

const char *conn_system_ca_dir(void)
{
  const char *d = getenv("SSL_CERT_DIR");

  if(!d || !*d)
    d = X509_get_default_cert_dir();
  return d && has_hashed_certs(d) ? d : NULL;
}

void conn_no_system_ca_error(char *err, size_t errlen, const char *peer)
{
  const char *f = forced();
  struct buf b;

  buf_init(&b, 4096);
  buf_printf(&b, "TLS: no trusted CA certificates for %s: none of ", peer);
  if(f) {
    buf_printf(&b, "%s ($SSL_CERT_FILE)", f);
  }
  else {
    buf_puts(&b, X509_get_default_cert_file());
    for(size_t i = 0; i < sizeof(bundles) / sizeof(bundles[0]); i++)
      buf_printf(&b, ", %s", bundles[i]);
  }
  if(!f || getenv("SSL_CERT_DIR"))
    buf_printf(&b, " or certificates in %s",
               getenv("SSL_CERT_DIR") ? getenv("SSL_CERT_DIR")
                                      : X509_get_default_cert_dir());
  buf_puts(&b, " exists; install the system's CA bundle (ca-certificates) "
               "or give a CA file");
  /* a message cut at errlen still names the peer and the first paths */
  snprintf(err, errlen, "%.*s", (int)b.len, b.len ? b.data : "");
  buf_free(&b);
}
