#include "sys/io.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <string>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

namespace dlpool::detail {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);  // close() is not retried on EINTR: on Linux the fd is gone anyway
  fd_ = fd;
}

void throw_errno(const char* what, std::string_view subject) {
  std::string where{what};
  if (!subject.empty()) where.append("(").append(subject).append(")");
  throw std::system_error{errno, std::generic_category(), where};
}

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  return {UniqueFd{fds[0]}, UniqueFd{fds[1]}};
}

UniqueFd make_eventfd() {
  UniqueFd fd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  if (!fd) throw_errno("eventfd");
  return fd;
}

UniqueFd make_epoll() {
  UniqueFd fd{::epoll_create1(EPOLL_CLOEXEC)};
  if (!fd) throw_errno("epoll_create1");
  return fd;
}

bool write_all(int fd, std::string_view bytes) { return write_all(fd, std::span{&bytes, 1}); }

bool write_all(int fd, std::span<const std::string_view> pieces) {
  constexpr std::size_t max_iov = 64;  // per call; well under IOV_MAX
  iovec iov[max_iov];
  std::size_t skip = 0;  // bytes of pieces.front() already written
  while (!pieces.empty()) {
    const auto n_iov = std::min(pieces.size(), max_iov);
    for (std::size_t i = 0; i < n_iov; ++i) iov[i] = {const_cast<char*>(pieces[i].data()), pieces[i].size()};
    iov[0].iov_base = static_cast<char*>(iov[0].iov_base) + skip;
    iov[0].iov_len -= skip;
    auto n = ::writev(fd, iov, static_cast<int>(n_iov));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return false;
      throw_errno("writev");
    }
    // Step over what went out: whole pieces, then part of the next.
    auto done = static_cast<std::size_t>(n);
    while (!pieces.empty() && done >= pieces.front().size() - skip) {
      done -= pieces.front().size() - skip;
      skip = 0;
      pieces = pieces.subspan(1);
    }
    skip += done;
  }
  return true;
}

long read_some(int fd, char* data, std::size_t size) {
  for (;;) {
    const auto n = ::read(fd, data, size);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    throw_errno("read");
  }
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("fcntl(O_NONBLOCK)");
}

std::size_t grow_pipe(int fd, std::size_t bytes) noexcept {
  const int size = ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(std::min<std::size_t>(bytes, 1u << 30)));
  return size < 0 ? 0 : static_cast<std::size_t>(size);
}

void signal_eventfd(int fd) noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);  // EAGAIN only at 2^64-1 pending: still woken
}

void drain_eventfd(int fd) noexcept {
  std::uint64_t count;
  [[maybe_unused]] auto n = ::read(fd, &count, sizeof count);
}

void block_sigpipe_in_this_thread() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

bool write_all_without_sigpipe(int fd, std::string_view bytes) {
  sigset_t pipe, old;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &old);
  const bool was_blocked = sigismember(&old, SIGPIPE) == 1;
  // Only a thread that had it blocked can have one pending already, which must stay pending.
  bool was_pending = false;
  if (was_blocked) {
    sigset_t pending;
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE) == 1;
  }
  const auto restore = [&](bool raised) noexcept {
    if (raised && !was_pending) {
      const timespec now{0, 0};
      while (sigtimedwait(&pipe, nullptr, &now) < 0 && errno == EINTR) {
      }
    }
    if (!was_blocked) pthread_sigmask(SIG_UNBLOCK, &pipe, nullptr);
  };
  bool written = false;
  try {
    written = write_all(fd, bytes);
  } catch (...) {
    restore(false);  // an error other than EPIPE raises no SIGPIPE
    throw;
  }
  restore(!written);
  return written;
}

}  // namespace dlpool::detail
