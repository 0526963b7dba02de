#!/usr/bin/env bash
# README command (a): install what is missing, build (the release preset, in build-release), and
# run the main job: text statistics of every license text under /usr/share/common-licenses,
# computed on a pool, one JSON line per file, then a summary line on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" >&2  # stdout is the job's JSON lines only
find /usr/share/common-licenses -type f | sort | sed 's/.*/["&"]/' |
  build-release/bin/dlpool map text file_stats -j "$(nproc)"
