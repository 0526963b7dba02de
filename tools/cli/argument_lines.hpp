#pragma once
// The lines of `dlpool map`'s input, read lazily as the pool asks for them.

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dlpool::cli {

/// The imap generator of `dlpool map`. It hands the pool only the lines that are JSON arrays
/// and sets the others aside with the reason, so that a malformed line never reaches a worker
/// (where it would fail the whole chunk it landed in) and the consumer can put its error line
/// back at its place in the output.
///
/// Threads: next() runs on the pool's task-handler thread and alone touches in_, buffer_ and
/// line_; the take_*() functions and read_failed() run on the consumer's thread. item_lines_,
/// problems_ and read_failed_ are shared, under mutex_.
class ArgumentLines {
 public:
  struct Problem {
    std::size_t line;     // 1-based
    std::string message;  // "empty line: ...", "invalid JSON at offset 3: ..."
  };
  static constexpr std::size_t end_of_input = std::numeric_limits<std::size_t>::max();

  /// `in` must outlive this object and be read by nothing else.
  explicit ArgumentLines(std::FILE* in) : in_{in} {}
  ArgumentLines(const ArgumentLines&) = delete;
  ArgumentLines& operator=(const ArgumentLines&) = delete;

  /// The next line that is a JSON array, without its newline; std::nullopt at the end of the
  /// stream or on a read error. Blocks on the stream.
  std::optional<std::string> next();

  /// The line number of the next item next() returned, in order, or nothing if next() has not
  /// returned that many items.
  std::optional<std::size_t> take_item_line();

  /// The lines set aside so far whose number is below `line`, in order, forgotten once taken.
  std::vector<Problem> take_problems_before(std::size_t line);

  /// Whether the input ended with a read error. Meaningful once next() returned std::nullopt.
  [[nodiscard]] bool read_failed() const;

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

  mutable std::mutex mutex_;
  std::deque<std::size_t> item_lines_;  // of the items not yet taken
  std::deque<Problem> problems_;
  bool read_failed_ = false;
};

}  // namespace dlpool::cli
