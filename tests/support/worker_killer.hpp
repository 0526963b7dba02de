#pragma once
// A kill storm for reliability tests: a thread that SIGKILLs a random worker of a pool each time
// the test asks, so that kills follow the consumer's progress, never a clock.

#include <dlpool/pool.hpp>

#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include <signal.h>

namespace dlpool::test {

class WorkerKiller {
 public:
  WorkerKiller(const Pool& pool, unsigned seed)
      : thread_{[this, &pool, seed] {
          std::mt19937 random{seed};
          std::unique_lock lock{mutex_};
          for (;;) {
            cv_.wait(lock, [&] { return finished_ || asked_ > done_; });
            if (finished_) return;
            if (const auto pids = pool.worker_pids(); !pids.empty()) ::kill(pids[random() % pids.size()], SIGKILL);
            ++done_;
          }
        }} {}
  ~WorkerKiller() { stop(); }
  WorkerKiller(const WorkerKiller&) = delete;
  WorkerKiller& operator=(const WorkerKiller&) = delete;

  /// One more kill, done on the killer's thread.
  void ask() {
    std::lock_guard lock{mutex_};
    ++asked_;
    cv_.notify_one();
  }
  /// Ends the storm (kills asked for and not done yet are not done); returns the kills done.
  int stop() {
    {
      std::lock_guard lock{mutex_};
      finished_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    return done_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int asked_ = 0, done_ = 0;
  bool finished_ = false;
  std::thread thread_;  // last: it uses the members above
};

}  // namespace dlpool::test
