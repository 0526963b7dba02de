#!/usr/bin/env bash
# README command (b): install what is missing, build, and run the whole test suite with ctest.
# Set DLPOOL_SANITIZE=address,undefined or DLPOOL_SANITIZE=thread for an instrumented run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
sanitize=${DLPOOL_SANITIZE:-}
dir=build-test${sanitize:+-${sanitize//,/-}}
BUILD_DIR=$dir scripts/build.sh RelWithDebInfo -DDLPOOL_BUILD_TESTS=ON -DDLPOOL_SANITIZE="$sanitize"
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" --timeout 300
