#!/usr/bin/env bash
# README command (b): install what is missing, then build and run the whole test suite (ctest)
# three times: plain, under AddressSanitizer + UndefinedBehaviorSanitizer, and under
# ThreadSanitizer, each in its own build directory. DLPOOL_SANITIZE picks one configuration:
# "none", "address,undefined" or "thread".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

run_suite() {
  local sanitize=$1
  local dir=build-test${sanitize:+-${sanitize//,/-}}
  echo "== tests${sanitize:+ under -fsanitize=$sanitize} ($dir)"
  BUILD_DIR=$dir scripts/build.sh RelWithDebInfo -DDLPOOL_BUILD_TESTS=ON -DDLPOOL_SANITIZE="$sanitize"
  ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 300
}

case "${DLPOOL_SANITIZE-all}" in
  all) for s in "" "address,undefined" "thread"; do run_suite "$s"; done ;;
  none | "") run_suite "" ;;
  *) run_suite "$DLPOOL_SANITIZE" ;;
esac
