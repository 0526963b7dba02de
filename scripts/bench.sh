#!/usr/bin/env bash
# The benchmark in one command: installs what is missing (scripts/install-deps.sh), builds
# dlpool-bench in Release (BUILD_DIR, default build-release) if needed, compiles the pipe floor,
# runs dlpool-bench, the CPython peer and the floor one after the other, then, when MPI is there
# (mpirun, mpi4py and a build with DLPOOL_MPI), dlpool-mpi-bench under mpirun beside the
# mpi4py.futures peer, and prints the comparison table with the goals (tools/bench/bench_table.py).
#
# Usage: scripts/bench.sh [--quick] [--processes P] [--only NAME[,NAME]] [--repeat R] [--peer-runs N]
#   --quick       the peers' smaller sizes (a smoke run of a few seconds per peer)
#   --processes   workers for both local pools (default: nproc); over MPI, 2 agents of 1 worker
#   --only        workloads to run, as dlpool-bench, dlpool-mpi-bench and the peers name them
#   --repeat      dlpool-bench and dlpool-mpi-bench run each workload R times and report the median
#                 (default 5 and 3, 3 and 1 quick)
#   --peer-runs   runs of each peer; the table takes each workload's median (default 3, 1 quick)
# Environment: BUILD_DIR, PYTHON (default python3), CC (default cc), MPIRUN (default mpirun),
# MPI_PYTHON (default /usr/bin/python3: the one Debian's python3-mpi4py is for).
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
cxx=${CXX:-c++}
mpirun=${MPIRUN:-mpirun}
mpi_python=${MPI_PYTHON:-/usr/bin/python3}

