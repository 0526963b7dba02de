// Test-only plugin: tasks that attack the worker's protocol from inside the worker: forged
// frames on its result pipe, floods of output, closed standard fds, child processes, signals to
// its process group.

#include <dlpool/plugin.hpp>

#include <cstdio>
#include <string>

#include <cerrno>
#include <csignal>

#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

DLPOOL_PLUGIN(hostile, "1.0.0")

namespace {

constexpr int results_fd = 4;  // the worker's result pipe (see runtime/worker/main.cpp)

/// Writes `bytes` straight onto the worker's result pipe, ahead of the worker's own answer: to
/// the host it looks as if the worker sent them.
int forge(std::string bytes) {
  for (std::size_t at = 0; at < bytes.size();) {
    const auto n = ::write(results_fd, bytes.data() + at, bytes.size() - at);
    if (n <= 0) return -1;
    at += static_cast<std::size_t>(n);
  }
  return 0;
}
DLPOOL_TASK(forge)

/// Prints `bytes` bytes on stdout and as many on stderr (many times a pipe's capacity), then
/// returns `bytes`.
long shout(long bytes) {
  const std::string line(99, 'o');
  for (long done = 0; done < bytes; done += 100) std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  for (long done = 0; done < bytes; done += 100) std::fprintf(stderr, "%s\n", line.c_str());
  return bytes;
}
DLPOOL_TASK(shout)

/// Closes fds 0, 1 and 2, prints into the void, then opens files that take those numbers and
/// prints into them: none of it may reach the protocol. Returns `x`.
int close_std_fds(int x) {
  ::close(0);
  ::close(1);
  ::close(2);
  std::printf("to a closed stdout\n");
  std::fflush(stdout);
  std::fprintf(stderr, "to a closed stderr\n");
  // The lowest free numbers: 0, 1, 2 again, now files of the plugin's.
  for (int i = 0; i < 3; ++i) ::open("/dev/null", O_WRONLY);
  std::printf("to a reopened stdout\n");
  std::fflush(stdout);
  std::fprintf(stderr, "to a reopened stderr\n");
  return x;
}
DLPOOL_TASK(close_std_fds)

/// Which of the worker's protocol fds (3, 4) a child process started by the task inherits: "" if
/// none, as it must be.
std::string child_fds() {
  FILE* child = ::popen("for fd in 3 4; do [ -e /proc/$$/fd/$fd ] && printf '%s ' $fd; done", "r");
  if (child == nullptr) return "popen failed";
  std::string out;
  char buf[64];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, child)) > 0;) out.append(buf, n);
  ::pclose(child);
  return out;
}
DLPOOL_TASK(child_fds)

/// The same for a child that only forks, and runs on without exec (close-on-exec does not help
/// there): which of fds 3, 4 and 5 (the doorbell) it finds open, "" as it must be.
std::string forked_child_fds() {
  const pid_t child = ::fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    int open_fds = 0;
    for (int fd = 3; fd <= 5; ++fd)
      if (::fcntl(fd, F_GETFD) >= 0) open_fds |= 1 << (fd - 3);
    ::_exit(open_fds);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
  }
  if (!WIFEXITED(status)) return "the child died";
  std::string out;
  for (int fd = 3; fd <= 5; ++fd)
    if ((WEXITSTATUS(status) & (1 << (fd - 3))) != 0) out += std::to_string(fd) + ' ';
  return out;
}
DLPOOL_TASK(forked_child_fds)

/// Sends `sig` to its own process group (kill(0, sig)): the worker's, never the host's.
int kill_group(int sig) { return ::kill(0, sig); }
DLPOOL_TASK(kill_group)

/// kill(pid, sig): 0, or the errno it failed with.
int signal_process(int pid, int sig) { return ::kill(pid, sig) == 0 ? 0 : errno; }
DLPOOL_TASK(signal_process)

/// Forks a child that waits, and kills it with SIGKILL: 0, or the errno kill() failed with.
int signal_own_child() {
  const pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const int result = ::kill(child, SIGKILL) == 0 ? 0 : errno;
  if (result != 0) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return result;
}
DLPOOL_TASK(signal_own_child)

volatile std::sig_atomic_t raised = 0;
/// raise(SIGUSR1) with a handler of its own: 1 if the handler ran.
int raise_self() {
  raised = 0;
  std::signal(SIGUSR1, [](int) { raised = 1; });
  std::raise(SIGUSR1);
  return raised;
}
DLPOOL_TASK(raise_self)

/// ptrace(PTRACE_ATTACH, pid): 0 (then detached), or the errno it failed with.
int trace_process(int pid) {
  if (::ptrace(PTRACE_ATTACH, pid, nullptr, nullptr) != 0) return errno;
  ::waitpid(pid, nullptr, __WALL);
  ::ptrace(PTRACE_DETACH, pid, nullptr, nullptr);
  return 0;
}
DLPOOL_TASK(trace_process)

/// setpgid(0, pgid): 0, or the errno it failed with.
int join_group(int pgid) { return ::setpgid(0, pgid) == 0 ? 0 : errno; }
DLPOOL_TASK(join_group)

/// socket(domain, SOCK_STREAM, 0): 0 (then closed), or the errno it failed with.
int open_socket(int domain) {
  const int fd = ::socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}
DLPOOL_TASK(open_socket)

}  // namespace
