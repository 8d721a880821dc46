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
bad=0 n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  if ! "$fmt" --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "format: $f differs from clang-format's layout (clang-format -i $f)"
    bad=$((bad + 1))
  fi
done < <(find common TA-dmarc-c soar-imap-c tests -path tests/data -prune -o \
           -name '*.[ch]' -print0 | sort -z)
echo "format: $n files, $bad differ"
[ "$bad" = 0 ]
