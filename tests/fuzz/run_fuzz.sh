#!/bin/sh
# Run one libFuzzer harness as a meson test.
#   run_fuzz.sh HARNESS SEED_DIR ARTIFACT_DIR [DICT]
# Fuzzes a scratch copy of SEED_DIR (the repository is never written) for
# FUZZ_SECONDS seconds (default 60; 0 only replays the seeds, a quick
# regression check) from FUZZ_SEED (default 1; 0 picks a random one).  Exits non-zero when the harness crashed, leaked,
# timed out or ran out of memory; the input that did it is kept in
# ARTIFACT_DIR and its path printed.
set -u
exe=$1 seeds=$2 artifacts=$3 dict=${4:-}
secs=${FUZZ_SECONDS:-60}
# A fixed seed by default, so a CI run retraces the path a local run of the
# same length took (FUZZ_SEED=0: a new random path each run).
seed=${FUZZ_SEED:-1}
name=$(basename "$exe")

case $secs in
  ''|*[!0-9]*) echo "FUZZ_SECONDS must be a whole number of seconds, not '$secs'" >&2
               exit 2 ;;
esac
case $seed in
  ''|*[!0-9]*) echo "FUZZ_SEED must be a whole number, not '$seed'" >&2
               exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$artifacts" || exit 2
cp -R "$seeds"/. "$work/corpus"/ || exit 2

# Crashes must be crashes: any UBSan report stops the run, a leak is
# reported at the end of every input.  ASan's quarantine of freed memory
# (256 MB by default) alone took fuzz_xsd to ~400 MB of RSS; 64 MB keeps
# every harness well under -rss_limit_mb.  Options already in the
# environment (meson sets some) come last, so they win.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:quarantine_size_mb=64${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

set -- -timeout=10 -rss_limit_mb=512 -malloc_limit_mb=512 -seed="$seed" \
       -print_final_stats=1 -artifact_prefix="$artifacts/"
[ -n "$dict" ] && set -- "$@" -dict="$dict"
if [ "$secs" -eq 0 ]; then
  set -- "$@" -runs=0            # replay the seeds only
else
  set -- "$@" -max_total_time="$secs"
fi

# libFuzzer prints a line per new input; keep the log, show its end.
# The outer timeout only catches a harness hung outside libFuzzer's own
# per-input timer (e.g. at start-up).
timeout -k 10 $((secs + 120)) "$exe" "$@" "$work/corpus" >"$work/log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  grep -v '^#[0-9]' "$work/log" | tail -n 120
  echo "$name: FAILED (exit $rc); artifacts in $artifacts:" >&2
  ls -l "$artifacts" >&2
  exit 1
fi
grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+(INITED|DONE))|^stat::' "$work/log"
echo "$name: ok, $(ls "$work/corpus" | wc -l) corpus entries after the run"
