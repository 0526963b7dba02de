#pragma once
// A chunk's three trace events (send, run, deliver: docs/trace-format.md) as JSON text, written
// as fast as copying allows: the trace thread formats one per chunk, hundreds of thousands per
// second when items are tiny, on CPUs the pool is using. Constant text is copied whole, numbers
// go through std::to_chars, and a task's name is escaped once, not per chunk.

#include "chunk_trace.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace dlpool::detail {

/// Writes nanoseconds at `at` as microseconds with three decimals, exactly ("1234.567"; never
/// negative: a time before the trace's start is 0), and returns the end. Needs 24 bytes.
char* write_micros(char* at, std::int64_t ns) noexcept;

class ChunkJson {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ChunkJson(Clock::time_point start) : start_{start} {}

  /// Appends `chunk`'s events, each on a line of its own preceded by ",\n", bound by `flow`.
  /// `workers_pid`: the trace pid of its worker's node.
  void append(std::string& out, const ChunkTrace& chunk, std::uint64_t flow, int workers_pid);

 private:
  const std::string& escaped_task(const std::string* task);

  const Clock::time_point start_;
  std::unordered_map<const std::string*, std::string> tasks_;  // task name -> as a JSON string
  std::string scratch_;
};

}  // namespace dlpool::detail
