#include "sys/child_process.hpp"

#include "sys/io.hpp"

#include <cerrno>
#include <csignal>
#include <system_error>

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dlpool::detail {
namespace {

// posix_spawn's file actions run in order in the child; moving the pipe ends above the target
// numbers first means placing one can never clobber another that still has to be placed.
constexpr int first_free_fd = 10;

struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

}  // namespace

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv, const std::vector<int>& fds) {
  std::vector<UniqueFd> high;  // host-side duplicates, closed when spawn returns
  SpawnActions file;
  posix_spawn_file_actions_addopen(&file.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&file.actions, 2, 1);
  for (std::size_t i = 0; i < fds.size(); ++i) {
    UniqueFd dup{::fcntl(fds[i], F_DUPFD_CLOEXEC, first_free_fd)};
    if (!dup) throw_errno("fcntl(F_DUPFD_CLOEXEC)");
    posix_spawn_file_actions_adddup2(&file.actions, dup.get(), 3 + static_cast<int>(i));
    high.push_back(std::move(dup));
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  // A worker starts with default signal handling and nothing blocked, whatever the host did to
  // its own threads: otherwise a host that blocks SIGTERM would make terminate() wait out its
  // whole grace period.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  // SIGXCPU too: ignored by the host, it would switch a worker's CPU-time limit off.
  for (const int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT, SIGXCPU, SIGXFSZ})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  // A process group of its own from the start, so that a terminal's ^C to the host's group never
  // reaches a worker, and a task's kill(0, sig) never reaches the host.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  pid_t pid = 0;
  // glibc's posix_spawn reports a failed exec as its return value (it uses CLONE_VFORK), so a
  // missing worker executable is an error here, not a child that dies later.
  const int rc = ::posix_spawn(&pid, args[0], &file.actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    throw_errno("posix_spawn", argv[0]);
  }
  return adopt(pid);
}

ChildProcess ChildProcess::adopt(int pid) {
  UniqueFd pidfd{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};
  if (!pidfd) {
    const int saved = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    errno = saved;
    throw_errno("pidfd_open");
  }
  ::fcntl(pidfd.get(), F_SETFD, FD_CLOEXEC);  // pidfd_open sets it since 5.10; be sure on older kernels
  return ChildProcess{pid, std::move(pidfd)};
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(SIGKILL);
    reap();
  }
}

void ChildProcess::kill(int signal) const noexcept {
  // Through the pidfd: if something else in the host reaped our child, its pid may already name
  // another process, but the pidfd still names ours (and the call just fails).
  if (pid_ > 0 && !reaped_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0);
}

std::optional<int> ChildProcess::try_reap() noexcept {
  if (reaped_) return std::nullopt;
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid_, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0) return std::nullopt;
  reaped_ = true;
  // ECHILD: the host application reaped it (SIGCHLD ignored, or its own waitpid(-1)); it has
  // exited, with a status nobody can know any more.
  return r < 0 ? -1 : status;
}

int ChildProcess::reap() {
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid_, &status, 0);
  while (r < 0 && errno == EINTR);
  reaped_ = true;
  return r < 0 ? -1 : status;
}

}  // namespace dlpool::detail
