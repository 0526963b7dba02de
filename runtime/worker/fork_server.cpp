#include "fork_server.hpp"

#include "plugin_loader.hpp"

#include "sys/fork_request.hpp"
#include "sys/sanitizers.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <span>
#include <string_view>

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace dlpool::worker {
namespace {

constexpr int socket_fd = 3;
constexpr int cannot_serve = 3;

/// What glibc's fork() does in the child, for a raw clone: the kernel stores the child's tid
/// where glibc keeps the thread's (pthread_kill, raise and abort use it), and the robust mutex
/// list is registered again (the kernel drops it on clone). glibc's own fork cannot be used:
/// it has no CLONE_PARENT. At-fork handlers are not run; nothing in this process registers any,
/// and it is single-threaded and idle (no lock held) when it clones.
struct ThreadState {
  int* tid_address = nullptr;
  void* robust_head = nullptr;
  std::size_t robust_size = 0;

  bool read() noexcept {
    // PR_GET_TID_ADDRESS: the address glibc registered with set_tid_address, i.e. &self->tid.
    if (::prctl(PR_GET_TID_ADDRESS, &tid_address) != 0 || tid_address == nullptr) return false;
    return ::syscall(SYS_get_robust_list, 0, &robust_head, &robust_size) == 0;
  }
};

long clone_as_sibling(const ThreadState& state) noexcept {
  clone_args args{};
  args.flags = CLONE_PARENT | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
  args.child_tid = reinterpret_cast<std::uint64_t>(state.tid_address);
  // exit_signal stays 0, as clone3 requires with CLONE_PARENT: the child inherits this
  // process's own, SIGCHLD (posix_spawn's), so the host is told of its exit as of any child.
  const long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) ::syscall(SYS_set_robust_list, state.robust_head, state.robust_size);
  return pid;
}

/// In the new worker: the received descriptors onto fds 3, 4, ... (the socket's place among
/// them), nothing else of the server's left open.
void place_fds(std::span<const int> fds) {
  // Above the targets first, the received numbers closed: one of them may itself be a target.
  int high[detail::fork_request_max_fds];
  for (std::size_t i = 0; i < fds.size(); ++i) {
    high[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    ::close(fds[i]);
    if (high[i] < 0) ::_exit(2);
  }
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (::dup2(high[i], 3 + static_cast<int>(i)) < 0) ::_exit(2);
    ::close(high[i]);
  }
}

void answer(std::int64_t result) {
  // MSG_NOSIGNAL: a host gone is EOF on the next receive, not a SIGPIPE.
  if (::send(socket_fd, &result, sizeof result, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof result)) ::_exit(0);
}

}  // namespace

void serve_forks(PluginLoader& loader) {
  ThreadState state;
  if (detail::built_with_sanitizer || !state.read()) ::_exit(cannot_serve);
  char names[detail::fork_request_max];
  for (;;) {
    iovec data{names, sizeof names};
    alignas(cmsghdr) char control[CMSG_SPACE(detail::fork_request_max_fds * sizeof(int))];
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t n;
    do n = ::recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0) ::_exit(0);  // the pool is done with us
    int received[detail::fork_request_max_fds];
    std::size_t count = 0;
    const cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (header != nullptr && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
      count = std::min((header->cmsg_len - CMSG_LEN(0)) / sizeof(int), std::size(received));
      std::memcpy(received, CMSG_DATA(header), count * sizeof(int));
    }
    const std::span<const int> fds{received, count};
    if (count < detail::fork_request_min_fds || (message.msg_flags & MSG_CTRUNC) != 0) {
      for (const int fd : fds) ::close(fd);
      answer(-EINVAL);
      continue;
    }
    if ((message.msg_flags & MSG_TRUNC) == 0) {  // a list cut short is only work not done ahead
      for (std::string_view rest{names, static_cast<std::size_t>(n)}; !rest.empty();) {
        const auto end = rest.find('\0');
        if (end == std::string_view::npos) break;
        loader.inspect_ahead(rest.substr(0, end));
        rest.remove_prefix(end + 1);
      }
    }
    // The clone carries on as the server and this process becomes the worker, not the other way
    // round: this process is running now, while a new process may wait for a CPU (the scheduler
    // gives a new task no credit), and the worker is the one the host is waiting for.
    const long pid = clone_as_sibling(state);
    if (pid != 0) {
      const int error = errno;
      if (pid < 0) {
        for (const int fd : fds) ::close(fd);
        answer(-error);
        continue;
      }
      answer(pid);  // the new server's pid; the host knows this process's
      place_fds(fds);
      return;
    }
    // The new server: on with the loop, in a process group of its own (the worker it leaves
    // behind leads the one it had: see isolate_from_host).
    ::setpgid(0, 0);
    for (const int fd : fds) ::close(fd);
  }
}

}  // namespace dlpool::worker
