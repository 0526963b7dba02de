#!/usr/bin/env bash
# README command (b): install what is missing, then build and run the whole test suite (ctest) in
# build-test (the preset test of CMakePresets.json). That is CI's run, which must end within 12
# minutes on 2 cores: a clean build is almost all of it, so CI builds once. The sanitizer builds
# are run before a change lands, each in its own build directory: DLPOOL_SANITIZE picks them,
# "address,undefined" (AddressSanitizer + UndefinedBehaviorSanitizer, preset asan-ubsan),
# "thread" (ThreadSanitizer, preset tsan), "all" (the plain suite and both), or any other
# -fsanitize= list.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh  # CI fails on unformatted code before building: fix it with scripts/check-format.sh --fix

run_suite() {
  local sanitize=$1 preset dir
  case $sanitize in
    "") preset=test ;;
    address,undefined) preset=asan-ubsan ;;
    thread) preset=tsan ;;
    *) preset=test dir=build-test-${sanitize//,/-} ;;  # any other -fsanitize= list, on the plain preset
  esac
  local args=(--preset "$preset")
  [[ -n ${dir-} ]] && args+=(-B "$dir" -DDLPOOL_SANITIZE="$sanitize")
  echo "== tests${sanitize:+ under -fsanitize=$sanitize} (preset $preset${dir:+, $dir})"
  cmake "${args[@]}" >/dev/null
  if [[ -n ${dir-} ]]; then
    cmake --build "$dir" -j "$(nproc)"
    ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 300
  else
    cmake --build --preset "$preset" -j "$(nproc)"
    ctest --preset "$preset" -j "$(nproc)"
  fi
}

case "${DLPOOL_SANITIZE-}" in
  all) for s in "" "address,undefined" "thread"; do run_suite "$s"; done ;;
  none | "") run_suite "" ;;
  *) run_suite "$DLPOOL_SANITIZE" ;;
esac
