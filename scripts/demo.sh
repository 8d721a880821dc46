#!/usr/bin/env bash
# Build TA-dmarc-c and run the folder input over the bundled sample reports.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
[ -d build ] || meson setup build -Dtests=false >/dev/null
meson compile -C build app >/dev/null   # builds, then copies the executables into bin/

echo "== bin/dmarc_directory --dir TA-dmarc-c/samples --quiet-time 0 --no-resolve-ip" >&2
bin/dmarc_directory --dir TA-dmarc-c/samples --quiet-time 0 --no-resolve-ip
