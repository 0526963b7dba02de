#pragma once
// The lines of `dlpool map`'s input, read lazily as the pool asks for them.

#include "sys/unique_fd.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dlpool::cli {

/// The imap generator of `dlpool map`. It hands the pool only the lines that are JSON arrays and
/// sets the others aside with the reason, so that a malformed line never reaches a worker (where
/// it would fail the whole chunk it landed in) and the consumer can put its error line back at
/// its place in the output. Lines to skip (--resume) are read and dropped.
///
/// It also bounds what the consumer may have to hold: next() blocks while `window` items handed
/// to the pool are not yet written out. The consumer can always make progress meanwhile: the
/// first item not yet written out was handed over before, in a chunk already sent.
///
/// It reads its fd itself, waiting in poll() on the fd and on stop()'s eventfd, so that stop()
/// ends a read blocked on a terminal or a pipe that stays open: the task handler, and with it the
/// pool's join(), would otherwise wait for input that may never come (a signal stopping the run).
///
/// Threads: next() runs on the thread the pool reads the imap's generator on and alone touches fd_, buffer_*,
/// at_eof_ and line_; stop() signals stop_ from any thread. The rest is shared, under mutex_.
class ArgumentLines {
 public:
  using Clock = std::chrono::steady_clock;
  struct Problem {
    std::size_t line;     // 1-based
    std::string message;  // "empty line: ...", "invalid JSON at offset 3: ..."
  };
  /// A line handed to the pool.
  struct Item {
    std::size_t line = 0;
    Clock::time_point taken;  // when the pool took it
  };
  static constexpr std::size_t end_of_input = std::numeric_limits<std::size_t>::max();

  /// `fd` (blocking or not) must stay open while this object lives and be read by nothing else.
  /// Lines whose number is in `skip` are dropped. `window` >= the pool's chunk size.
  ArgumentLines(int fd, std::set<std::size_t> skip, std::size_t window);
  ArgumentLines(const ArgumentLines&) = delete;
  ArgumentLines& operator=(const ArgumentLines&) = delete;

  /// The next line that is a JSON array, without its newline, as the pool's item number
  /// `handed` (0, 1, ...); std::nullopt at the end of the stream, on a read error, or once
  /// stop() was called. Blocks on the window, and on the stream, until stop().
  std::optional<std::string> next();

  /// The line of pool item `index`, forgotten once taken. Throws std::logic_error for an index
  /// next() never returned.
  Item take_item(std::size_t index);

  /// An item has been written out: frees its place in the window.
  void item_written();

  /// The lines set aside so far whose number is below `line`, in order, forgotten once taken.
  std::vector<Problem> take_problems_before(std::size_t line);

  /// next() returns std::nullopt from now on, without waiting, and one waiting returns now: the
  /// consumer is gone, or the run stops. Thread-safe.
  void stop();

  /// Whether the input ended with a read error. Meaningful once next() returned std::nullopt.
  [[nodiscard]] bool read_failed() const;
  /// Lines dropped because they were in `skip`.
  [[nodiscard]] std::size_t skipped() const;
  /// Where the items handed so far came from: pairs (first item, its line), one per run of
  /// items on consecutive lines; item i's line is that of the last pair at or before it, plus
  /// the items between.
  [[nodiscard]] std::vector<std::pair<std::size_t, std::size_t>> line_runs() const;

 private:
  /// The next line of the stream without its newline (a last line may have none); nothing at
  /// its end, on a read error (read_failed_ is set) or once stop() was called.
  std::optional<std::string> read_line();

  int fd_;
  detail::UniqueFd stop_;              // an eventfd, signalled by stop()
  std::string buffer_;                 // read, not yet returned from buffer_start_ on
  std::size_t buffer_start_ = 0;       // where the next line starts
  std::size_t buffer_scanned_ = 0;     // up to here, no newline after buffer_start_
  bool at_eof_ = false;
  std::size_t line_ = 0;
  const std::set<std::size_t> skip_;
  const std::size_t window_;

  mutable std::mutex mutex_;
  std::condition_variable window_cv_;
  std::unordered_map<std::size_t, Item> items_;  // handed to the pool, not yet taken back
  std::size_t handed_ = 0, written_ = 0, skipped_ = 0;
  std::deque<Problem> problems_;
  std::vector<std::pair<std::size_t, std::size_t>> line_runs_;
  bool read_failed_ = false, stopped_ = false;
};

}  // namespace dlpool::cli
