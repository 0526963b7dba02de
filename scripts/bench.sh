#!/usr/bin/env bash
# The benchmark in one command: installs what is missing (scripts/install-deps.sh), builds
# dlpool-bench in Release (BUILD_DIR, default build-release) if needed, compiles the pipe floor,
# runs dlpool-bench, the CPython peer and the floor one after the other, and prints the
# comparison table with the goals (tools/bench/bench_table.py).
#
# Usage: scripts/bench.sh [--quick] [--processes P] [--only NAME[,NAME]] [--repeat R] [--peer-runs N]
#   --quick       the peer's smaller sizes (a smoke run of a few seconds per peer)
#   --processes   workers for both pools (default: nproc)
#   --only        workloads to run, as dlpool-bench and the peer name them
#   --repeat      dlpool-bench runs each workload R times and reports the median (default 5, 3 quick)
#   --peer-runs   runs of the CPython peer; the table takes each workload's median (default 3, 1 quick)
# Environment: BUILD_DIR, PYTHON (default python3), CC (default cc).
# Every JSON line goes to $BUILD_DIR/bench/results.jsonl; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '/^# Usage:/,/^# Every JSON/p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "bench.sh: $*" >&2; exit 2; }

quick=0 processes=$(nproc) only="" repeat="" peer_runs=""
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --processes | --only | --repeat | --peer-runs)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
        --processes) processes=$2 ;;
        --only) only=$2 ;;
        --repeat) repeat=$2 ;;
        --peer-runs) peer_runs=$2 ;;
      esac
      shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
for n in "$processes" ${repeat:+"$repeat"} ${peer_runs:+"$peer_runs"}; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "counts must be whole numbers of at least 1, not '$n'"
done
peer_runs=${peer_runs:-$((quick ? 1 : 3))}

scripts/install-deps.sh >&2

dir=${BUILD_DIR:-build-release}
python=${PYTHON:-python3}
cc=${CC:-cc}
command -v "$python" >/dev/null || die "$python not found: the CPython peer and the table need it"
command -v "$cc" >/dev/null || die "$cc not found: the pipe floor (pipe_limits.c) needs a C compiler"

# Release, or the figures mean little: refuse a build dir configured otherwise.
if [[ -f $dir/CMakeCache.txt ]]; then
  type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$dir/CMakeCache.txt")
  [[ $type == Release ]] || die "$dir is configured as '$type', not Release (set BUILD_DIR to another dir)"
else
  echo "bench.sh: configuring $dir (the release preset)" >&2
  cmake --preset release -B "$dir" >/dev/null
fi
echo "bench.sh: building dlpool-bench in $dir" >&2
cmake --build "$dir" --target dlpool-bench >/dev/null

mkdir -p "$dir/bench"
floor=$dir/bench/pipe_limits
if [[ ! -x $floor || tools/bench/peer/pipe_limits.c -nt $floor ]]; then
  "$cc" -O2 -o "$floor" tools/bench/peer/pipe_limits.c
fi
# The CPU-bound speedup a bare pipe pool gets at the peer's sizes (tools/bench/floor/pool_floor.c).
pool_floor=$dir/bench/pool_floor
if [[ ! -x $pool_floor || tools/bench/floor/pool_floor.c -nt $pool_floor ]]; then
  "$cc" -O2 -o "$pool_floor" tools/bench/floor/pool_floor.c
fi

args=(--processes "$processes")
((quick)) && args+=(--quick)
[[ -n $only ]] && args+=(--only "$only")
results=$dir/bench/results.jsonl
: >"$results"

# One after the other, never at once: each must have the cores to itself.
echo "bench.sh: dlpool-bench ${args[*]} ${repeat:+--repeat $repeat}" >&2
"$dir/bin/dlpool-bench" "${args[@]}" ${repeat:+--repeat "$repeat"} | tee -a "$results" >&2
for ((run = 1; run <= peer_runs; run++)); do
  echo "bench.sh: CPython peer ${args[*]} (run $run of $peer_runs)" >&2
  "$python" tools/bench/peer/mp_pool_bench.py "${args[@]}" | tee -a "$results" >&2
done
echo "bench.sh: pipe floor" >&2
"$floor" | tee -a "$results" >&2
if [[ -z $only || ,$only, == *,cpu_speedup,* ]]; then
  echo "bench.sh: pipe pool floor (cpu_speedup)" >&2
  "$pool_floor" --processes "$processes" $( ((quick)) && echo --quick) | tee -a "$results" >&2
fi

echo >&2
"$python" tools/bench/bench_table.py "$results"
