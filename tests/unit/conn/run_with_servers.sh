#!/usr/bin/env bash
# run_with_servers.sh SEED BINARY
# Starts the fake servers (fake_server.py) and a throwaway Dovecot
# (tests/lib/dovecot.sh), runs SEED DOVETEST_DIR (unless SEED is "-"), then
# the cmocka BINARY with FAKE_PORTS and DOVETEST_* in its environment.
# Everything listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${SRCDIR:-$(cd "$here/../../.." && pwd)}
seed=$1
bin=$2
tmp=$(mktemp -d /tmp/cts.XXXXXX)
python3 "$here/fake_server.py" "$tmp/ports" </dev/null >"$tmp/fake.log" 2>&1 &
fpid=$!
cleanup() {
  kill "$fpid" 2>/dev/null || true
  wait "$fpid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
for _ in $(seq 1 250); do [ -s "$tmp/ports" ] && break; sleep 0.02; done
[ -s "$tmp/ports" ] || { cat "$tmp/fake.log" >&2; echo "fake_server did not start" >&2; exit 1; }
export FAKE_PORTS="$tmp/ports"
"$src/tests/lib/dovecot.sh" run bash -c \
  'if [ "$0" != - ]; then "$0" "$DOVETEST_DIR" >/dev/null; fi; "$1"' "$seed" "$bin"
