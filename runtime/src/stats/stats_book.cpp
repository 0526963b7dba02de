#include "stats_book.hpp"

#include <algorithm>

namespace dlpool::detail {
namespace {

std::uint64_t per_item(std::chrono::nanoseconds total, std::uint64_t items) {
  return static_cast<std::uint64_t>(std::max<std::int64_t>(total.count(), 0)) / std::max<std::uint64_t>(items, 1);
}

}  // namespace

void StatsBook::ended(TaskBook& task, Ending how, std::uint64_t items, std::optional<std::chrono::nanoseconds> run,
                      std::optional<std::chrono::nanoseconds> wait) noexcept {
  auto& pool_count = how == Ending::done ? items_.done : how == Ending::failed ? items_.failed : items_.lost;
  auto& task_count = how == Ending::done     ? task.items.done
                     : how == Ending::failed ? task.items.failed
                                             : task.items.lost;
  pool_count += items;
  task_count += items;
  // A chunk is timed as a whole: each of its items is taken to have run for its share, and to
  // have waited as long as the chunk did.
  if (run) task.run_time.record(per_item(*run, items), items);
  if (wait) task.queue_wait.record(static_cast<std::uint64_t>(std::max<std::int64_t>(wait->count(), 0)), items);
}

ItemCounts StatsBook::counts(std::uint64_t running) const noexcept {
  auto counts = items_;
  counts.running = std::min(running, pending());
  counts.queued = pending() - counts.running;
  return counts;
}

PoolStats StatsBook::snapshot(std::uint64_t running, std::uint64_t workers_alive) const {
  PoolStats stats;
  stats.items = counts(running);
  stats.workers_spawned = workers_spawned_;
  stats.workers_lost = workers_lost_;
  stats.workers_alive = workers_alive;
  stats.uptime = Clock::now() - started_;
  Histogram run_time, queue_wait;
  stats.tasks.reserve(tasks_.size());
  for (const auto& [name, task] : tasks_) {
    auto& out =
        stats.tasks.emplace_back(TaskStats{name, task.items, task.run_time.latency(), task.queue_wait.latency()});
    out.items.running = out.items.queued = 0;
    run_time.merge(task.run_time);
    queue_wait.merge(task.queue_wait);
  }
  std::ranges::sort(stats.tasks, {}, &TaskStats::task);
  stats.run_time = run_time.latency();
  stats.queue_wait = queue_wait.latency();
  return stats;
}

}  // namespace dlpool::detail
