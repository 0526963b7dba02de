#include "trace_overhead.hpp"

#include "pool_options.hpp"

#include <dlpool/pool.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace dlpool::bench {

Row trace_overhead(const std::string& name, Workload workload, int processes, int size, int repeat) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("dlpool-bench-trace-" + std::to_string(::getpid()) + "-" + name + ".json");
  // A fresh pool for every run, the untraced one and the traced one by turns: where the
  // scheduler places a pool's workers changes its rate more than a trace does, and this way
  // neither pool keeps a lucky or an unlucky placement throughout.
  std::string unit;
  std::uintmax_t bytes = 0;
  const auto run_once = [&](bool traced) {
    auto options = pool_options(processes);
    if (traced) options.trace = TraceOptions{file.string(), {}};
    Pool pool{options};
    const auto row = workload(pool, size);
    pool.close();
    pool.join();
    unit = row.unit();
    std::error_code ec;
    if (traced) bytes += std::filesystem::file_size(file, ec);
    return row.value();
  };
  (void)run_once(false);  // warm-up: the plugin and the trace file in the page cache
  (void)run_once(true);
  bytes = 0;
  std::vector<double> traced_runs, plain_runs;
  for (int i = 0; i < std::max(repeat, 1); ++i) {
    // Each first every other time: neither always runs on a machine the other warmed.
    if (i % 2 == 0) plain_runs.push_back(run_once(false));
    traced_runs.push_back(run_once(true));
    if (i % 2 != 0) plain_runs.push_back(run_once(false));
  }
  std::error_code ec;
  std::filesystem::remove(file, ec);
  // Each traced run against the untraced one beside it: the machine's drift from one pair to the
  // next (large on a shared VM) cancels out of the ratio, which is what the overhead is read from.
  std::vector<double> ratios;
  for (std::size_t i = 0; i < traced_runs.size(); ++i)
    if (plain_runs[i] > 0) ratios.push_back(traced_runs[i] / plain_runs[i]);
  const double ratio = ratios.empty() ? 0.0 : median(ratios);
  const double off = median(plain_runs);
  Row row{name + "_traced", off * ratio, unit};
  row.number("untraced", off);
  row.number("overhead_pct", 100.0 * (1.0 - ratio));
  row.numbers("pair_ratios", ratios);
  row.integer("processes", processes);
  row.integer("repeat", static_cast<std::int64_t>(traced_runs.size()));
  row.numbers("runs", traced_runs);
  row.numbers("untraced_runs", plain_runs);
  row.integer("trace_bytes", static_cast<std::int64_t>(bytes));
  return row;
}

}  // namespace dlpool::bench
