#include "isolation.hpp"

#include "small_thread.hpp"

#include "sys/ledger.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace dlpool::worker {
namespace {

// For the fork handler, which takes no arguments: the protocol fds, and the sandbox's listener.
int protocol_fds[4] = {-1, -1, -1, -1};
detail::Ledger* worker_ledger = nullptr;

void in_forked_child() noexcept {
  for (const int fd : protocol_fds)
    if (fd >= 0) ::close(fd);
  if (worker_ledger != nullptr) *worker_ledger = detail::Ledger{};  // unmapped
}

// For the watchdog thread: set before it starts.
int watched_results = -1;
int parent_pidfd = -1;
pid_t parent = 0;

[[noreturn]] void host_gone() {
  // write(2), not stdio: a task thread may hold stderr's lock for good.
  char message[96];
  const int n = std::snprintf(message, sizeof message, "dlpool-worker %d: its host (pid %d) is gone; exiting\n",
                              static_cast<int>(::getpid()), static_cast<int>(parent));
  if (n > 0) [[maybe_unused]]
    auto written = ::write(STDERR_FILENO, message, static_cast<std::size_t>(n));
  ::_exit(1);
}

void* watch(void*) {
  pollfd watched[2] = {{watched_results, 0, 0}, {parent_pidfd, POLLIN, 0}};
  // Without a pidfd (a kernel older than 5.3), the parent is looked at once a second.
  const nfds_t count = parent_pidfd >= 0 ? 2 : 1;
  const int timeout = parent_pidfd >= 0 ? -1 : 1000;
  for (;;) {
    // The results pipe is polled for nothing but its errors: POLLERR once no reader is left.
    const int ready = ::poll(watched, count, timeout);
    if (ready < 0 && errno == EINTR) continue;
    if (ready != 0 || ::getppid() != parent) host_gone();
  }
}

}  // namespace

void isolate_from_host(const int (&fds)[3], detail::Ledger& ledger) {
  ::setpgid(0, 0);  // fails only for a session leader, which a worker is not
  for (int i = 0; i < 3; ++i) protocol_fds[i] = fds[i];
  worker_ledger = &ledger;
  ::pthread_atfork(nullptr, nullptr, &in_forked_child);
}

void watch_host(int results_fd) {
  watched_results = results_fd;
  parent = ::getppid();
  parent_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, parent, 0));  // close-on-exec
  if (::getppid() != parent) host_gone();  // gone before the pidfd named it
  start_small_thread(&watch, nullptr);
}

void close_in_forked_children(int fd) {
  for (auto& slot : protocol_fds)
    if (slot < 0) {
      slot = fd;
      return;
    }
}

}  // namespace dlpool::worker
