#pragma once
// The syscalls the runtime makes, each wrapped once: EINTR is retried, short reads and writes are
// looped, and errno is read nowhere else.

#include "sys/unique_fd.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace dlpool::detail {

/// Throws std::system_error for errno: "what(subject): message".
[[noreturn]] void throw_errno(const char* what, std::string_view subject = {});

/// pipe2(O_CLOEXEC): only the spawn file actions place a pipe end in a child.
Pipe make_pipe();
UniqueFd make_eventfd();
UniqueFd make_epoll();

/// Writes all of `bytes`; returns false if the reader is gone (EPIPE), throws on other errors.
bool write_all(int fd, std::string_view bytes);
/// The same for several buffers, one after the other, in as few writev() calls as they allow.
bool write_all(int fd, std::span<const std::string_view> pieces);

/// One read() of at most `size` bytes into `data`, retried on EINTR. Returns the count, 0 at EOF,
/// or -1 when a non-blocking fd has nothing (EAGAIN).
long read_some(int fd, char* data, std::size_t size);

void set_nonblocking(int fd);

/// Asks for the pipe `fd` belongs to to hold at least `bytes` (F_SETPIPE_SZ, rounded up to a
/// power of two by the kernel). Returns its capacity afterwards, or 0 if it could not be grown
/// (over the user's pipe limits, or not a pipe). Never throws: a small pipe is only slower.
std::size_t grow_pipe(int fd, std::size_t bytes) noexcept;

/// Wakes a thread polling an eventfd / drains its count.
void signal_eventfd(int fd) noexcept;
void drain_eventfd(int fd) noexcept;

/// Blocks SIGPIPE in the calling thread, so a write to a dead worker's pipe is an EPIPE error
/// rather than a process-killing signal, without touching the host's signal dispositions.
void block_sigpipe_in_this_thread() noexcept;

/// write_all from a thread whose signal mask must be left as found (a caller's): SIGPIPE is
/// blocked around the write, so a reader gone is a `false` return (EPIPE) rather than a
/// process-killing signal, and the SIGPIPE that write raised is discarded before the mask is
/// restored. Costs two syscalls besides the write when nothing goes wrong.
bool write_all_without_sigpipe(int fd, std::string_view bytes);

}  // namespace dlpool::detail
