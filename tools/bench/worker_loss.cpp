#include "worker_loss.hpp"

#include "bench_tasks.hpp"
#include "pool_options.hpp"
#include "sys/io.hpp"

#include <dlpool/pool.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::bench {
namespace {

using Clock = std::chrono::steady_clock;
using detail::UniqueFd;

// Only bounds a broken run; nothing here waits on time.
constexpr std::chrono::seconds report_limit{30};

/// A fifo in a fresh temp directory, held open read-write by us for its whole life: the task's
/// open() for writing never blocks, and what it writes waits for us. Removed on destruction.
class PidFifo {
 public:
  PidFifo() {
    std::string dir = (std::filesystem::temp_directory_path() / "dlpool-bench-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) detail::throw_errno("mkdtemp", dir);
    dir_ = dir;
    path_ = dir_ / "pid";
    if (::mkfifo(path_.c_str(), 0600) != 0) {
      const int error = errno;
      std::filesystem::remove_all(dir_);
      errno = error;
      detail::throw_errno("mkfifo", path_.string());
    }
    fd_ = UniqueFd{::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)};
    if (!fd_) {
      const int error = errno;
      std::filesystem::remove_all(dir_);
      errno = error;
      detail::throw_errno("open", path_.string());
    }
  }
  ~PidFifo() {
    fd_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PidFifo(const PidFifo&) = delete;
  PidFifo& operator=(const PidFifo&) = delete;

  [[nodiscard]] std::string path() const { return path_.string(); }

  /// The next "<pid>\n" a task wrote. Throws std::runtime_error if none comes within the limit.
  int read_pid() {
    const auto deadline = Clock::now() + report_limit;
    for (;;) {
      if (const auto newline = pending_.find('\n'); newline != std::string::npos) {
        const int pid = std::stoi(pending_.substr(0, newline));
        pending_.erase(0, newline + 1);
        return pid;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) throw std::runtime_error{"hold_until_killed never reported its pid through " + path()};
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) detail::throw_errno("poll", path());
      char buffer[64];
      if (const long n = detail::read_some(fd_.get(), buffer, sizeof buffer); n > 0)
        pending_.append(buffer, static_cast<std::size_t>(n));
    }
  }

 private:
  std::filesystem::path dir_, path_;
  UniqueFd fd_;
  std::string pending_;
};

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

Row sigkill_recovery(int reps) {
  PidFifo fifo;
  Pool pool{pool_options(1)};
  (void)pool.apply(tasks::worker_pid, 0);  // the first worker is up before anything is timed
  std::vector<double> error_ms, ready_ms;
  for (int i = 0; i < reps; ++i) {
    auto held = pool.apply_async(tasks::hold_until_killed, {fifo.path()});
    const int victim = fifo.read_pid();
    const auto killed = Clock::now();
    if (::kill(victim, SIGKILL) != 0) detail::throw_errno("kill", std::to_string(victim));
    try {
      (void)held.get();
      throw std::runtime_error{"hold_until_killed returned instead of losing its worker"};
    } catch (const WorkerLostError& lost) {
      if (lost.pid() != victim)
        throw std::runtime_error{"WorkerLostError names worker " + std::to_string(lost.pid()) + ", but " +
                                 std::to_string(victim) + " was killed"};
    }
    const auto failed = Clock::now();
    const auto answered_by = pool.apply(tasks::worker_pid, 0);
    const auto ready = Clock::now();
    if (answered_by == victim) throw std::runtime_error{"the killed worker " + std::to_string(victim) + " answered"};
    error_ms.push_back(ms_between(killed, failed));
    ready_ms.push_back(ms_between(killed, ready));
  }
  pool.close();
  pool.join();
  Row row{"sigkill_recovery", median(ready_ms), "ms"};
  row.integer("processes", 1)
      .integer("reps", reps)
      .number("error_ms", median(error_ms))
      .number("max_ms", *std::ranges::max_element(ready_ms))
      .numbers("runs", ready_ms)
      .numbers("error_runs", error_ms);
  return row;
}

}  // namespace dlpool::bench
