#include "pool_workloads.hpp"
#include "timing.hpp"

#include "bench_tasks.hpp"
#include "pool_options.hpp"

#include <dlpool/pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dlpool::bench {
namespace {

/// os.urandom(n) for a benchmark: random so that nothing on the way can shortcut the bytes.
std::string random_bytes(std::size_t n) {
  std::mt19937_64 engine{std::random_device{}()};
  std::string bytes(n, '\0');
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    const auto word = engine();
    for (std::size_t b = 0; b < 8; ++b) bytes[i + b] = static_cast<char>(word >> (8 * b));
  }
  return bytes;
}

/// The row of a workload that did `n` of something in `seconds`: its rate, the pool's size and n.
Row rate_row(std::string workload, const Pool& pool, int n, double seconds, std::string unit) {
  Row row{std::move(workload), n / seconds, std::move(unit)};
  row.integer("processes", pool.processes()).integer("n", n);
  return row;
}

/// apply_async(task, i) for each i in [0, n), all submitted before any is waited for.
std::vector<AsyncResult<std::int64_t>> submit_all(Pool& pool, const Task<std::int64_t(std::int64_t)>& task, int n) {
  std::vector<AsyncResult<std::int64_t>> results;
  results.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) results.push_back(pool.apply_async(task, {i}));
  return results;
}

}  // namespace

Row startup(int processes, int reps) {
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    {
      Pool pool{pool_options(processes)};
      check(pool.apply(tasks::noop, 1) == 1, "noop(1)");
      pool.close();
      pool.join();
    }
    times.push_back(seconds_since(t0) * 1e3);
  }
  Row row{"startup", median(times), "ms"};
  row.integer("processes", processes).integer("reps", reps);
  return row;
}

Row apply_latency(Pool& pool, int n) {
  for (int i = 0; i < 200; ++i) check(pool.apply(tasks::noop, i) == i, "noop warm-up");
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    const auto back = pool.apply(tasks::noop, i);
    latencies.push_back(seconds_since(t0) * 1e6);
    check(back == i, "noop(i)");
  }
  Row row{"apply_latency", median(latencies), "us"};
  row.integer("processes", pool.processes()).integer("n", n).number("p99_us", quantile(latencies, 0.99));
  return row;
}

Row async_throughput(Pool& pool, int n) {
  const auto t0 = Clock::now();
  const auto results = submit_all(pool, tasks::noop, n);
  std::int64_t sum = 0;
  for (const auto& r : results) sum += r.get();
  const double dt = seconds_since(t0);
  check(sum == static_cast<std::int64_t>(n) * (n - 1) / 2, "sum of noop(i)");
  return rate_row("async_throughput", pool, n, dt, "tasks/s");
}

Row map_tiny(Pool& pool, int m) {
  const auto t0 = Clock::now();
  const auto out = pool.map(tasks::noop, std::views::iota(std::int64_t{0}, std::int64_t{m}));
  const double dt = seconds_since(t0);
  check(out.size() == static_cast<std::size_t>(m) && out.back() == m - 1, "map(noop, range(m))");
  return rate_row("map_tiny", pool, m, dt, "items/s");
}

Row imap_tiny(Pool& pool, int k) {
  const auto t0 = Clock::now();
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(k));
  auto results = pool.imap(tasks::noop, std::views::iota(std::int64_t{0}, std::int64_t{k}));
  while (auto v = results.next()) out.push_back(*v);
  const double dt = seconds_since(t0);
  check(out.size() == static_cast<std::size_t>(k) && out.back() == k - 1, "imap(noop, range(k))");
  return rate_row("imap_tiny", pool, k, dt, "items/s");
}

Row payload(Pool& pool, const char* name, std::size_t size, int reps, bool view) {
  const auto& echo = view ? tasks::echo_view : tasks::echo;
  const auto blob = random_bytes(size);
  check(pool.apply(echo, blob) == blob, "echo warm-up");
  std::string back;
  const auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) back = pool.apply(echo, blob);
  const double dt = seconds_since(t0);
  check(back == blob, "echo(blob)");
  Row row{name, 2.0 * reps * static_cast<double>(size) / (1 << 20) / dt, "MiB/s"};
  row.integer("processes", pool.processes())
      .integer("reps", reps)
      .integer("size_bytes", static_cast<std::int64_t>(blob.size()));
  return row;
}

Row error_path(Pool& pool, int n) {
  const auto t0 = Clock::now();
  const auto results = submit_all(pool, tasks::fail, n);
  int errors = 0;
  for (const auto& r : results) {
    try {
      (void)r.get();
    } catch (const RemoteError&) {  // the peer catches ValueError; anything else is a failure
      ++errors;
    }
  }
  const double dt = seconds_since(t0);
  check(errors == n, "every fail() raised");
  return rate_row("error_path", pool, n, dt, "tasks/s");
}

Row cpu_speedup(int processes, int items, std::int64_t limit) {
  const auto run = [&](int procs) {
    // Timed from workers that are up with the plugin loaded, as the peer's are (forked with the
    // module already imported) and the floor's (forked with count_primes in them): the scaling
    // of the work, not a worker's start, which `startup` measures. The initializer loads the
    // plugin as each worker starts; one item per worker, each long enough for all of them to
    // have started and taken one, waits for them.
    auto options = pool_options(procs);
    options.initializer.emplace(tasks::noop, 0);
    Pool pool{options};
    const std::vector<std::int64_t> work(static_cast<std::size_t>(items), limit);
    (void)pool.map(tasks::count_primes, std::span{work}.first(static_cast<std::size_t>(std::min(procs, items))), 1);
    const auto t0 = Clock::now();
    const auto counts = pool.map(tasks::count_primes, work, 1);
    const double dt = seconds_since(t0);
    check(counts.size() == static_cast<std::size_t>(items), "map(count_primes)");
    pool.close();
    pool.join();
    return dt;
  };
  const double t1 = run(1);
  const double tp = run(processes);
  Row row{"cpu_speedup", t1 / tp, "x"};
  row.integer("processes", processes)
      .integer("items", items)
      .integer("limit", limit)
      .number("one_worker_s", t1)
      .number("all_workers_s", tp);
  return row;
}

}  // namespace dlpool::bench
