#include "sys/fork_server.hpp"

#include "sys/fork_request.hpp"
#include "sys/io.hpp"
#include "sys/sanitizers.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

namespace dlpool::detail {
namespace {

// The server answers at once, but its first answer waits for it to start (exec and dynamic
// linking): a bound on that only keeps a wedged server from stalling the pool. One that died or
// was stopped (SIGSTOP, a debugger) is noticed within a slice of the wait, and given up at once.
constexpr std::chrono::milliseconds answer_slice{20};

/// Whether `pid` is stopped (SIGSTOP, SIGTSTP, a tracer): the state in /proc/PID/stat.
bool stopped(int pid) {
  const UniqueFd stat{::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC)};
  char text[512];
  const auto n = stat ? read_some(stat.get(), text, sizeof text) : -1;
  if (n <= 0) return false;
  const std::string_view line{text, static_cast<std::size_t>(n)};
  // "PID (COMM) STATE ...": COMM may hold anything, so the state follows the last ')'.
  const auto close = line.rfind(')');
  return close != std::string_view::npos && close + 2 < line.size() &&
         (line[close + 2] == 'T' || line[close + 2] == 't');
}

bool send_fds(int socket, const std::vector<int>& fds, std::string request) {
  if (request.empty()) request.push_back('\0');  // a message carrying fds needs a byte at least
  iovec data{request.data(), request.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(fork_request_max_fds * sizeof(int))]{};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
  std::memcpy(CMSG_DATA(header), fds.data(), fds.size() * sizeof(int));
  ssize_t n;
  do n = ::sendmsg(socket, &message, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(request.size());
}

/// The request's bytes: each plugin name followed by '\0', as many as fit the server's buffer.
std::string request_naming(std::span<const std::string> plugins) {
  std::string request;
  for (const auto& name : plugins) {
    if (request.size() + name.size() + 1 > fork_request_max) break;
    request += name;
    request += '\0';
  }
  return request;
}

std::optional<std::int64_t> receive_answer(int socket, const ChildProcess& server, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;  // wedged
    pollfd ready[2] = {{socket, POLLIN, 0}, {server.pidfd(), POLLIN, 0}};
    const int polled = ::poll(ready, 2, static_cast<int>(std::min(left, answer_slice).count()));
    if (polled < 0 && errno != EINTR) return std::nullopt;
    if (ready[0].revents != 0) break;  // the answer, or EOF
    if (ready[1].revents != 0 || stopped(server.pid())) return std::nullopt;  // died, or stopped
  }
  std::int64_t answer = 0;
  ssize_t n;
  do n = ::recv(socket, &answer, sizeof answer, 0);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof answer)) return std::nullopt;
  return answer;
}

}  // namespace

std::optional<ChildProcess> ForkServer::spawn(const std::vector<std::string>& worker_argv, const std::vector<int>& fds,
                                              std::span<const std::string> plugins) {
  if (fds.size() < fork_request_min_fds || fds.size() > fork_request_max_fds) return std::nullopt;
  std::lock_guard lock{mutex_};
  if (disabled_ || built_with_sanitizer) return std::nullopt;
  if (!started_) {
    started_ = true;
    int pair[2];
    // SOCK_SEQPACKET: each request and answer is one message, and a server gone is EOF.
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      disable();
      return std::nullopt;
    }
    socket_ = UniqueFd{pair[0]};
    const UniqueFd theirs{pair[1]};
    auto argv = worker_argv;
    argv.emplace_back("--fork-server");
    try {
      server_.emplace(ChildProcess::spawn(argv, {theirs.get()}));
    } catch (const std::system_error&) {
      disable();
      return std::nullopt;  // the caller's own spawn reports what is wrong
    }
  }
  if (stopped(server_->pid()) || !send_fds(socket_.get(), fds, request_naming(plugins))) {
    disable();
    return std::nullopt;
  }
  const auto answer = receive_answer(socket_.get(), *server_, answer_timeout_);
  if (!answer) {  // it could not start, cannot clone here (exit status 3), died, was stopped, or is wedged
    disable();
    return std::nullopt;
  }
  if (*answer <= 0) {  // it cannot clone (-errno: clone3 filtered out by seccomp, a process limit)
    disable();
    return std::nullopt;
  }
  // The server became the worker, and its clone the server.
  ChildProcess worker = std::move(*server_);
  server_.reset();
  try {
    server_.emplace(ChildProcess::adopt(static_cast<int>(*answer)));
  } catch (const std::system_error&) {
    disable();
  }
  return worker;
}

void ForkServer::close() noexcept {
  std::lock_guard lock{mutex_};
  close_socket();
}

void ForkServer::stop() noexcept {
  std::lock_guard lock{mutex_};
  disable();
}

void ForkServer::close_socket() noexcept {
  disabled_ = true;
  socket_.reset();  // EOF: the server exits
}

void ForkServer::disable() noexcept {
  close_socket();
  server_.reset();  // killed if it has not, and reaped
}

}  // namespace dlpool::detail
