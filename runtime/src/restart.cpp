// Hot swap: Pool::restart() rolls the workers onto the plugin files now on disk, after a probe
// worker has shown that those files load; Pool::workers() reports which files each worker runs.

#include "pool_impl.hpp"

#include "log/log.hpp"
#include "paths.hpp"
#include "sys/io.hpp"

#include <algorithm>
#include <fstream>

namespace dlpool::detail {
namespace {

std::uint64_t resident_bytes(int pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   1234 kB"
  return 0;
}

}  // namespace

void PoolImpl::restart() {
  // It waits for old workers to be finalized, which happens on the result thread.
  if (on_result_thread(this)) throw UsageError{waits_in_callback("Pool::restart()")};
  std::lock_guard one_at_a_time{restart_mutex_};
  std::vector<std::string> plugins;
  {
    std::lock_guard lock{mutex_};
    if (state_ != State::run) throw UsageError{"Pool not running"};
    for (const auto& w : workers_)
      for (const auto& p : w->plugins)
        if (std::ranges::find(plugins, p.name) == plugins.end()) plugins.push_back(p.name);
    if (options_.initializer && std::ranges::find(plugins, options_.initializer->task().plugin) == plugins.end())
      plugins.push_back(options_.initializer->task().plugin);
  }
  const auto began = Clock::now();
  transport_->probe(plugins);

  std::unique_lock lock{mutex_};
  if (state_ != State::run) throw UsageError{"Pool not running"};
  // The old generation takes no more work; the worker handler lets each exit once idle and starts
  // the new one meanwhile.
  ++generation_;
  log(LogLevel::info, "restart: the probe loaded {} plugin(s); rolling the workers to generation {}", plugins.size(),
      generation_);
  for (const auto& w : workers_)
    if (w->generation != generation_ && w->life.before(WorkerPhase::retiring)) w->life.to(WorkerPhase::retiring);
  signal_eventfd(worker_wake_.get());
  done_cv_.wait(lock, [&] {
    return state_ == State::terminate ||
           std::ranges::none_of(workers_, [&](const auto& w) { return w->generation != generation_; });
  });
  if (tracer_) {
    TraceEvent event;
    event.kind = TraceEvent::Kind::pool_restart;
    event.time = began;
    event.finished = Clock::now();
    event.generation = generation_;
    tracer_->event(std::move(event));
  }
}

std::vector<WorkerInfo> PoolImpl::workers() const {
  std::vector<WorkerInfo> infos;
  {
    std::lock_guard lock{mutex_};
    for (const auto& w : workers_) {
      if (w->life.phase() == WorkerPhase::reaped) continue;
      auto& info = infos.emplace_back(WorkerInfo{w->pid(),
                                                 w->generation,
                                                 w->items_done,
                                                 w->items_failed,
                                                 0,
                                                 {},
                                                 transport_->limits_in_force(),
                                                 w->executor->rank(),
                                                 w->executor->node()});
      for (const auto& p : w->plugins) info.plugins.push_back({p.name, p.path, p.version, p.inode, p.sha256});
    }
  }
  // /proc reads: not under the lock. A remote worker's memory is its node's to read.
  const auto here = host_name();
  for (auto& info : infos)
    if (info.node.empty()) {
      info.rss_bytes = resident_bytes(info.pid);
      info.node = here;
    }
  return infos;
}

}  // namespace dlpool::detail
