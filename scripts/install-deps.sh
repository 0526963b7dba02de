#!/usr/bin/env bash
# Installs the Debian 12 packages dlpool builds with, if any is missing. Idempotent and
# non-interactive: it runs apt-get only when something is absent.
set -euo pipefail

# python3 (standard library only): scripts/bench.sh runs the CPython peer and prints its table with it.
# tmux: the CLI tests draw `dlpool map`'s progress bar in a real terminal.
# clang-format-16: scripts/check-format.sh, which test.sh runs first (one version: see that script).
# openmpi-bin, libopenmpi-dev: the MPI scale-out (dlpool-agent, PoolOptions::mpi) and its tests under mpirun.
# python3-mpi4py: the mpi4py.futures peer scripts/bench.sh compares the scale-out with.
# chromium: the CLI tests (ReportPage.*) load `dlpool report --html`'s page in headless Chromium and
#   count through its DOM what the page's script drew; they fail without it.
packages=(g++ cmake ninja-build libboost-dev libcereal-dev libcli11-dev libgtest-dev zlib1g-dev libssl-dev nettle-dev libspdlog-dev
          python3 tmux libelf-dev libseccomp-dev clang-format-16
          openmpi-bin libopenmpi-dev python3-mpi4py
          chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
