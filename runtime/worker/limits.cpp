#include "limits.hpp"

#include "log/log.hpp"
#include "readable_size.hpp"
#include "sys/sanitizers.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace dlpool::worker {
namespace {

void set_limit(int resource, const char* name, rlim_t soft, rlim_t hard) {
  const rlimit limit{soft, hard};
  if (::setrlimit(resource, &limit) != 0)
    throw std::runtime_error{std::string{"cannot set "} + name + " to " + std::to_string(soft) + ": " +
                             std::strerror(errno)};
}

/// This process's CPU time so far (user + system), in whole seconds rounded up.
rlim_t cpu_seconds_used() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto micros =
      (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1'000'000L + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
  return static_cast<rlim_t>((micros + 999'999) / 1'000'000);
}

/// Resident bytes of this process, from `statm` (/proc/self/statm, kept open: one pread).
std::uint64_t resident_bytes(int statm) {
  char text[128];
  const auto n = statm < 0 ? -1 : ::pread(statm, text, sizeof text - 1, 0);
  if (n <= 0) return 0;
  text[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(text, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

Limits::Limits(LimitSettings settings) : settings_{settings} {
  if (settings_.max_rss_bytes) statm_ = detail::UniqueFd{::open("/proc/self/statm", O_RDONLY | O_CLOEXEC)};
}

void Limits::apply() const {
  if (settings_.memory_bytes) {
    // The sanitizers' shadow memory is counted as data, terabytes of it: under one, every later
    // allocation would fail. Such a worker runs without the limit, and says so.
    if constexpr (detail::built_with_sanitizer)
      detail::log(detail::LogLevel::warn, "memory limit of {} not set: this worker is built with a sanitizer",
                  detail::readable_size(*settings_.memory_bytes));
    else
      set_limit(RLIMIT_DATA, "the memory limit (RLIMIT_DATA)", *settings_.memory_bytes, *settings_.memory_bytes);
  }
  if (settings_.open_files)
    set_limit(RLIMIT_NOFILE, "the open-files limit (RLIMIT_NOFILE)", *settings_.open_files, *settings_.open_files);
}

void Limits::before_chunk(std::uint32_t items) const {
  if (!settings_.cpu_seconds) return;
  // Counted from what the worker has used so far: the limit is the chunk's, not the worker's.
  // Only the soft limit moves (SIGXCPU, whose default action ends the process): the hard one
  // could never be raised again for the next chunk without privileges.
  rlimit limit{};
  ::getrlimit(RLIMIT_CPU, &limit);
  const auto wanted = cpu_seconds_used() + static_cast<rlim_t>(*settings_.cpu_seconds) * std::max<rlim_t>(items, 1);
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  ::setrlimit(RLIMIT_CPU, &limit);
}

std::optional<std::string> Limits::over_rss() const {
  if (!settings_.max_rss_bytes) return std::nullopt;
  const auto resident = resident_bytes(statm_.get());
  if (resident <= *settings_.max_rss_bytes) return std::nullopt;
  return "resident memory " + detail::readable_size(resident / 1024 * 1024) + " is over max_memory_per_child (" +
         detail::readable_size(*settings_.max_rss_bytes) + ")";
}

}  // namespace dlpool::worker
