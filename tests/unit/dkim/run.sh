#!/bin/sh
# Run the dkim unit tests against a private dnsmasq on loopback
# (tests/lib/dnsmasq.sh) serving DKIM keys made here with opendkim-genkey:
#   sel1._domainkey.example.test     the public key of sel1 (signatures pass)
#   sel2._domainkey.example.test     the public key of "other", not sel2's:
#                                    sel2 signatures fail (signature mismatch)
#   revoked._domainkey.example.test  "v=DKIM1; k=rsa; p=" (key revoked)
#   no record for any other selector (no key)
# The private keys stay in the work directory; the test binary signs with
# them (KEYDIR) and verifies through dnsmasq (DNS_PORT).
# usage: run.sh TEST-BINARY
set -eu

bin=$1
here=$(cd "$(dirname "$0")" && pwd)
dnsmasq_sh=$here/../../lib/dnsmasq.sh
genkey=${OPENDKIM_GENKEY:-/usr/sbin/opendkim-genkey}
work=$(mktemp -d "${TMPDIR:-/tmp}/dkim-test.XXXXXX")

cleanup() {
    "$dnsmasq_sh" stop "$work" || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

[ -x "$genkey" ] || { echo "$0: $genkey not found (package opendkim-tools)" >&2; exit 1; }
for s in sel1 sel2 other; do
    "$genkey" -D "$work" -d example.test -s "$s"
done

# record NAME KEYFILE: a dnsmasq txt-record line with the TXT data of
# opendkim-genkey's zone snippet.  A TXT string holds at most 255 bytes, so
# the joined value is cut into 255-byte strings, which dnsmasq takes as
# separate comma-separated quoted arguments (verifiers concatenate them).
record() {
    python3 - "$1" "$2" <<'PY'
import re, sys
name, path = sys.argv[1], sys.argv[2]
value = "".join(re.findall(r'"([^"]*)"', open(path).read()))
parts = [value[i:i + 255] for i in range(0, len(value), 255)]
print("txt-record=%s,%s" % (name, ",".join('"%s"' % p for p in parts)))
PY
}

{
    record sel1._domainkey.example.test "$work/sel1.txt"
    record sel2._domainkey.example.test "$work/other.txt"
    echo 'txt-record=revoked._domainkey.example.test,"v=DKIM1; k=rsa; p="'
} >"$work/records.conf"

eval "$("$dnsmasq_sh" start "$work")"

DNS_PORT=$DNS_PORT KEYDIR=$work "$bin"

# The pass test's key really came from dnsmasq: it was asked for it.
"$dnsmasq_sh" stop "$work"
if ! grep -q 'query\[TXT\] sel1\._domainkey\.example\.test' "$work/dnsmasq.log"; then
    echo "FAIL: dnsmasq was never asked for sel1._domainkey.example.test" >&2
    exit 1
fi
echo "dnsmasq served sel1._domainkey.example.test"
