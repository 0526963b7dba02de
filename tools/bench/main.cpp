// dlpool-bench: dlpool's Pool on the workloads of the CPython peer
// (tools/bench/peer/mp_pool_bench.py): same names, same sizes, same flags, and the same JSON
// lines with "peer": "dlpool", each the median of --repeat runs. Then dlpool's own figures:
// SIGKILL -> error + replacement, host RSS over an endless imap, per-worker RSS, and what a trace
// costs on map_tiny and imap_tiny.
// scripts/bench.sh runs it beside the peer and prints the comparison.
//
//   dlpool-bench [--processes P] [--quick] [--only NAME[,NAME]] [--repeat R]
//
// Exit status: 0 ok, 1 a workload failed (wrong result, error), 2 a usage error.

#include "bench_main.hpp"
#include "memory.hpp"
#include "option_checks.hpp"
#include "pool_options.hpp"
#include "pool_workloads.hpp"
#include "report.hpp"
#include "settings.hpp"
#include "trace_overhead.hpp"
#include "worker_loss.hpp"

#include <dlpool/pool.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace dlpool::bench;
using dlpool::tools::at_least_one;

void run_all(const Settings& settings) {
  const auto sizes = sizes_for(settings);
  const int p = settings.processes;
  const auto repeated = [&](std::function<Row()> measure) {
    return [&settings, measure = std::move(measure)] { return median_of_runs(settings.repeat, measure); };
  };

  run(settings, "startup", repeated([&] { return startup(p, sizes.startup); }));

  // As the peer: one pool for the workloads that do not start their own.
  const bool shared_pool_needed = std::ranges::any_of(
      std::vector<std::string>{"apply_latency", "async_throughput", "map_tiny", "imap_tiny", "payload", "payload_view",
                               "payload_64m", "error_path", "imap_endless_rss", "worker_rss"},
      [&](const std::string& name) { return settings.wants(name); });
  if (shared_pool_needed) {
    dlpool::Pool pool{pool_options(p)};
    run(settings, "apply_latency", repeated([&] { return apply_latency(pool, sizes.apply); }));
    run(settings, "async_throughput", repeated([&] { return async_throughput(pool, sizes.asyncn); }));
    run(settings, "map_tiny", repeated([&] { return map_tiny(pool, sizes.mapm); }));
    run(settings, "imap_tiny", repeated([&] { return imap_tiny(pool, sizes.imapk); }));
    constexpr std::size_t mib = 1 << 20;
    run(settings, "payload", repeated([&] { return payload(pool, "payload", mib, sizes.payload, false); }));
    run(settings, "payload_view", repeated([&] { return payload(pool, "payload_view", mib, sizes.payload, true); }));
    run(settings, "payload_64m",
        repeated([&] { return payload(pool, "payload_64m", 64 * mib, sizes.payload_64m, true); }));
    run(settings, "error_path", repeated([&] { return error_path(pool, sizes.errn); }));
    // One long run each: memory over time, then memory after all of the above.
    run(settings, "imap_endless_rss", [&] { return imap_endless_rss(pool, sizes.endless_items); });
    run(settings, "worker_rss", [&] { return worker_rss(pool); });
    pool.close();
    pool.join();
  }

  // As many pairs of runs as the floor (pool_floor.c) takes its median over: a pair is ~1.7 s on
  // two vCPUs. Every pair is reported ("runs"), and the table judges the worst as well.
  constexpr int floor_pairs = 9;
  run(settings, "cpu_speedup", [&] {
    return median_of_runs(settings.quick ? settings.repeat : std::max(settings.repeat, floor_pairs),
                          [&] { return cpu_speedup(p, sizes.cpu_items, sizes.cpu_limit); });
  });
  // Its repetitions are its kills: the median over them is reported.
  run(settings, "sigkill_recovery", [&] { return sigkill_recovery(sizes.kill_reps); });
  // What a trace costs (PoolOptions::trace), against the same pool without one, by turns.
  run(settings, "map_tiny_traced",
      [&] { return trace_overhead("map_tiny", map_tiny, p, sizes.mapm, settings.repeat); });
  run(settings, "imap_tiny_traced",
      [&] { return trace_overhead("imap_tiny", imap_tiny, p, sizes.imapk, settings.repeat); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dlpool-bench: dlpool's Pool on the workloads of CPython's multiprocessing.Pool peer "
               "(tools/bench/peer/mp_pool_bench.py); one JSON line per workload on stdout"};
  Settings settings;
  settings.processes = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("--processes", settings.processes, "worker processes (default: hardware threads)")
      ->capture_default_str()
      ->check(CLI::Validator{at_least_one, ""});
  app.add_flag("--quick", settings.quick, "the peer's smaller sizes, for a smoke run");
  std::string only;
  std::string known;
  for (const auto& name : workload_names()) known += (known.empty() ? "" : ",") + name;
  app.add_option("--only", only, "comma-separated workload names, of: " + known)->type_name("NAME[,NAME]");
  std::optional<int> repeat;
  app.add_option("--repeat", repeat, "runs of each workload, the median reported (default: 5, 3 with --quick)")
      ->check(CLI::Validator{at_least_one, ""});

  return bench_main(
      app, argc, argv, "dlpool-bench",
      [&] {
        settings.only = parse_only(only);
        settings.repeat = repeat.value_or(settings.quick ? 3 : 5);
      },
      [&] { run_all(settings); });
}
