#include "isolation.hpp"

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

// For the fork handler, which takes no arguments.
int protocol_fds[3] = {-1, -1, -1};
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
  std::fprintf(stderr, "dlpool-worker %d: its host (pid %d) is gone; exiting\n", static_cast<int>(::getpid()),
               static_cast<int>(parent));
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
  pthread_attr_t attributes;
  ::pthread_attr_init(&attributes);
  ::pthread_attr_setstacksize(&attributes, 64 * 1024);  // it polls, and counts against RLIMIT_AS
  pthread_t thread;
  const int failed = ::pthread_create(&thread, &attributes, &watch, nullptr);
  ::pthread_attr_destroy(&attributes);
  if (failed == 0) ::pthread_detach(thread);
}

}  // namespace dlpool::worker
