#pragma once
// The pool's statistics (Pool::stats): counts of items and workers, and per task the
// distributions of run time and queue wait. Routing keeps it under the pool lock; a record
// costs a few additions and two histogram increments per chunk, so it is always on.

#include "histogram.hpp"

#include <dlpool/observe.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace dlpool::detail {

/// A moving average of how long something takes, in nanoseconds; negative until first measured.
struct Average {
  double ns = -1;
  void add(double sample) { ns = ns < 0 ? sample : (ns * 7 + sample) / 8; }
};

/// One task's record ("plugin.task"), shared by every job of it.
struct TaskBook {
  const std::string* name = nullptr;  // "plugin.task": its key in the book
  Average item_time;  // routing's guide to how long its chunks take (see task_handler.cpp)
  ItemCounts items;   // running and queued are the pool's only
  Histogram run_time, queue_wait;
};

/// How a chunk ended, for the counts.
enum class Ending : std::uint8_t { done, failed, lost };

class StatsBook {
 public:
  using Clock = std::chrono::steady_clock;

  /// The record of task `name`; it lives as long as the book.
  TaskBook& task(std::string name) {
    auto [it, added] = tasks_.try_emplace(std::move(name));
    if (added) it->second.name = &it->first;
    return it->second;
  }

  void submitted(TaskBook& task, std::uint64_t items) noexcept {
    items_.submitted += items;
    task.items.submitted += items;
  }
  void retried(TaskBook& task, std::uint64_t items) noexcept {
    items_.retried += items;
    task.items.retried += items;
  }
  /// A chunk of `items` items ended. `run`: its time in its worker, if it ran; `wait`: from its
  /// items entering the pool to its start, if it started.
  void ended(TaskBook& task, Ending how, std::uint64_t items, std::optional<std::chrono::nanoseconds> run,
             std::optional<std::chrono::nanoseconds> wait) noexcept;
  void worker_spawned() noexcept { ++workers_spawned_; }
  void worker_lost() noexcept { ++workers_lost_; }

  /// Items submitted and not ended yet.
  [[nodiscard]] std::uint64_t pending() const noexcept {
    return items_.submitted - items_.done - items_.failed - items_.lost;
  }
  /// The counts now, given the items being run now.
  [[nodiscard]] ItemCounts counts(std::uint64_t running) const noexcept;
  /// Everything, given the items being run now and the live workers.
  [[nodiscard]] PoolStats snapshot(std::uint64_t running, std::uint64_t workers_alive) const;

 private:
  const Clock::time_point started_ = Clock::now();
  ItemCounts items_;
  std::uint64_t workers_spawned_ = 0, workers_lost_ = 0;
  std::unordered_map<std::string, TaskBook> tasks_;
};

}  // namespace dlpool::detail
