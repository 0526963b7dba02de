#pragma once
// SIGTERM, SIGINT and SIGHUP for the commands that run a pool (`map`, `call`, `workers`).
// Their default action would kill the CLI at once and leave its workers behind, still running
// the task that hangs; instead the pool is terminated (its workers get SIGTERM, then SIGKILL
// after the grace period, and are reaped), the command writes out what it has and ends, and
// the process then dies of the first signal with its default action, so that a shell or a
// supervisor sees the usual status (128 + N in sh).

#include "sys/unique_fd.hpp"

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace dlpool::cli {

/// Threads: the watcher thread reads signals_ and runs stop_ under mutex_; watch() and the
/// Watch destructor set and clear stop_ under mutex_ from the command's thread; first_ is atomic.
class StopSignals {
 public:
  /// Blocks the three signals in the calling thread, which must be the only one: every thread
  /// started later (the pool's, the progress bar's) inherits the mask, so the signals reach only
  /// the watcher thread, through a signalfd. Workers are spawned with an empty mask.
  StopSignals();
  /// Stops the watcher thread. The signals stay blocked: one arriving later is left pending.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// While the returned Watch lives, a signal runs `stop` on the watcher thread (at once if one
  /// came before). It must not block: Pool::terminate() and ArgumentLines::stop() are what it is
  /// for. Each signal is told on stderr as it comes ("dlpool: SIGTERM: stopping the workers"). A
  /// second one runs `stop` again, which changes nothing: the workers being stopped are killed
  /// when the grace period ends, and the first signal decides the status.
  class Watch {
   public:
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    friend class StopSignals;
    explicit Watch(StopSignals& signals) noexcept : signals_{signals} {}
    StopSignals& signals_;
  };
  [[nodiscard]] Watch watch(std::function<void()> stop);

  /// The first signal received, or 0.
  [[nodiscard]] int received() const noexcept { return first_.load(); }

  /// "SIGTERM", "SIGINT" or "SIGHUP".
  [[nodiscard]] static const char* name(int signal) noexcept;

  /// Dies of `signal` with its default action (after the command has cleaned up); exits with
  /// 128 + signal should the process survive it.
  [[noreturn]] static void die_of(int signal) noexcept;

 private:
  void watch_signals();
  void run_stop(int signal) noexcept;  // with mutex_ held

  detail::UniqueFd signals_;  // a signalfd for the three signals
  detail::UniqueFd quit_;     // an eventfd: ends the watcher thread
  std::mutex mutex_;
  std::function<void()> stop_;
  std::atomic<int> first_{0};
  std::jthread watcher_;  // last: started once the members above exist
};

}  // namespace dlpool::cli
