#pragma once
// `dlpool map --joblog FILE`: one line per input line as its outcome is written out, so that a
// run that stopped part way (a failed item, input cut short, a kill) can be resumed with
// --resume, which runs only the lines not yet done, as GNU parallel's --joblog / --resume.
//
//   line<TAB>status<TAB>pid<TAB>seconds<TAB>offset
//   0	start	-	0.000	0
//   3	ok	-	0.012	17
//   4	RemoteError/std::invalid_argument	4121	0.003	96
//
// line: the input line number (1-based); status: "ok" or the error type written in the output;
// pid: the worker's, when the outcome says (an error from a worker), else "-"; seconds: from
// when the pool took the item from the input to when its outcome came back; offset: the bytes of
// output once its output line was written (see StandardOutput::offset), "-" if unknown. A fresh
// log's first line, `0 start`, gives the offset where its run's output began.
//
// A line is logged only after its output line was written in full: the log never lists a line
// whose output is not there. Logs of the older format without the offset column are still read.

#include "sys/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace dlpool::cli {

class JobLog {
 public:
  struct Entry {
    std::size_t line = 0;
    std::string status;  // "ok" or an error type
    int pid = 0;         // 0: unknown
    double seconds = 0;
    std::optional<std::uint64_t> offset;  // unset: unknown
  };
  static constexpr const char* ok = "ok";
  static constexpr const char* header = "line\tstatus\tpid\tseconds\toffset";

  /// Opens `path`: emptied for a fresh run; with `resume`, read (done() gets every line logged
  /// with status ok) and appended to. A missing or empty file is a fresh one either way. Throws
  /// std::runtime_error naming the file and line of anything that is not a joblog line; an
  /// incomplete last line (a run killed while writing it) is dropped with a warning on stderr.
  JobLog(const std::string& path, bool resume);

  /// Whether the log started empty: write_start() is then due.
  [[nodiscard]] bool fresh() const noexcept { return fresh_; }
  /// The lines a previous run finished with status ok.
  [[nodiscard]] const std::set<std::size_t>& done() const noexcept { return done_; }
  /// The offset the last line read gives: the bytes of output when the previous run stopped.
  /// Unset for a fresh log, or one whose last line has none (an older format).
  [[nodiscard]] std::optional<std::uint64_t> output_end() const noexcept { return output_end_; }

  /// Appends the `0 start` line: where the output of this fresh log's run begins.
  void write_start(std::optional<std::uint64_t> offset);

  /// Appends `entry` as one line with one write(2): a run killed now leaves a log --resume
  /// trusts. Throws std::runtime_error "cannot write PATH: <strerror>" if it cannot be written.
  void write(const Entry& entry);

 private:
  void read(const std::string& text);
  void append(const std::string& text);

  std::string path_;
  bool fresh_ = true;
  std::set<std::size_t> done_;
  std::optional<std::uint64_t> output_end_;
  detail::UniqueFd fd_;
};

}  // namespace dlpool::cli
