#pragma once

#include "sys/unique_fd.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dlpool::detail {

/// A spawned child: its pid and a pidfd to poll for its exit. The destructor kills and reaps a
/// child that is still there, so no path leaves a zombie or a stray process.
class ChildProcess {
 public:
  /// posix_spawn()s `argv[0]` in a process group of its own, with stdin on /dev/null, stdout on
  /// the host's stderr, and each `fds[i]` placed at fd 3 + i. Every other fd of the host is
  /// close-on-exec.
  static ChildProcess spawn(const std::vector<std::string>& argv, const std::vector<int>& fds);
  /// Takes charge of `pid`, a child of this process started some other way (a fork server's
  /// CLONE_PARENT clone). Throws std::system_error if no pidfd can be opened for it; the child
  /// is then killed and reaped.
  static ChildProcess adopt(int pid);

  ChildProcess(ChildProcess&& other) noexcept
      : pid_{std::exchange(other.pid_, -1)}, pidfd_{std::move(other.pidfd_)}, reaped_{other.reaped_} {}
  ChildProcess& operator=(ChildProcess&&) noexcept = delete;
  ~ChildProcess();

  [[nodiscard]] int pid() const noexcept { return pid_; }
  /// Readable once the child has exited.
  [[nodiscard]] int pidfd() const noexcept { return pidfd_.get(); }
  /// Sends `signal` unless the child was already reaped (its pid may then belong to another).
  void kill(int signal) const noexcept;
  /// Reaps the child if it has exited: its waitpid() status (-1 if someone else reaped it), or
  /// nothing while it runs. Never throws.
  std::optional<int> try_reap() noexcept;
  /// Blocks until the child exits, and reaps it.
  int reap();
  [[nodiscard]] bool reaped() const noexcept { return reaped_; }

 private:
  ChildProcess(int pid, UniqueFd pidfd) noexcept : pid_{pid}, pidfd_{std::move(pidfd)} {}
  int pid_;
  UniqueFd pidfd_;
  bool reaped_ = false;
};

}  // namespace dlpool::detail
