#pragma once
// The mpi4py.futures peer's workloads (tools/bench/peer/mpi4py_futures_bench.py), timed the same
// way through a Pool whose workers run under dlpool-agent ranks, and rank 0's own capacity. Each
// returns one run's row; names, units and the peer's extra fields are the peer's, and every row
// says how many agents and workers served it.

#include "report.hpp"

#include <cstdint>

namespace dlpool {
class Pool;
}

namespace dlpool::bench {

/// Who serves the pool now, from Pool::workers(): the agents (distinct ranks) and their workers.
struct MpiLayout {
  int agents = 0;
  int workers = 0;
};
[[nodiscard]] MpiLayout mpi_layout(const Pool& pool);

/// The median of `calls` blocking apply(noop), one at a time, as the peer's submit().result() (us).
[[nodiscard]] Row mpi_apply_latency(Pool& pool, int calls);

/// map(noop, range(items), chunksize) (items/s), as "mpi_map_tiny_cs<chunksize>".
[[nodiscard]] Row mpi_map_tiny(Pool& pool, int items, int chunksize);

/// count_primes(limit) `items` times, one apply at a time (one worker busy), then as one map with
/// chunksize 1 (every worker busy): the first time over the second (x), as the peer. The same
/// pair on a local pool of as many workers, alternated with the MPI pairs so that both see the
/// same machine, gives "local_speedup", the figure the goal compares with. Each is the median
/// over `pairs` pairs (a pair is ~100 ms: one swings by a tenth or more on a shared host).
[[nodiscard]] Row mpi_cpu_speedup(Pool& pool, int items, std::int64_t limit, int pairs);

/// map(noop, range(chunks), chunksize 1) with every agent's credits in use: the chunks per second
/// rank 0 sends and collects (each chunk is one of each), and rank 0's CPU time per chunk (all of
/// its threads, getrusage), whose inverse is what one core of rank 0 could sustain.
[[nodiscard]] Row rank0_sustain(Pool& pool, int chunks);

}  // namespace dlpool::bench
