#!/usr/bin/env bash
# The house layout (CODE_STYLE.md): every C file of the tree is as
# clang-format (with the root's .clang-format) prints it.  Lists the files
# that differ and how to fix them.
#   tests/format.sh [SRCDIR]
set -uo pipefail
src=${1:-$(dirname "$0")/..}
cd "$src" || exit 2
fmt=${CLANG_FORMAT:-clang-format}
command -v "$fmt" >/dev/null || { echo "format: $fmt not found (scripts/install-deps.sh --test)"; exit 2; }
mapfile -d '' files < <(find common TA-dmarc-c soar-imap-c tests -path tests/data -prune -o \
                          -name '*.[ch]' -print0 | sort -z)
# One clang-format for all files (a process per file took 15 s); each
# difference is reported as "FILE:LINE:COL: error: ...".
out=$("$fmt" --dry-run --Werror "${files[@]}" 2>&1)
bad=$(printf '%s\n' "$out" | grep -oE '^[^:]+\.[ch]:[0-9]+:[0-9]+: error' | cut -d: -f1 | sort -u)
for f in $bad; do
  echo "format: $f differs from clang-format's layout (clang-format -i $f)"
done
n_bad=$(printf '%s' "$bad" | grep -c . || true)
echo "format: ${#files[@]} files, $n_bad differ"
[ "$n_bad" = 0 ] && ! printf '%s\n' "$out" | grep -q 'error: ' 
