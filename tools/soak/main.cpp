// dlpool-soak: runs many tasks through one pool and reports the host's memory as it goes, one
// JSON line per interval, so that a leak shows as a resident size that keeps climbing.
//
//   dlpool-soak [--tasks N] [--processes P] [--every K] [--round R]
//
// Each line: {"tasks":..,"seconds":..,"rss_kib":..,"workers_rss_kib":..,"failures":..,"wrong":..}
// (the host's resident size, and the sum of its workers'); a last line adds the host's first,
// lowest and highest resident sizes from the first report on. The exit status is 1 if any
// result was wrong, 2 if the pool failed.

#include "memory.hpp"
#include "workload.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

int main(int argc, char** argv) {
  CLI::App app{"dlpool-soak: many tasks through one pool, the host's resident memory as JSON lines"};
  std::uint64_t tasks = 1'000'000, every = 50'000, round_size = 1000;
  int processes = 2;
  app.add_option("--tasks", tasks, "tasks to run in all")->check(CLI::PositiveNumber);
  app.add_option("--processes", processes, "workers")->check(CLI::PositiveNumber);
  app.add_option("--every", every, "tasks between two reports")->check(CLI::PositiveNumber);
  app.add_option("--round", round_size, "tasks per round of apply_async, map, imap and failures")
      ->check(CLI::Range(10, 1'000'000));
  CLI11_PARSE(app, argc, argv);

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  dlpool::soak::Tally tally;
  std::uint64_t next_report = every, first_rss = 0, low_rss = 0, high_rss = 0;
  std::optional<dlpool::Pool> pool;
  const auto report = [&](const char* extra = "") {
    const auto rss = dlpool::soak::resident_kib();
    std::uint64_t workers_rss = 0;  // the workers' too: a leak in the worker or a plugin shows there
    if (pool)
      for (const auto& worker : pool->workers()) workers_rss += worker.rss_bytes / 1024;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf(R"({"tasks":%llu,"seconds":%.1f,"rss_kib":%llu,"workers_rss_kib":%llu,"failures":%llu,"wrong":%llu%s})"
                "\n",
                static_cast<unsigned long long>(tally.tasks), seconds, static_cast<unsigned long long>(rss),
                static_cast<unsigned long long>(workers_rss), static_cast<unsigned long long>(tally.failures),
                static_cast<unsigned long long>(tally.wrong), extra);
    std::fflush(stdout);
    return rss;
  };

  try {
    dlpool::PoolOptions options;
    options.processes = processes;
    pool.emplace(options);
    for (std::uint64_t round = 0; tally.tasks < tasks; ++round) {
      dlpool::soak::run_round(*pool, round, round_size, tally);
      if (tally.tasks < next_report) continue;
      next_report += every;
      const auto rss = report();
      // The first interval warms up (allocator arenas, the workers' first chunks): compare after it.
      if (first_rss == 0) {
        first_rss = low_rss = high_rss = rss;
      } else {
        low_rss = std::min(low_rss, rss);
        high_rss = std::max(high_rss, rss);
      }
    }
    pool->close();
    pool->join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlpool-soak: %s\n", e.what());
    return 2;
  }
  char summary[160];
  std::snprintf(summary, sizeof summary, R"(,"done":true,"rss_first_kib":%llu,"rss_low_kib":%llu,"rss_high_kib":%llu)",
                static_cast<unsigned long long>(first_rss), static_cast<unsigned long long>(low_rss),
                static_cast<unsigned long long>(high_rss));
  report(summary);  // after join: the workers are gone, their resident size is 0
  return tally.wrong == 0 ? 0 : 1;
}
