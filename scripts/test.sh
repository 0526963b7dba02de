#!/usr/bin/env bash
# README command (b): install what is missing, then build and run the whole test suite (ctest)
# twice: plain, and under AddressSanitizer + UndefinedBehaviorSanitizer, each in its own build
# directory. DLPOOL_SANITIZE picks other configurations: "none", "address,undefined", "thread"
# (ThreadSanitizer: run before a change to the runtime's threads lands; three builds would take
# CI past its time on 2 cores), or "all" for the three.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh  # CI fails on unformatted code before building: fix it with scripts/check-format.sh --fix

run_suite() {
  local sanitize=$1
  local dir=build-test${sanitize:+-${sanitize//,/-}}
  echo "== tests${sanitize:+ under -fsanitize=$sanitize} ($dir)"
  BUILD_DIR=$dir scripts/build.sh RelWithDebInfo -DDLPOOL_BUILD_TESTS=ON -DDLPOOL_SANITIZE="$sanitize"
  ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 300
}

case "${DLPOOL_SANITIZE-default}" in
  default) for s in "" "address,undefined"; do run_suite "$s"; done ;;
  all) for s in "" "address,undefined" "thread"; do run_suite "$s"; done ;;
  none | "") run_suite "" ;;
  *) run_suite "$DLPOOL_SANITIZE" ;;
esac
