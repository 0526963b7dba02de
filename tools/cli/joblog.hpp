#pragma once
// `dlpool map --joblog FILE`: one line per input line as its outcome is written out, so that a
// run that stopped part way (a failed item, input cut short, a kill) can be resumed with
// --resume, which runs only the lines not yet done, as GNU parallel's --joblog / --resume.
//
//   line<TAB>status<TAB>pid<TAB>seconds
//   3	ok	-	0.012
//   4	RemoteError/std::invalid_argument	4121	0.003
//
// line: the input line number (1-based); status: "ok" or the error type written in the output;
// pid: the worker's, when the outcome says (an error from a worker), else "-"; seconds: from
// when the pool took the item from the input to when its outcome came back.

#include <cstddef>
#include <cstdio>
#include <memory>
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
  };
  static constexpr const char* ok = "ok";
  static constexpr const char* header = "line\tstatus\tpid\tseconds";

  /// Opens `path`: emptied for a fresh run; with `resume`, read (done() gets every line logged
  /// with status ok) and appended to. A missing file is a fresh one either way. Throws
  /// std::runtime_error naming the file and line of anything that is not a joblog line; an
  /// incomplete last line (a run killed while writing it) is dropped with a warning on stderr.
  JobLog(const std::string& path, bool resume);

  /// The lines a previous run finished with status ok.
  [[nodiscard]] const std::set<std::size_t>& done() const noexcept { return done_; }

  /// Appends `entry` as one line, flushed at once: a run killed now leaves a log --resume trusts.
  /// Throws std::runtime_error if it cannot be written.
  void write(const Entry& entry);

 private:
  void read(const std::string& text);

  std::string path_;
  std::set<std::size_t> done_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_{nullptr, &std::fclose};
};

}  // namespace dlpool::cli
