#pragma once
// What the trace keeps of a chunk that ended: plain values the routing threads fill in as they
// handle it, turned into text (or TraceEvents) only on the trace thread.

#include "stats/stats_book.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace dlpool::detail {

/// The trace's tracks on the host (see docs/trace-format.md): the handler threads' are fixed,
/// a caller thread gets one of its own the first time it sends.
enum class Track : int { none = 0, task_handler = 2, result_handler = 3, worker_handler = 4, first_caller = 10 };

struct ChunkTrace {
  using Clock = std::chrono::steady_clock;
  std::uint64_t job = 0;
  std::uint32_t chunk = 0;
  std::uint64_t first = 0, items = 0;
  const std::string* task = nullptr;  // "plugin.task": a key of the pool's StatsBook, which outlives the trace
  std::uint64_t worker = 0;           // that ran it (its last one); 0: it reached none
  int rank = 0;                       // of that worker's agent: its times are on that node's clock
  int sender = 0;                     // the Track that wrote its frame
  Ending how = Ending::done;
  unsigned attempts = 1;
  Clock::time_point submitted{}, sent{}, written{}, received{}, delivered{};
  // In its worker, on that worker's clock (0, 0: it never ran, or not known to have: its worker
  // was lost running it, and `started`, the host's, is when it reached the front of its queue).
  std::uint64_t run_start_ns = 0, run_end_ns = 0;
  Clock::time_point started{};
  std::string error;  // how = failed or lost: "TaskError: ..."
};

}  // namespace dlpool::detail
