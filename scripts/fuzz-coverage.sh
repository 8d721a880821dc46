#!/usr/bin/env bash
# Measure how much of the product code the fuzz seed corpora reach.
#   scripts/fuzz-coverage.sh [--markdown] [BUILD_DIR]
# Builds the libFuzzer harnesses in BUILD_DIR (default build-cov; clang,
# -fprofile-instr-generate -fcoverage-mapping, no sanitizers), replays each
# harness over its corpus in tests/data/fuzz-corpora/<harness>/ (or
# $FUZZ_CORPORA/<harness>/) with -runs=0, merges the profiles with
# llvm-profdata and prints the line coverage of every product file
# (common/, TA-dmarc-c/, soar-imap-c/; not tests/) and the total, from
# llvm-cov.  --markdown prints the table as Markdown (for FUZZING.md).
# Needs clang and llvm (Debian 12: the tools may be named llvm-cov-14).
# Exits non-zero only when it could not measure; low coverage is not an
# error.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

markdown=0
if [ "${1:-}" = "--markdown" ]; then
  markdown=1
  shift
fi
dir=${1:-build-cov}
corpora=${FUZZ_CORPORA:-$root/tests/data/fuzz-corpora}

tool() {   # the first of NAME, NAME-14..NAME-19, llvm-1x/bin/NAME that exists
  local t v
  for t in "$1" "$1"-{14..19}; do
    command -v "$t" >/dev/null 2>&1 && { command -v "$t"; return 0; }
  done
  for v in 14 15 16 17 18 19; do
    [ -x "/usr/lib/llvm-$v/bin/$1" ] && { echo "/usr/lib/llvm-$v/bin/$1"; return 0; }
  done
  echo "fuzz-coverage: $1 not found (apt-get install llvm)" >&2
  return 1
}
profdata=$(tool llvm-profdata) || exit 1
llvmcov=$(tool llvm-cov) || exit 1

flags="-fprofile-instr-generate -fcoverage-mapping"
# What meson runs while it configures and builds (compiler checks, code
# generators) is instrumented too: keep its profiles out of the checkout.
case $dir in /*) abs=$dir ;; *) abs=$root/$dir ;; esac
export LLVM_PROFILE_FILE="$abs/stray-profiles/%p.profraw"
if [ ! -d "$dir" ]; then
  CC=clang meson setup "$dir" -Dfuzzers=true -Dfuzz_sanitizers=false \
    -Db_lundef=false -Dtests=false -Dc_args="$flags" -Dc_link_args="$flags" \
    >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
fi
meson compile -C "$dir" >"$dir/fuzz-coverage-compile.log" 2>&1 ||
  { tail -n 40 "$dir/fuzz-coverage-compile.log"; exit 1; }

prof=$dir/profiles
rm -rf "$prof"
mkdir -p "$prof"
objects=()
sizes=()
for exe in "$dir"/tests/fuzz/fuzz_*; do
  [ -f "$exe" ] && [ -x "$exe" ] || continue
  name=$(basename "$exe")
  seeds=$corpora/$name
  # every harness is an object, so the code only it links counts (at 0%
  # when it has no corpus) and totals stay comparable
  objects+=("$exe")
  [ -d "$seeds" ] || { echo "fuzz-coverage: no corpus $seeds" >&2; continue; }
  sizes+=("$name $(find "$seeds" -type f | wc -l)")
  # -runs=0 over the folder runs every file once; the profile is written at
  # exit.  A crash here is the fuzz suite's business, not this report's.
  LLVM_PROFILE_FILE="$prof/$name-%p.profraw" \
    "$exe" -runs=0 -timeout=30 -rss_limit_mb=2048 "$seeds" \
    >"$prof/$name.log" 2>&1 ||
    echo "fuzz-coverage: $name exited non-zero over its corpus (see $prof/$name.log)" >&2
done
[ ${#objects[@]} -gt 0 ] || { echo "fuzz-coverage: no harness in $dir/tests/fuzz" >&2; exit 1; }
"$profdata" merge -sparse "$prof"/*.profraw -o "$prof/merged.profdata" || exit 1

args=(-instr-profile "$prof/merged.profdata" "${objects[0]}")
for o in "${objects[@]:1}"; do
  args+=(-object "$o")
done
"$llvmcov" export -summary-only "${args[@]}" >"$prof/summary.json" || exit 1

python3 - "$prof/summary.json" "$root" "$dir" "$markdown" "${sizes[@]}" <<'PY'
import json, os, sys
summary, root, build, markdown = sys.argv[1:5]
sizes = sys.argv[5:]
markdown = markdown == "1"
rows = []
for f in json.load(open(summary))["data"][0]["files"]:
    path = f["filename"]
    if not os.path.isabs(path):
        path = os.path.join(build, path)
    rel = os.path.relpath(os.path.realpath(path), root)
    if not rel.startswith(("common/", "TA-dmarc-c/", "soar-imap-c/")):
        continue
    l = f["summary"]["lines"]
    if l["count"] == 0:          # a header with nothing to run
        continue
    rows.append((rel, l["count"], l["covered"]))
rows.sort()
total = sum(r[1] for r in rows)
cov = sum(r[2] for r in rows)
pct = lambda c, n: 100.0 * c / n if n else 100.0
if markdown:
    print("| file | lines | covered | % |")
    print("|---|---:|---:|---:|")
    for rel, n, c in rows:
        print("| `%s` | %d | %d | %.1f |" % (rel, n, c, pct(c, n)))
    print("| **total** | %d | %d | %.1f |" % (total, cov, pct(cov, total)))
    print()
    print("Corpus sizes (files): " + ", ".join(s.replace(" ", " ") for s in sizes))
else:
    print("fuzz coverage (lines reached by the seed corpora):")
    w = max([len(r[0]) for r in rows] + [5])
    for rel, n, c in rows:
        print("  %-*s %6d %6d %6.1f%%" % (w, rel, n, c, pct(c, n)))
    print("  %-*s %6d %6d %6.1f%%" % (w, "TOTAL", total, cov, pct(cov, total)))
    print("  corpora: " + ", ".join(sizes))
PY
