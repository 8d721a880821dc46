#!/usr/bin/env bash
# Install the Debian 12 packages the project needs.
#   scripts/install-deps.sh          build and run
#   scripts/install-deps.sh --test   also what the test suite needs
set -euo pipefail

want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (apt-get install)" >&2
  exit 2
fi

build_pkgs=(
  meson ninja-build pkg-config gcc
  libssl-dev libcurl4-openssl-dev libexpat1-dev zlib1g-dev libminizip-dev
  libcjson-dev libxml2-dev libc-ares-dev libopendkim-dev libpsl-dev
  gzip zip
  ca-certificates        # the trust store TLS verifies against (a minimal
                         # image has none)
)
# Everything a test or script runs or reads, because a minimal Debian 12
# (a container image, debootstrap --variant=minbase) has none of it.
test_pkgs=(
  libcmocka-dev python3 dnsmasq-base
  clang llvm libclang-rt-14-dev   # fuzz and sanitizer runtimes (not pulled in by clang)
  dovecot-imapd dovecot-pop3d
  openssl                # test certificates and keys
  procps                 # ps, pkill in the server helpers
  mount util-linux       # mount/umount (full-disk tests), setsid
  opendkim-tools
  clang-format           # tests/format.sh: the house layout
)

pkgs=("${build_pkgs[@]}")
[ "$want_tests" = 1 ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

# Installing dovecot must not start a system-wide server on 143/993/110/995:
# the tests start their own on 127.0.0.1.  policy-rc.d tells the package
# scripts not to start services.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
