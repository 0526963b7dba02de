#pragma once
// `dlpool map`'s progress bar on stderr: items done (and failed), rate, and with a known total a
// bar, a percentage and an ETA. Drawn only when stderr is a terminal, so logs and pipes never
// see it; all of stdout is written through it, so a result line never lands inside the bar.

#include "standard_output.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace dlpool::cli {

/// Threads: update() and write_line() run on the map's consumer thread, the refresh thread
/// redraws on its own; every member after the constructor's is under mutex_.
class ProgressBar {
 public:
  /// Draws only if `enabled` (stderr is a terminal). `total`: the items expected, if known.
  /// `out` must outlive this object.
  ProgressBar(bool enabled, std::optional<std::size_t> total, StandardOutput& out);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Writes `line` and a newline to stdout, taking the bar off the screen first when stdout is
  /// the same terminal. Throws what StandardOutput::write_line throws.
  void write_line(const std::string& line);

  /// Items done so far, of which failed. Redraws now unless it drew very recently; the refresh
  /// thread draws what it skipped, and keeps rate and ETA current while nothing finishes.
  void update(std::size_t done, std::size_t failed);

  /// Draws the final state and leaves it on its own line. Idempotent.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void draw(std::unique_lock<std::mutex>& lock);
  void erase();
  [[nodiscard]] std::string render() const;

  const bool enabled_;
  StandardOutput& out_;
  const bool stdout_is_terminal_;
  const std::optional<std::size_t> total_;
  const Clock::time_point start_ = Clock::now();

  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::size_t done_ = 0, failed_ = 0;
  bool shown_ = false, finished_ = false;
  Clock::time_point drawn_at_{};
  std::jthread refresher_;  // last: started once the state above exists
};

/// The number of lines left in stdin when it is a regular file (read with pread, so nothing is
/// consumed), or nothing for a pipe or terminal. A last line without a newline counts.
[[nodiscard]] std::optional<std::size_t> lines_left_in_stdin();

}  // namespace dlpool::cli
