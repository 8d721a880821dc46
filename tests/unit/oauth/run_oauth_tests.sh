#!/usr/bin/env bash
# run_oauth_tests.sh BINARY
# Starts tests/lib/oauth_server.py (HTTP and HTTPS on 127.0.0.1, with a
# throwaway self-signed certificate) and a Dovecot whose oauth2 passdb
# introspects tokens at that server (tests/lib/dovecot.sh, introspect
# mode), runs the cmocka BINARY with OAUTH_* and DOVETEST_* set, and stops
# everything.  Afterwards it checks that none of the test secrets appears
# in anything the binary printed or in the server's request log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${SRCDIR:-$(cd "$here/../../.." && pwd)}
bin=$1
tmp=$(mktemp -d /tmp/oat.XXXXXX)
spid=""
cleanup() {
  if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# Recognisable secrets: the last step greps for them.
export OAUTH_CLIENT_ID=dmarc-test-client
export OAUTH_CLIENT_SECRET=Cl13nt-S3cret-XYZZY-8f2e
export OAUTH_REFRESH_TOKEN=RT-PLUGH-refresh-41c9
export OAUTH_TMP=$tmp

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
export OAUTH_CA=$tmp/cert.pem

python3 "$src/tests/lib/oauth_server.py" \
  --client "$OAUTH_CLIENT_ID:$OAUTH_CLIENT_SECRET" \
  --client "other-client:other-secret" \
  --refresh-token "$OAUTH_CLIENT_ID:$OAUTH_REFRESH_TOKEN" \
  --user "${DOVETEST_USER:-testuser}" \
  --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" \
  </dev/null >"$tmp/ports" 2>"$tmp/server.log" &
spid=$!
for _ in $(seq 1 250); do grep -q '^OAUTH_TLS_PORT=' "$tmp/ports" 2>/dev/null && break; sleep 0.02; done
grep -q '^OAUTH_TLS_PORT=' "$tmp/ports" || { cat "$tmp/server.log" >&2; echo "oauth_server.py did not start" >&2; exit 1; }
OAUTH_PORT=$(sed -n 's/^OAUTH_PORT=//p' "$tmp/ports")
OAUTH_TLS_PORT=$(sed -n 's/^OAUTH_TLS_PORT=//p' "$tmp/ports")
export OAUTH_PORT OAUTH_TLS_PORT

set +e
DOVETEST_OAUTH=introspect \
DOVETEST_INTROSPECT_URL="http://127.0.0.1:$OAUTH_PORT/introspect" \
  "$src/tests/lib/dovecot.sh" run "$bin" >"$tmp/out.log" 2>&1
rc=$?
set -e
cat "$tmp/out.log"

leak=0
for s in "$OAUTH_CLIENT_SECRET" "$OAUTH_REFRESH_TOKEN"; do
  for f in "$tmp/out.log" "$tmp/server.log"; do
    if grep -qF -- "$s" "$f"; then
      echo "SECRET LEAK: a test secret appears in $(basename "$f")" >&2
      leak=1
    fi
  done
done
[ $leak = 0 ] || exit 1
exit $rc
