#!/usr/bin/env bash
# Checks that every tracked C and C++ source is formatted as .clang-format says: lists the files
# clang-format would change and exits 1 if there are any. `--fix` formats them instead.
# Usage: scripts/check-format.sh [--fix]
#
# One clang-format major version only (CLANG_FORMAT_MAJOR): another version formats some
# constructs differently, and the check would then fail on code formatted by the right one.
# scripts/install-deps.sh installs it (Debian 12: clang-format-16). CLANG_FORMAT=path picks a binary.
set -euo pipefail
cd "$(dirname "$0")/.."

major=16
fix=false
case "${1-}" in
  --fix) fix=true ;;
  "") ;;
  *) echo "usage: $0 [--fix]" >&2; exit 2 ;;
esac

clang_format=""
for candidate in ${CLANG_FORMAT:-clang-format-$major clang-format}; do
  command -v "$candidate" >/dev/null || continue
  version=$("$candidate" --version | sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p')
  if [[ $version == "$major" ]]; then clang_format=$candidate; break; fi
  echo "$candidate is clang-format ${version:-of an unknown version}, not $major: skipped" >&2
done
if [[ -z $clang_format ]]; then
  echo "clang-format $major not found: run scripts/install-deps.sh (Debian 12: apt-get install clang-format-$major)" >&2
  exit 2
fi

# Tracked sources only, without the fuzz corpus (inputs, not code), vendored code and the peer
# benchmark's files (tools/bench/peer: copies of ../shared/peer-bench, kept byte for byte).
mapfile -t files < <(git ls-files -- '*.c' '*.h' '*.cpp' '*.hpp' '*.hpp.in' \
  ':!:tests/fuzz/corpus/**' ':!:third_party/**' ':!:third-party/**' ':!:tools/bench/peer/**')
if ((${#files[@]} == 0)); then
  echo "no sources found: run this from a git checkout of dlpool" >&2
  exit 2
fi

if $fix; then
  "$clang_format" -i --style=file "${files[@]}"
  exit 0
fi

# --dry-run --Werror reports each place as "file:line:col: error: code should be clang-formatted".
status=0
report=$("$clang_format" --dry-run --Werror --style=file "${files[@]}" 2>&1) || status=$?
unformatted=$(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' <<<"$report" | sort -u)
if [[ -n $unformatted ]]; then
  echo "not formatted as .clang-format says ($clang_format); run scripts/check-format.sh --fix:" >&2
  echo "$unformatted" >&2
  exit 1
fi
if ((status != 0)); then
  echo "$report" >&2
  echo "$clang_format failed (exit $status)" >&2
  exit 2
fi
echo "format: ${#files[@]} files formatted ($clang_format)"
