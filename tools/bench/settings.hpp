#pragma once
// What one dlpool-bench run measures: the command line's settings and the workload sizes they
// imply, which are the CPython peer's (tools/bench/peer/mp_pool_bench.py) so figures compare.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dlpool::bench {

struct Settings {
  int processes = 1;
  bool quick = false;
  /// Runs of each repeated workload; the median is reported.
  int repeat = 5;
  /// Workloads to run; empty means all.
  std::vector<std::string> only;

  [[nodiscard]] bool wants(std::string_view workload) const;
};

/// Every workload, in the order they run: the peer's eight, then dlpool's own (worker loss and
/// memory) which have no CPython figure: its pool hangs when a worker is killed (bpo-22393).
[[nodiscard]] const std::vector<std::string>& workload_names();

/// --only's comma-separated list (empty entries are skipped, as the peer does). Throws
/// std::invalid_argument naming an entry that is not a workload.
[[nodiscard]] std::vector<std::string> parse_only(std::string_view list);

struct Sizes {
  // The peer's sizes, under the peer's names.
  int startup = 0;         // pools started per run
  int apply = 0;           // blocking applies timed (after 200 untimed)
  int asyncn = 0;          // apply_async calls
  int mapm = 0;            // map items
  int imapk = 0;           // imap items, chunksize 1
  int payload = 0;         // 1 MiB echo round trips
  int payload_64m = 0;     // 64 MiB echo round trips
  int cpu_items = 0;       // count_primes calls per map
  std::int64_t cpu_limit = 0;  // count_primes' argument
  int errn = 0;            // failing apply_async calls
  // dlpool's own.
  int kill_reps = 0;            // workers SIGKILLed, one at a time
  std::int64_t endless_items = 0;  // results taken from an imap over an endless generator
};

/// The sizes for `settings.quick` and `settings.processes`, as the peer picks them.
[[nodiscard]] Sizes sizes_for(const Settings& settings);

}  // namespace dlpool::bench
