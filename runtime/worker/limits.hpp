#pragma once
// The resource limits a worker runs under (PoolOptions::limits), as rlimits it sets on itself:
// memory (RLIMIT_DATA), CPU time per item (RLIMIT_CPU, armed before each chunk), open files
// (RLIMIT_NOFILE); and Celery's max_memory_per_child, checked after each chunk.

#include "sys/unique_fd.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace dlpool::worker {

struct LimitSettings {
  std::optional<std::uint64_t> memory_bytes;   // RLIMIT_DATA
  std::optional<std::uint64_t> cpu_seconds;    // per item
  std::optional<std::uint64_t> open_files;     // RLIMIT_NOFILE
  std::optional<std::uint64_t> max_rss_bytes;  // retire once over it after a chunk
};

class Limits {
 public:
  /// Opens /proc/self/statm now, for max_rss_bytes: before any task can use up the descriptors.
  explicit Limits(LimitSettings settings);

  /// Sets the memory and open-file limits on this process: at start, before any plugin loads.
  /// Throws std::runtime_error naming the limit if the kernel refuses one (a hard limit below
  /// it: the worker must not run unlimited when asked for a limit).
  void apply() const;

  /// Before a chunk of `items` items: its CPU time from now on is limited to the per-item limit
  /// times `items` (RLIMIT_CPU's soft limit: SIGXCPU once past it, which ends the worker unless
  /// a task handles SIGXCPU itself).
  void before_chunk(std::uint32_t items) const;

  /// After a chunk was answered: why this worker must retire (its resident memory is over
  /// max_rss_bytes), or nothing.
  [[nodiscard]] std::optional<std::string> over_rss() const;

  [[nodiscard]] const LimitSettings& settings() const noexcept { return settings_; }

 private:
  LimitSettings settings_;
  detail::UniqueFd statm_;  // /proc/self/statm, read once per chunk with max_rss_bytes
};

}  // namespace dlpool::worker
