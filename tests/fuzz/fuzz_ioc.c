/*
 * fuzz_ioc: indicator extraction (soar-imap-c/ioc/ioc.h) over a text or an HTML
 * body, with the kinds switched on and off.
 *
 * Input layout:
 *   byte 0  bit 0: HTML (ioc_scan_html) instead of text (ioc_scan_text)
 *           bits 1-4: ips, hashes, urls, domains off (each bit turns one off)
 *           bit 5: collect the HTML's visible text (text_out)
 *           bit 6: scan the body a second time into the same result
 *   rest    the body
 * Checks what ioc.h promises of every value: each kind validates (IPs by
 * ioc_is_ipv4/6, URLs by ioc_url_host, domains by ioc_domain_ok and lower
 * case, hashes 32/40/64/128 hex digits), no value twice, lists capped,
 * kinds turned off stay empty, and a second scan of the same body adds
 * nothing.  Values are UTF-8 when the body was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioc.h"
#include "buf.h"
#include "fuzz_common.h"

static bool hex_run(const char *s, size_t n)
{
  if(n != 32 && n != 40 && n != 64 && n != 128)
    return false;
  for(size_t i = 0; i < n; i++)
    if(!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
         (s[i] >= 'A' && s[i] <= 'F')))
      return false;
  return true;
}

static void check_value(enum ioc_kind k, const char *v, bool utf8)
{
  size_t n = strlen(v);
  const char *host;
  size_t hl;

  FUZZ_CHECK(n > 0 && n <= IOC_MAX_VALUE);
  if(utf8)
    FUZZ_CHECK(fuzz_utf8_ok(v, n));
  switch(k) {
  case IOC_IP: FUZZ_CHECK(ioc_is_ipv4(v, n) || ioc_is_ipv6(v, n)); break;
  case IOC_HASH: FUZZ_CHECK(hex_run(v, n)); break;
  case IOC_URL:
    FUZZ_CHECK(ioc_url_host(v, n, &host, &hl) == 1);
    FUZZ_CHECK(host >= v && host + hl <= v + n);
    break;
  case IOC_DOMAIN:
    FUZZ_CHECK(ioc_domain_ok(v, n));
    for(size_t i = 0; i < n; i++)
      FUZZ_CHECK(!(v[i] >= 'A' && v[i] <= 'Z'));
    break;
  default: FUZZ_CHECK(!"no such kind");
  }
}

static int scan(struct ioc_result *r, const struct ioc_opts *o, bool html,
                const char *body, size_t len, struct buf *text)
{
  return html ? ioc_scan_html(r, o, body, len, text)
              : ioc_scan_text(r, o, body, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct ioc_opts o;
  struct ioc_result *r;
  struct buf text;
  size_t before[IOC_NKINDS];
  const char *body;
  bool html, utf8, on[IOC_NKINDS];
  uint8_t mode;

  if(size < 1)
    return 0;
  mode = data[0];
  body = (const char *)data + 1;
  size--;
  html = mode & 1;
  o.ips = !(mode & 2);
  o.hashes = !(mode & 4);
  o.urls = !(mode & 8);
  o.domains = !(mode & 16);
  on[IOC_IP] = o.ips;
  on[IOC_HASH] = o.hashes;
  on[IOC_URL] = o.urls;
  on[IOC_DOMAIN] = o.domains;
  utf8 = fuzz_utf8_ok(body, size);

  r = ioc_result_new();
  if(!r)
    return 0;
  buf_init(&text, IOC_MAX_HTML_TEXT);
  if(scan(r, &o, html, body, size, (mode & 32) ? &text : NULL) == 0) {
    for(int k = 0; k < IOC_NKINDS; k++) {
      size_t n = ioc_count(r, (enum ioc_kind)k);
      FUZZ_CHECK(n <= IOC_MAX_PER_KIND);
      /* Domains also come from URLs, so they need urls or domains on. */
      FUZZ_CHECK(on[k] || n == 0);
      for(size_t i = 0; i < n; i++) {
        const char *v = ioc_get(r, (enum ioc_kind)k, i);
        FUZZ_CHECK(v != NULL);
        check_value((enum ioc_kind)k, v, utf8);
        /* Kept once: quadratic, so only on short lists. */
        for(size_t j = 0; n <= 64 && j < i; j++)
          FUZZ_CHECK(strcmp(v, ioc_get(r, (enum ioc_kind)k, j)) != 0);
      }
      before[k] = n;
    }
    if(text.len)
      FUZZ_CHECK(strlen(text.data) <= text.len);
    if(mode & 64) {
      size_t dropped = ioc_dropped(r);
      if(scan(r, &o, html, body, size, NULL) == 0 && ioc_dropped(r) == dropped)
        for(int k = 0; k < IOC_NKINDS; k++)
          FUZZ_CHECK(ioc_count(r, (enum ioc_kind)k) == before[k]);
    }
  }
  buf_free(&text);
  ioc_result_free(r);
  return 0;
}
