#!/usr/bin/env bash
# README command (b): install what is missing, then build and run the whole test suite (ctest) in
# build-test (the preset test of CMakePresets.json), then the pool's and the worker's tests
# (pool_test, worker_test: the runtime, the worker, the SDK and the test plugins under them) under
# AddressSanitizer + UndefinedBehaviorSanitizer in build-asan-ubsan. That is CI's run, which must
# end within 12 minutes on 2 cores, nearly all of it compiling: the whole suite under the
# sanitizers is run before a change lands, each in its own build directory. DLPOOL_SANITIZE picks
# the run: "none" (the plain suite alone), "address,undefined" (the whole suite under ASan +
# UBSan, preset asan-ubsan), "thread" (ThreadSanitizer, preset tsan), "all" (the plain suite and
# both whole), or any other -fsanitize= list.
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

# The executables whose tests CI runs under ASan + UBSan (tests/CMakeLists.txt labels each test
# with its executable), and only what they need built.
core_under_asan() {
  echo "== pool_test and worker_test under -fsanitize=address,undefined (preset asan-ubsan)"
  cmake --preset asan-ubsan >/dev/null
  cmake --build --preset asan-ubsan -j "$(nproc)" --target pool_test worker_test
  ctest --preset asan-ubsan -j "$(nproc)" -L '^(pool_test|worker_test)$'
}

case "${DLPOOL_SANITIZE-default}" in
  default) run_suite "" && core_under_asan ;;
  all) for s in "" "address,undefined" "thread"; do run_suite "$s"; done ;;
  none | "") run_suite "" ;;
  *) run_suite "$DLPOOL_SANITIZE" ;;
esac
