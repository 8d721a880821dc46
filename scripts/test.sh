#!/usr/bin/env bash
# Install what the tests need, build, and run the whole suite twice: a
# normal build and an ASan+UBSan build; then, in a clang build with
# -Dfuzzers=true (build-fuzz), the libFuzzer harnesses of tests/fuzz, and
# the line coverage their corpora reach (scripts/fuzz-coverage.sh, build-cov).
# Ends with "N passed, N failed".
#   FUZZ_SECONDS=N  fuzz each of the 15 harnesses N seconds, two at a time
#                   (default 60: about 8 minutes); 0 only replays the seed
#                   corpora, a quick regression check
#   FUZZ_SEED=N     libFuzzer's seed (default 1, so CI retraces a local run;
#                   0: random)
#   SOAK=1          long crash/restart loops
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test || exit 1

run_suite() {   # $1 build dir, rest: meson setup options
  local dir=$1; shift
  rm -f "$dir/meson-logs/testlog.json"
  # an existing folder (scripts/demo.sh makes build/ without tests) gets
  # this suite's options too
  if [ -d "$dir" ]; then
    meson configure "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  else
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
  fi
  meson compile -C "$dir" || return 1
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${MESON_TEST_ARGS[@]}"
}

MESON_TEST_ARGS=()
status=0
# Warnings are errors here, in CI, and never in the defaults a user's build
# gets (a newer compiler may warn more).
run_suite build -Dtests=true -Dwerror=true || status=1
run_suite build-asan -Dtests=true -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false || status=1
MESON_TEST_ARGS=(--suite fuzz)
export FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CC=clang run_suite build-fuzz -Dfuzzers=true -Db_lundef=false -Dtests=true -Dwerror=true || status=1

# How much of the product code the seed corpora reach (FUZZING.md): a table
# for the log, never a failure, and printed before the count below, which
# stays the last line.
scripts/fuzz-coverage.sh build-cov || echo "fuzz coverage: not measured"

python3 - build build-asan build-fuzz <<'PY'
import json, os, sys
passed = failed = skipped = 0
for d in sys.argv[1:]:
    p = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(p):
        failed += 1
        print(f"{d}: no test log (build failed)")
        continue
    for line in open(p):
        r = json.loads(line).get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
