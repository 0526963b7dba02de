#pragma once
// The names of the files to report on, handed to the pool one at a time and remembered until
// their result is printed.

#include <cstddef>
#include <deque>
#include <istream>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace file_report {

/// Names from the command line, or read lazily from a stream (one per line, blank lines
/// skipped), so that a list of any length streams through the pool without being held whole.
///
/// next() runs on the pool's task-handler thread (it is imap's generator) and take() on the
/// thread printing the results: the mutex guards every member.
class FileNames {
 public:
  explicit FileNames(std::vector<std::string> names) : names_{std::move(names)} {}
  explicit FileNames(std::istream& in) : in_{&in} {}

  /// The next name for the pool, std::nullopt at the end.
  [[nodiscard]] std::optional<std::string> next();

  /// The oldest name handed out by next() and not yet taken. imap delivers results in input
  /// order, so this is the name of the result (or error) it delivered last.
  [[nodiscard]] std::string take();

 private:
  std::mutex mutex_;
  std::vector<std::string> names_;
  std::size_t next_name_ = 0;
  std::istream* in_ = nullptr;
  std::deque<std::string> in_flight_;
};

}  // namespace file_report
