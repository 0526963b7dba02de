#include "sandbox.hpp"

#include "isolation.hpp"
#include "small_thread.hpp"
#include "sys/unique_fd.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dlpool::worker {
namespace {

/// A field of /proc/PID/status ("Tgid", "PPid"), or nothing if it cannot be read.
std::optional<long> status_field(long pid, std::string_view field) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  std::FILE* file = std::fopen(path.c_str(), "re");
  if (file == nullptr) return std::nullopt;
  std::optional<long> value;
  char line[256];
  while (std::fgets(line, sizeof line, file) != nullptr) {
    const std::string_view text{line};
    if (text.starts_with(field) && text.size() > field.size() && text[field.size()] == ':') {
      value = std::strtol(line + field.size() + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(file);
  return value;
}

/// Whether process `caller` (a thread group id) may signal process `target`: itself or its child.
bool own_or_child(long caller, long target) {
  if (target == caller) return true;
  const auto parent = status_field(target, "PPid");
  return parent && *parent == caller;
}

/// The decision on one signal-sending syscall of thread `tid`.
bool may_signal(const seccomp_notif& call) {
  const long tid = static_cast<long>(call.pid);
  const auto caller = status_field(tid, "Tgid");
  if (!caller) return false;
  const auto arg = [&](int i) { return static_cast<long>(static_cast<int>(call.data.args[i])); };  // int arguments
  const int nr = call.data.nr;
  if (nr == SCMP_SYS(kill) || nr == SCMP_SYS(rt_sigqueueinfo)) {
    const long pid = arg(0);
    if (pid == 0) return true;  // its own process group
    if (pid == -1) return false;  // every process it can reach
    if (pid < 0) return ::getpgid(static_cast<pid_t>(*caller)) == -pid;
    return own_or_child(*caller, pid);
  }
  if (nr == SCMP_SYS(tgkill) || nr == SCMP_SYS(rt_tgsigqueueinfo)) return own_or_child(*caller, arg(0));
  if (nr == SCMP_SYS(tkill)) {
    const auto target = status_field(arg(0), "Tgid");
    return target && own_or_child(*caller, *target);
  }
  return false;
}

/// Answers every notification of the filter: allowed calls continue as made (their arguments
/// are integers, read by the kernel again when it runs them: only the target's pid can change
/// meaning meanwhile, if it exits and its number is reused), the others fail with EPERM.
void* supervise(void* handover) {
  // The listener's number arrives through a pipe once the filter is loaded; EOF if it is not.
  const int from = static_cast<int>(reinterpret_cast<std::intptr_t>(handover));
  int notify_fd = -1;
  ssize_t got;
  do got = ::read(from, &notify_fd, sizeof notify_fd);
  while (got < 0 && errno == EINTR);
  ::close(from);
  if (got != static_cast<ssize_t>(sizeof notify_fd)) return nullptr;
  seccomp_notif* call = nullptr;
  seccomp_notif_resp* answer = nullptr;
  if (seccomp_notify_alloc(&call, &answer) != 0) ::_exit(2);
  for (;;) {
    std::memset(call, 0, sizeof *call);
    if (seccomp_notify_receive(notify_fd, call) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;  // ENOENT: the caller was gone already
      ::_exit(2);  // the filter's channel broke: no call could be answered any more
    }
    bool allowed = false;
    try {
      allowed = may_signal(*call);
    } catch (...) {  // out of memory or descriptors under the worker's limits: refused
    }
    std::memset(answer, 0, sizeof *answer);
    answer->id = call->id;
    if (allowed)
      answer->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else
      answer->error = -EPERM;
    if (seccomp_notify_id_valid(notify_fd, call->id) == 0) seccomp_notify_respond(notify_fd, answer);
  }
}

void add(scmp_filter_ctx filter, std::uint32_t action, int syscall, const char* name,
         std::optional<scmp_arg_cmp> condition = std::nullopt) {
  const int rc = condition ? seccomp_rule_add(filter, action, syscall, 1, *condition)
                           : seccomp_rule_add(filter, action, syscall, 0);
  if (rc != 0)
    throw std::runtime_error{
        std::string{"seccomp rule for "} + name + ": " + std::strerror(-rc) +
        (action == SCMP_ACT_NOTIFY ? " (user notification needs Linux 5.0 and libseccomp 2.5)" : "")};
}

/// A filter context, released when done with.
using Filter = std::unique_ptr<void, decltype(&seccomp_release)>;

}  // namespace

void enter_sandbox(bool no_network) {
  // The supervisor's thread is started before the filter is loaded, so that it is not under it:
  // a thread answering notifications must never make a call that waits for one (glibc's abort()
  // sends a signal, for one). It is handed the listener through a pipe; closing the pipe's write
  // end unanswered, if anything below fails, ends it.
  int handover[2];
  if (::pipe2(handover, O_CLOEXEC) != 0) throw std::runtime_error{std::string{"pipe2: "} + std::strerror(errno)};
  const detail::UniqueFd to_supervisor{handover[1]};
  if (!start_small_thread(&supervise, reinterpret_cast<void*>(static_cast<std::intptr_t>(handover[0])))) {
    ::close(handover[0]);
    throw std::runtime_error{"cannot start the sandbox's supervisor thread"};
  }
  const Filter filter{seccomp_init(SCMP_ACT_ALLOW), &seccomp_release};
  if (!filter) throw std::runtime_error{"seccomp_init failed"};
  for (const auto& [nr, name] : {std::pair{SCMP_SYS(kill), "kill"},
                                 {SCMP_SYS(tkill), "tkill"},
                                 {SCMP_SYS(tgkill), "tgkill"},
                                 {SCMP_SYS(rt_sigqueueinfo), "rt_sigqueueinfo"},
                                 {SCMP_SYS(rt_tgsigqueueinfo), "rt_tgsigqueueinfo"}})
    add(filter.get(), SCMP_ACT_NOTIFY, nr, name);
  for (const auto& [nr, name] : {std::pair{SCMP_SYS(ptrace), "ptrace"},
                                 {SCMP_SYS(process_vm_readv), "process_vm_readv"},
                                 {SCMP_SYS(process_vm_writev), "process_vm_writev"},
                                 {SCMP_SYS(pidfd_send_signal), "pidfd_send_signal"},
                                 {SCMP_SYS(pidfd_getfd), "pidfd_getfd"}})
    add(filter.get(), SCMP_ACT_ERRNO(EPERM), nr, name);
  // setpgid(pid, 0) only: a new group of its own. Joining the host's would bring the host in reach
  // of kill(0). (The 32-bit comparisons: these arguments are ints.)
  add(filter.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setpgid), "setpgid", SCMP_A1_32(SCMP_CMP_NE, 0));
  if (no_network) {
    add(filter.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), "socket", SCMP_A0_32(SCMP_CMP_NE, AF_UNIX));
    add(filter.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), "io_uring_setup");  // it opens sockets too
  }
  if (const int rc = seccomp_load(filter.get()); rc != 0)
    throw std::runtime_error{std::string{"seccomp_load: "} + std::strerror(-rc)};
  const int fd = seccomp_notify_fd(filter.get());
  if (fd < 0) throw std::runtime_error{"seccomp_notify_fd failed"};
  close_in_forked_children(fd);
  if (::write(to_supervisor.get(), &fd, sizeof fd) != static_cast<ssize_t>(sizeof fd))
    throw std::runtime_error{std::string{"cannot hand the sandbox's supervisor its listener: "} + std::strerror(errno)};
}

}  // namespace dlpool::worker
