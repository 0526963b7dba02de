#pragma once
// The lines of `dlpool map`'s input, read lazily as the pool asks for them.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
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
/// Threads: next() runs on the pool's task-handler thread and alone touches in_, buffer_ and
/// line_; the other members are for the consumer's thread. The rest is shared, under mutex_.
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

  /// `in` must outlive this object and be read by nothing else. Lines whose number is in `skip`
  /// are dropped. `window` >= the pool's chunk size.
  ArgumentLines(std::FILE* in, std::set<std::size_t> skip, std::size_t window)
      : in_{in}, skip_{std::move(skip)}, window_{window} {}
  ArgumentLines(const ArgumentLines&) = delete;
  ArgumentLines& operator=(const ArgumentLines&) = delete;

  /// The next line that is a JSON array, without its newline, as the pool's item number
  /// `handed` (0, 1, ...); std::nullopt at the end of the stream, on a read error, or once
  /// stop() was called. Blocks on the window, and on the stream.
  std::optional<std::string> next();

  /// The line of pool item `index`, forgotten once taken. Throws std::logic_error for an index
  /// next() never returned.
  Item take_item(std::size_t index);

  /// An item has been written out: frees its place in the window.
  void item_written();

  /// The lines set aside so far whose number is below `line`, in order, forgotten once taken.
  std::vector<Problem> take_problems_before(std::size_t line);

  /// next() returns std::nullopt from now on, without waiting: the consumer is gone.
  void stop();

  /// Whether the input ended with a read error. Meaningful once next() returned std::nullopt.
  [[nodiscard]] bool read_failed() const;
  /// Lines dropped because they were in `skip`.
  [[nodiscard]] std::size_t skipped() const;

 private:
  /// getline()'s buffer, which it grows with realloc().
  struct LineBuffer {
    char* data = nullptr;
    std::size_t capacity = 0;
    LineBuffer() = default;
    LineBuffer(const LineBuffer&) = delete;
    LineBuffer& operator=(const LineBuffer&) = delete;
    ~LineBuffer() { std::free(data); }
  };

  std::FILE* in_;
  LineBuffer buffer_;
  std::size_t line_ = 0;
  const std::set<std::size_t> skip_;
  const std::size_t window_;

  mutable std::mutex mutex_;
  std::condition_variable window_cv_;
  std::unordered_map<std::size_t, Item> items_;  // handed to the pool, not yet taken back
  std::size_t handed_ = 0, written_ = 0, skipped_ = 0;
  std::deque<Problem> problems_;
  bool read_failed_ = false, stopped_ = false;
};

}  // namespace dlpool::cli
