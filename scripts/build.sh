#!/usr/bin/env bash
# Configures and builds into BUILD_DIR (default: build). Usage: scripts/build.sh [Release|Debug|...] [cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
type=${1:-Release}
shift || true
dir=${BUILD_DIR:-build}
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
