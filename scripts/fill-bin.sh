#!/usr/bin/env bash
# Copy the shipped executables of a build into the checkout's bin/ (the
# Splunk app's bin/).  Run by `meson compile -C BUILD app`, never as a side
# effect of a build: two people building from one checkout, or a sanitizer
# build, must not silently replace what gets shipped.
#   fill-bin.sh DEST SANITIZE FUZZERS EXE...
set -euo pipefail
dest=$1 sanitize=$2 fuzzers=$3; shift 3
if [ "$sanitize" != none ] || [ "$fuzzers" != false ]; then
  echo "app: this build is instrumented (b_sanitize=$sanitize, fuzzers=$fuzzers);" \
       "only a plain build fills bin/" >&2
  exit 1
fi
mkdir -p "$dest"
for exe in "$@"; do
  install -m 0755 "$exe" "$dest/"
  echo "app: $dest/$(basename "$exe")"
done
