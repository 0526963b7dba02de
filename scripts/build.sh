#!/usr/bin/env bash
# Configures and builds into BUILD_DIR (default: build), from the release preset of
# CMakePresets.json (Ninja, no tests). Usage: scripts/build.sh [Release|Debug|...] [cmake args...]
# (for instance -DDLPOOL_BUILD_TESTS=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
type=${1:-Release}
shift || true
dir=${BUILD_DIR:-build}
cmake --preset release -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
