#pragma once
// Reading a dlpool trace file (docs/trace-format.md) one event line at a time, so that a trace of
// any size costs one line's DOM: its header line is checked to be dlpool's, then every complete
// event line is parsed and handed on. A run killed midway leaves no closing `]}` and perhaps a
// partial last line: that line is left out and counted, never an error.

#include "../rapidjson.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace dlpool::cli::report {

/// What the header line's `otherData` says.
struct TraceHeader {
  std::string version, host, clock;
  std::optional<std::int64_t> pid, start_unix_us;
};

/// How the reading went.
struct ReadStats {
  std::uint64_t events = 0;         // event lines parsed and handed on
  std::uint64_t skipped_lines = 0;  // complete lines that were not a JSON object: left out
  bool truncated = false;           // the last line was cut short (no newline, not JSON): left out
  bool complete = false;            // the closing `]}` line was there: the pool finished the file
};

/// Reads `path`: checks its first line is a dlpool trace's header, then calls `on_event` with
/// each event line's object, in file order. Throws std::runtime_error naming the file when it
/// cannot be read or is not a dlpool trace. `on_event` may throw; that ends the reading.
ReadStats read_trace(const std::string& path, TraceHeader& header,
                     const std::function<void(const rapidjson::Value&)>& on_event);

}  // namespace dlpool::cli::report