# --only's names split by who runs them: dlpool-mpi-bench's, by the run each needs (one MPI pool
# per run, see tools/bench/mpi_bench.cpp), and the rest, dlpool-bench's and the CPython peer's.
mpi_peer_names=mpi_apply_latency,mpi_map_tiny_cs1,mpi_map_tiny_cs100,mpi_cpu_speedup
mpi_names=$mpi_peer_names,rank0_sustain,mpi_agent_loss
local_only="" mpi_only=""
for name in ${only//,/ }; do
  if [[ ,$mpi_names, == *,$name,* ]]; then mpi_only+=${mpi_only:+,}$name; else local_only+=${local_only:+,}$name; fi
done
# The names of `list` that --only asks for (all of them without --only), comma-separated.
wanted() {
  local list=$1 name out=""
  for name in ${list//,/ }; do
    if [[ -z $only || ,$mpi_only, == *,$name,* ]]; then out+=${out:+,}$name; fi
  done
  echo "$out"
}
run_local=$([[ -z $only || -n $local_only ]] && echo 1 || echo 0)
command -v "$python" >/dev/null || die "$python not found: the CPython peer and the table need it"
command -v "$cc" >/dev/null || die "$cc not found: the pipe floor (pipe_limits.c) needs a C compiler"
command -v "$cxx" >/dev/null || die "$cxx not found: the exec floor (cxx_exit.cpp) needs a C++ compiler"

# Release, or the figures mean little: refuse a build dir configured otherwise.
if [[ -f $dir/CMakeCache.txt ]]; then
  type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$dir/CMakeCache.txt")
  [[ $type == Release ]] || die "$dir is configured as '$type', not Release (set BUILD_DIR to another dir)"
else
  echo "bench.sh: configuring $dir (the release preset)" >&2
  cmake --preset release -B "$dir" >/dev/null
fi

# The MPI part needs Open MPI, the peer's mpi4py and a runtime built with MPI (DLPOOL_MPI, which
# also builds dlpool-agent). Without --only naming its workloads, it is skipped when one is missing.
mpi_missing=""
if [[ -z $only || -n $mpi_only ]]; then
  mpi_on=$(sed -n 's/^DLPOOL_MPI:[A-Z]*=//p' "$dir/CMakeCache.txt")
  if ! command -v "$mpirun" >/dev/null; then
    mpi_missing="$mpirun not found (Debian: openmpi-bin)"
  elif ! "$mpi_python" -c 'import mpi4py' 2>/dev/null; then
    mpi_missing="$mpi_python has no mpi4py (Debian: python3-mpi4py)"
  elif [[ ! ${mpi_on^^} =~ ^(ON|TRUE|YES|1)$ ]]; then
    mpi_missing="$dir is built without MPI (configure it with -DDLPOOL_MPI=ON)"
  fi
  [[ -z $mpi_missing || -z $mpi_only ]] || die "$mpi_only: $mpi_missing"
  [[ -z $mpi_missing ]] || echo "bench.sh: no MPI workloads: $mpi_missing" >&2
fi
run_mpi=$([[ (-z $only || -n $mpi_only) && -z $mpi_missing ]] && echo 1 || echo 0)

targets=()
((run_local)) && targets+=(dlpool-bench)
((run_mpi)) && targets+=(dlpool-mpi-bench)
echo "bench.sh: building ${targets[*]} in $dir" >&2
cmake --build "$dir" --target "${targets[@]}" >/dev/null

mkdir -p "$dir/bench"
results=$dir/bench/results.jsonl
: >"$results"
failed=0

if ((run_local)); then
  floor=$dir/bench/pipe_limits
  if [[ ! -x $floor || tools/bench/peer/pipe_limits.c -nt $floor ]]; then
    "$cc" -O2 -o "$floor" tools/bench/peer/pipe_limits.c
  fi
  # The CPU-bound speedup a bare pipe pool gets at the peer's sizes (tools/bench/floor/pool_floor.c).
  pool_floor=$dir/bench/pool_floor
  if [[ ! -x $pool_floor || tools/bench/floor/pool_floor.c -nt $pool_floor ]]; then
    "$cc" -O2 -o "$pool_floor" tools/bench/floor/pool_floor.c
  fi

  # Memory bandwidth and an echo through shared memory (tools/bench/floor/memory_floor.c).
  memory_floor=$dir/bench/memory_floor
  if [[ ! -x $memory_floor || tools/bench/floor/memory_floor.c -nt $memory_floor ]]; then
    "$cc" -O2 -o "$memory_floor" tools/bench/floor/memory_floor.c
  fi

  # What starting a process costs here: /bin/true, a C++ program that does nothing, the worker's
  # own start (tools/bench/floor/exec_floor.c): the floor under startup.
  exec_floor=$dir/bench/exec_floor cxx_exit=$dir/bench/cxx_exit
  if [[ ! -x $exec_floor || tools/bench/floor/exec_floor.c -nt $exec_floor ]]; then
    "$cc" -O2 -o "$exec_floor" tools/bench/floor/exec_floor.c
  fi
  if [[ ! -x $cxx_exit || tools/bench/floor/cxx_exit.cpp -nt $cxx_exit ]]; then
    "$cxx" -O2 -o "$cxx_exit" tools/bench/floor/cxx_exit.cpp
  fi

  args=(--processes "$processes")
  ((quick)) && args+=(--quick)
  [[ -n $local_only ]] && args+=(--only "$local_only")

  # One after the other, never at once: each must have the cores to itself.
  echo "bench.sh: dlpool-bench ${args[*]} ${repeat:+--repeat $repeat}" >&2
  "$dir/bin/dlpool-bench" "${args[@]}" ${repeat:+--repeat "$repeat"} | tee -a "$results" >&2
  for ((run = 1; run <= peer_runs; run++)); do
    echo "bench.sh: CPython peer ${args[*]} (run $run of $peer_runs)" >&2
    "$python" tools/bench/peer/mp_pool_bench.py "${args[@]}" | tee -a "$results" >&2
  done
  echo "bench.sh: pipe floor" >&2
  "$floor" | tee -a "$results" >&2
  if [[ -z $only || ,$only, == *,payload* ]]; then
    echo "bench.sh: memory floor (payload)" >&2
    "$memory_floor" $( ((quick)) && echo --quick) | tee -a "$results" >&2
  fi
  if [[ -z $only || ,$only, == *,startup,* ]]; then
    echo "bench.sh: exec floor (startup)" >&2
    "$exec_floor" "$cxx_exit" "$dir/bin/dlpool-worker" $( ((quick)) && echo --quick) | tee -a "$results" >&2
  fi
  if [[ -z $only || ,$only, == *,cpu_speedup,* ]]; then
    echo "bench.sh: pipe pool floor (cpu_speedup)" >&2
    "$pool_floor" --processes "$processes" $( ((quick)) && echo --quick) | tee -a "$results" >&2
  fi
fi

# Open MPI on one machine (../shared/MPI.md): shared memory between ranks, loopback only, and ob1,
# which halves MPI_Init. --bind-to none: with 3 ranks or fewer mpirun binds each to one core, and
# an agent's workers would all inherit its one core.
mpi_env=(OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo)
mpi_options=(--allow-run-as-root --oversubscribe --bind-to none)
# A run that has not ended by then hangs: the longest, the peer's chunksize-1 map, takes ~30 s.
mpi_limit=600

# mpi_job WANTED MPIRUN-ARGS...: one mpirun, whose JSON lines of the workloads in WANTED go to the
# results. It runs in a session of its own, so that whatever it leaves behind is found: its ranks,
# the agents' workers and their helpers all stay in the session (workers only change process
# group). mpirun may exit 0 after a rank failed (it does under --enable-recovery), so a workload
# that printed no line counts as failed.
mpi_job() {
  local wanted=$1 out=$dir/bench/mpi-job.out status=0 line name leftover
  shift
  echo "bench.sh: mpirun $*" >&2
  # setsid, started from a script (no job control), is not a group leader: it makes the session
  # itself, without forking, so $! is the session's id.
  env "${mpi_env[@]}" setsid -w timeout --kill-after=10 "$mpi_limit" "$mpirun" "${mpi_options[@]}" "$@" >"$out" &
  local sid=$!
  wait "$sid" || status=$?
  # Every rank's stdout comes through mpirun's: only the JSON lines asked for are results, the
  # rest (an agent's or Open MPI's messages) goes to stderr with them.
  while IFS= read -r line; do
    echo "$line" >&2
    [[ $line =~ ^\{.*\"workload\":\ ?\"([^\"]*)\" ]] || continue
    name=${BASH_REMATCH[1]}
    [[ ,$wanted, == *,$name,* ]] && echo "$line" >>"$results"
  done <"$out"
  ((status == 0)) || { echo "bench.sh: mpirun exited with status $status" >&2; failed=1; }
  for name in ${wanted//,/ }; do
    grep -q "\"workload\": \?\"$name\"" "$out" || { echo "bench.sh: $name: no result" >&2; failed=1; }
  done
  # Zombies do not count: a killed agent's workers are reparented to PID 1, which in a container
  # may never reap them; they run nothing.
  leftover=$(ps -o pid=,stat= -s "$sid" | awk '$2 !~ /^Z/ {print $1}' || true)
  if [[ -n $leftover ]]; then
    echo "bench.sh: mpirun left these running, now killed:" >&2
    ps -o pid,ppid,args -p "${leftover//$'\n'/,}" >&2 || true
    kill -KILL $leftover 2>/dev/null || true
    failed=1
  fi
}

if ((run_mpi)); then
  bin=$(cd "$dir/bin" && pwd)
  mpi_args=()
  ((quick)) && mpi_args+=(--quick)
  peer=$(wanted "$mpi_peer_names")
  if [[ -n $peer ]]; then
    for ((run = 1; run <= peer_runs; run++)); do
      echo "bench.sh: mpi4py.futures peer (run $run of $peer_runs)" >&2
      mpi_job "$peer" -n 3 "$mpi_python" -m mpi4py.futures tools/bench/peer/mpi4py_futures_bench.py "${mpi_args[@]}"
    done
  fi
  # One run per MPI pool that dlpool-mpi-bench needs (see its --only).
  for list in "$mpi_peer_names" rank0_sustain; do
    names=$(wanted "$list")
    [[ -z $names ]] && continue
    mpi_job "$names" -n 1 "$bin/dlpool-mpi-bench" "${mpi_args[@]}" ${repeat:+--repeat "$repeat"} --only "$names" \
      : -n 2 "$bin/dlpool-agent"
  done
  # Without --enable-recovery, Open MPI ends the whole job when a rank dies.
  if [[ -n $(wanted mpi_agent_loss) ]]; then
    mpi_job mpi_agent_loss --enable-recovery -n 1 "$bin/dlpool-mpi-bench" --only mpi_agent_loss \
      : -n 2 "$bin/dlpool-agent"
  fi
fi

echo >&2
"$python" tools/bench/bench_table.py "$results"
exit "$failed"
