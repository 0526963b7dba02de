#include "mpi_workloads.hpp"
#include "timing.hpp"

#include "bench_tasks.hpp"
#include "pool_options.hpp"

#include <dlpool/pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ranges>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/resource.h>

namespace dlpool::bench {
namespace {

Row& with_layout(Row& row, const MpiLayout& layout) {
  return row.text("transport", "mpi").integer("agents", layout.agents).integer("workers", layout.workers);
}

/// One pair of the CPU-bound workload: the items one apply at a time, then as one map.
struct CpuPair {
  double one_s = 0;
  double every_s = 0;
};

CpuPair time_cpu_pair(Pool& pool, const std::vector<std::int64_t>& work, std::int64_t expected) {
  CpuPair pair;
  auto t0 = Clock::now();
  for (const auto limit : work) check(pool.apply(tasks::count_primes, limit) == expected, "count_primes, applied");
  pair.one_s = seconds_since(t0);
  t0 = Clock::now();
  const auto counts = pool.map(tasks::count_primes, work, 1);
  pair.every_s = seconds_since(t0);
  check(std::ranges::count(counts, expected) == std::ssize(work), "map(count_primes)");
  return pair;
}

/// User and system CPU seconds of this process, every thread included.
struct CpuTime {
  double user = 0;
  double system = 0;
};

CpuTime cpu_time() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) throw std::runtime_error{"getrusage(RUSAGE_SELF) failed"};
  const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

}  // namespace

MpiLayout mpi_layout(const Pool& pool) {
  const auto workers = pool.workers();
  std::set<int> ranks;
  for (const auto& w : workers) ranks.insert(w.rank);
  return {static_cast<int>(ranks.size()), static_cast<int>(workers.size())};
}

Row mpi_apply_latency(Pool& pool, int calls) {
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    const auto t0 = Clock::now();
    const auto back = pool.apply(tasks::noop, i);
    latencies.push_back(seconds_since(t0) * 1e6);
    check(back == i, "noop(i)");
  }
  Row row{"mpi_apply_latency", median(latencies), "us"};
  with_layout(row, mpi_layout(pool)).integer("n", calls).number("p99_us", quantile(latencies, 0.99));
  return row;
}

Row mpi_map_tiny(Pool& pool, int items, int chunksize) {
  const auto t0 = Clock::now();
  const auto out = pool.map(tasks::noop, std::views::iota(std::int64_t{0}, std::int64_t{items}), chunksize);
  const double dt = seconds_since(t0);
  check(out.size() == static_cast<std::size_t>(items) && out.back() == items - 1, "map(noop, range(n))");
  Row row{"mpi_map_tiny_cs" + std::to_string(chunksize), items / dt, "items/s"};
  with_layout(row, mpi_layout(pool)).integer("n", items).integer("chunksize", chunksize);
  return row;
}

Row mpi_cpu_speedup(Pool& pool, int items, std::int64_t limit, int pairs) {
  const auto layout = mpi_layout(pool);
  if (layout.workers < 1) throw std::runtime_error{"Pool::workers() lists no worker"};
  const std::vector<std::int64_t> work(static_cast<std::size_t>(items), limit);
  const auto expected = pool.apply(tasks::count_primes, limit);

  // As dlpool-bench's cpu_speedup: workers up with the plugin loaded before anything is timed
  // (the MPI pool's are, from the warm-up), so that the pairs time the work, not a start.
  auto options = pool_options(layout.workers);
  options.initializer.emplace(tasks::noop, 0);
  Pool local{options};
  (void)local.map(tasks::count_primes, std::span{work}.first(std::min<std::size_t>(work.size(), layout.workers)), 1);

  std::vector<double> speedups, local_speedups, one, every, local_one, local_every;
  for (int i = 0; i < pairs; ++i) {
    const auto l = time_cpu_pair(local, work, expected);
    const auto m = time_cpu_pair(pool, work, expected);
    local_speedups.push_back(l.one_s / l.every_s);
    speedups.push_back(m.one_s / m.every_s);
    local_one.push_back(l.one_s);
    local_every.push_back(l.every_s);
    one.push_back(m.one_s);
    every.push_back(m.every_s);
  }
  local.close();
  local.join();

  const double speedup = median(speedups);
  const double local_speedup = median(local_speedups);
  Row row{"mpi_cpu_speedup", speedup, "x"};
  with_layout(row, layout)
      .integer("items", items)
      .integer("limit", limit)
      .number("one_worker_s", median(one))
      .number("all_workers_s", median(every))
      .number("local_speedup", local_speedup)
      .number("local_one_worker_s", median(local_one))
      .number("local_all_workers_s", median(local_every))
      .number("of_local", speedup / local_speedup)
      .integer("pairs", pairs)
      .numbers("runs", speedups)
      .numbers("local_runs", local_speedups);
  return row;
}

Row rank0_sustain(Pool& pool, int chunks) {
  const auto cpu0 = cpu_time();
  const auto t0 = Clock::now();
  const auto out = pool.map(tasks::noop, std::views::iota(std::int64_t{0}, std::int64_t{chunks}), 1);
  const double dt = seconds_since(t0);
  const auto cpu1 = cpu_time();
  const double user = cpu1.user - cpu0.user;
  const double system = cpu1.system - cpu0.system;
  const double cpu = user + system;
  check(out.size() == static_cast<std::size_t>(chunks) && out.back() == chunks - 1, "map(noop, range(n))");
  Row row{"rank0_sustain", chunks / dt, "chunks/s"};
  with_layout(row, mpi_layout(pool))
      .integer("n", chunks)
      .number("cpu_us_per_chunk", cpu / chunks * 1e6)
      .number("user_us_per_chunk", user / chunks * 1e6)
      .number("sys_us_per_chunk", system / chunks * 1e6)
      .number("rank0_cpu_share", cpu / dt)  // 1.0: rank 0 kept one core busy the whole time
      .number("one_core_chunks_per_s", chunks / std::max(cpu, 1e-9));
  return row;
}

}  // namespace dlpool::bench
