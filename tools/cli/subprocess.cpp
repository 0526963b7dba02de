#include "subprocess.hpp"

#include "sys/io.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dlpool::cli {
namespace {

using detail::UniqueFd;

/// A spawned child that is killed and reaped unless it was reaped already: no zombie, no
/// stray process, whichever way run_captured leaves.
class Child {
 public:
  explicit Child(pid_t pid) noexcept : pid_{pid} {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait();
    }
  }

  /// Blocks until the child exits; its wait status.
  int wait() {
    int status = 0;
    pid_t r;
    do r = ::waitpid(pid_, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) detail::throw_errno("waitpid");
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

struct FileActions {
  posix_spawn_file_actions_t actions;
  FileActions() { posix_spawn_file_actions_init(&actions); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

/// Moves `fd` to a number above the standard streams, so that placing one pipe end at 1 or 2 in
/// the child cannot clobber the other (possible when our own stdout or stderr was closed).
UniqueFd above_stdio(UniqueFd fd) {
  if (fd.get() > STDERR_FILENO) return fd;
  UniqueFd moved{::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1)};
  if (!moved) detail::throw_errno("fcntl(F_DUPFD_CLOEXEC)");
  return moved;
}

}  // namespace

Captured run_captured(const std::vector<std::string>& argv) {
  auto out = detail::make_pipe();
  auto err = detail::make_pipe();
  out.write = above_stdio(std::move(out.write));
  err.write = above_stdio(std::move(err.write));

  FileActions file;
  posix_spawn_file_actions_addopen(&file.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&file.actions, out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&file.actions, err.write.get(), STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  // glibc reports a failed exec as posix_spawn's result (it uses CLONE_VFORK).
  if (const int rc = ::posix_spawn(&pid, args[0], &file.actions, nullptr, args.data(), environ); rc != 0) {
    errno = rc;
    detail::throw_errno("posix_spawn", argv[0]);
  }
  Child child{pid};
  // Only the child may hold the write ends now, so EOF on both pipes means it is done writing.
  out.write.reset();
  err.write.reset();

  // Both pipes at once: a child that fills one while we block on the other would never finish.
  Captured captured;
  std::array<pollfd, 2> fds{{{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}}};
  std::array<std::string*, 2> sinks{&captured.out, &captured.err};
  char buffer[16384];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      detail::throw_errno("poll");
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const long n = detail::read_some(fds[i].fd, buffer, sizeof buffer);
      if (n > 0)
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      else if (n == 0)
        fds[i].fd = -1;  // EOF; a negative fd makes poll() skip the entry
    }
  }
  captured.wait_status = child.wait();
  return captured;
}

std::string describe_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const char* abbrev = ::sigabbrev_np(WTERMSIG(wait_status));
    return "was killed by " +
           (abbrev != nullptr ? std::string{"SIG"} + abbrev : "signal " + std::to_string(WTERMSIG(wait_status)));
  }
  return "stopped (status " + std::to_string(wait_status) + ")";
}

}  // namespace dlpool::cli
