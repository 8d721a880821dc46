#!/bin/sh
# Run the dns unit tests against private servers on loopback:
#   dnsmasq (tests/lib/dnsmasq.sh) with records.conf plus 200 bulk hosts,
#   a blackhole that never answers, a server that answers after 200 ms,
#   and, when the host has ::1, an instant server on [::1].
# usage: run.sh TEST-BINARY
set -eu

bin=$1
here=$(cd "$(dirname "$0")" && pwd)
dnsmasq_sh=$here/../../lib/dnsmasq.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/dns-test.XXXXXX")
pids=""

cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null || true
    done
    # Reap them: a helper still writing into $work would make rm fail.
    for p in $pids; do
        wait "$p" 2>/dev/null || true
    done
    "$dnsmasq_sh" stop "$work" || true
    rm -rf "$work" 2>/dev/null || { sleep 0.2; rm -rf "$work"; }
}
trap cleanup EXIT INT TERM

cp "$here/records.conf" "$work/records.conf"
i=1
while [ $i -le 200 ]; do
    echo "host-record=bulk$i.test,10.77.$((i / 100)).$((i % 100))" >>"$work/records.conf"
    i=$((i + 1))
done

eval "$("$dnsmasq_sh" start "$work")"

# fake NAME ARGS...: start fakedns.py, wait for its port file.
fake() {
    name=$1
    shift
    python3 "$here/fakedns.py" --port-file "$work/$name.port" "$@" \
        2>"$work/$name.err" &
    pids="$pids $!"
    n=0
    while [ ! -f "$work/$name.port" ] && [ $n -lt 50 ]; do
        kill -0 $! 2>/dev/null || return 1
        sleep 0.1
        n=$((n + 1))
    done
    [ -f "$work/$name.port" ]
}

fake blackhole --never
fake slow --delay-ms 200
V6_PORT=
if fake v6 --bind ::1 --delay-ms 0; then
    V6_PORT=$(cat "$work/v6.port")
else
    echo "no ::1 here; the [::1]:PORT test will be skipped" >&2
fi

DNS_PORT=$DNS_PORT BLACKHOLE_PORT=$(cat "$work/blackhole.port") \
SLOW_PORT=$(cat "$work/slow.port") V6_PORT=$V6_PORT "$bin"

# The cache test submitted 192.0.2.77 several times; dnsmasq must have been
# asked for its PTR exactly once.
"$dnsmasq_sh" stop "$work"
n=$(grep -c 'query\[PTR\] 77\.2\.0\.192\.in-addr\.arpa' "$work/dnsmasq.log" || true)
if [ "$n" != 1 ]; then
    echo "FAIL: dnsmasq saw $n PTR queries for 192.0.2.77, expected 1" >&2
    exit 1
fi
echo "dnsmasq saw exactly one PTR query for the cached address"
