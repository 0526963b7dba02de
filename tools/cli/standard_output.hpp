#pragma once
// The result lines of `dlpool map` and `dlpool call` on stdout, and how many bytes of output
// there are after each: what the joblog records so that --resume can find a line cut short.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dlpool::cli {

/// fd 1, written with write(2) one whole line at a time: nothing is buffered, so a line the
/// caller has been told is written is in the file (or the pipe), and the joblog can say so.
/// Used by one thread at a time.
class StandardOutput {
 public:
  /// Looks at what fd 1 is. The offset starts at the file's end (a regular file opened with
  /// `>>`) or position (`>`), or at 0 for anything else: the count of bytes written then goes on
  /// from the joblog's by continue_from().
  StandardOutput();

  /// Writes `line` and a newline. Throws std::runtime_error "cannot write standard output:
  /// <strerror>" on any error (EPIPE, ENOSPC, EBADF for a closed stdout...): a part of the line
  /// may have been written then.
  void write_line(std::string_view line);

  /// The bytes of output after the last line written: the file's size when stdout is a regular
  /// file, else the count since the start of the output; nothing when that is not known (a
  /// resumed run to a pipe whose joblog had no offset).
  [[nodiscard]] std::optional<std::uint64_t> offset() const noexcept { return offset_; }

  /// --resume: goes on from the output a joblog describes, which ended at `logged` bytes after its
  /// last line (nothing: the log does not say). When stdout is a regular file, a longer file is
  /// cut to `logged` (its tail is a line cut short, or one the joblog does not list: either way
  /// run again), with a note on stderr; a shorter one, or one written elsewhere than at its end,
  /// is refused with std::runtime_error. A pipe or terminal cannot be checked: the count goes on
  /// from `logged`.
  void continue_from(std::optional<std::uint64_t> logged);

 private:
  bool regular_file_ = false;
  bool appends_ = false;  // O_APPEND: every write lands at the end, whatever the position
  std::optional<std::uint64_t> offset_;
};

}  // namespace dlpool::cli
