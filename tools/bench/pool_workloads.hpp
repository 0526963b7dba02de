#pragma once
// The CPython peer's eight workloads (tools/bench/peer/mp_pool_bench.py), timed the same way
// through dlpool's public Pool API. Each returns one run's row; names, units and extra fields
// are the peer's.

#include "report.hpp"

#include <cstddef>
#include <cstdint>

namespace dlpool {
class Pool;
}

namespace dlpool::bench {

/// Pool(P) up, one apply round trip, close + join; the median of `reps` pools (ms).
[[nodiscard]] Row startup(int processes, int reps);
/// The median of `n` blocking apply(noop), after 200 untimed ones (us), and its p99.
[[nodiscard]] Row apply_latency(Pool& pool, int n);
/// `n` apply_async(noop), then every get() (tasks/s).
[[nodiscard]] Row async_throughput(Pool& pool, int n);
/// map(noop, range(m)) with the default chunksize (items/s).
[[nodiscard]] Row map_tiny(Pool& pool, int m);
/// Every result of imap(noop, range(k)), chunksize 1 (items/s).
[[nodiscard]] Row imap_tiny(Pool& pool, int k);
/// `reps` apply(echo, `size` random bytes) round trips (MiB/s, both ways counted), as workload
/// `name`; through echo_view (a std::string_view parameter and result) if `view`.
[[nodiscard]] Row payload(Pool& pool, const char* name, std::size_t size, int reps, bool view);
/// `n` apply_async(fail), each get() throwing the task's error (tasks/s).
[[nodiscard]] Row error_path(Pool& pool, int n);
/// map(count_primes, [limit] * items, chunksize=1) on 1 worker, then on `processes`: the time
/// on 1 over the time on `processes` (x).
[[nodiscard]] Row cpu_speedup(int processes, int items, std::int64_t limit);

}  // namespace dlpool::bench
