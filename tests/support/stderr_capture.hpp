#pragma once
// Collects what child processes write on the stderr (and stdout) they inherit from the test: a
// pipe takes fd 2's place while they are started, and a thread drains it, however much they
// write, until the last of them has exited.

#include "sys/io.hpp"
#include "sys/unique_fd.hpp"

#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace dlpool::test {

class StderrCapture {
 public:
  /// From now on, processes started by this test write their stderr into the capture.
  StderrCapture() {
    auto pipe = detail::make_pipe();
    saved_ = detail::UniqueFd{::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)};
    if (!saved_ || ::dup2(pipe.write.get(), STDERR_FILENO) < 0) detail::throw_errno("redirect stderr");
    reader_ = std::thread{[this, in = std::move(pipe.read)] {
      char buf[64 * 1024];
      for (long n; (n = detail::read_some(in.get(), buf, sizeof buf)) > 0;)
        text_.append(buf, static_cast<std::size_t>(n));
    }};
  }
  ~StderrCapture() {
    restore();
    if (reader_.joinable()) reader_.join();
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  /// The test's own stderr is its own again; processes started until now keep writing into the
  /// capture.
  void restore() {
    if (!saved_) return;
    ::dup2(saved_.get(), STDERR_FILENO);
    saved_.reset();
  }

  /// Everything captured. Waits until every process that inherited the capture has exited:
  /// reap them first.
  std::string text() {
    restore();
    if (reader_.joinable()) reader_.join();
    return text_;
  }

 private:
  detail::UniqueFd saved_;
  std::string text_;  // the reader's until it is joined
  std::thread reader_;
};

}  // namespace dlpool::test
