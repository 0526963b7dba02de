#pragma once
// The local transport: executors are dlpool-worker processes on this host, made by the pool's
// fork server (or spawned), each under the pool's limits (rlimits, or a cgroup of its own).

#include <dlpool/pool.hpp>

#include "local_result_loop.hpp"
#include "local_worker.hpp"
#include "sys/cgroup.hpp"
#include "sys/fork_server.hpp"
#include "transport.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dlpool::detail {

/// Thread-safe: its state is fixed by the constructor, and the fork server and the result loop
/// lock their own.
class LocalTransport final : public Transport {
 public:
  /// Checks PoolOptions::limits and the worker's options (throws UsageError), and builds the
  /// arguments every worker gets. What it hears of its workers goes to `events`.
  /// `extra_args`: more arguments for every worker (an MPI agent's: --die-with-parent, ...).
  LocalTransport(const PoolOptions& options, TransportEvents& events, const std::vector<std::string>& extra_args = {});

  /// A new worker process for executor `id`, not yet watched. `plugins`: what the pool's
  /// workers have loaded, for the fork server to inspect ahead.
  LocalWorker::Parts spawn(std::uint64_t id, std::span<const std::string> plugins = {});
  /// Its workers get no shared arena: every payload goes through their pipes. For an MPI agent,
  /// which forwards its workers' frames unread. Before the first spawn.
  void without_shared_payloads();
  /// The path of the worker executable, for messages.
  [[nodiscard]] const std::string& executable() const noexcept { return argv_.front(); }
  /// Where its workers' results are read: the pool's result handler runs it.
  [[nodiscard]] LocalResultLoop& results() noexcept { return results_; }

  std::shared_ptr<Executor> start(std::uint64_t id, std::span<const std::string> plugins) override {
    return std::make_shared<LocalWorker>(spawn(id, plugins), max_frame_);
  }
  void watch(std::shared_ptr<Executor> executor) override {
    results_.watch(std::static_pointer_cast<LocalWorker>(std::move(executor)));
  }
  void finalize(std::shared_ptr<Executor> executor) override {
    results_.finalize(std::static_pointer_cast<LocalWorker>(std::move(executor)));
  }
  bool receive(const std::shared_ptr<Executor>& executor, const std::atomic<bool>& done) override {
    return results_.receive(std::static_pointer_cast<LocalWorker>(executor), done);
  }
  [[nodiscard]] bool can_receive() const noexcept override { return true; }
  void run() override { results_.run(); }
  void wake() override { results_.wake(); }
  void stop() override { results_.stop(); }
  [[nodiscard]] std::string describe() const override { return executable(); }

  void probe(const std::vector<std::string>& plugins) override;
  [[nodiscard]] const std::string& limits_in_force() const noexcept override { return limits_in_force_; }
  void stop_starting(bool wait) noexcept override {
    if (wait)
      fork_server_.stop();
    else
      fork_server_.close();
  }

 private:
  void use_limits(const WorkerLimits& limits);
  /// A worker's shared arena (sys/shared_arena.hpp), or none: payloads through the pipes.
  SharedArena make_arena();

  const std::uint32_t max_frame_;
  const std::optional<std::uint64_t> memory_bytes_;  // for a worker's cgroup
  const std::optional<std::chrono::seconds> cpu_time_;  // RLIMIT_CPU, to tell a worker killed for it
  std::vector<std::string> argv_;
  bool shared_payloads_ = true;  // each worker gets a shared arena (sys/shared_arena.hpp)
  std::optional<CgroupTree> cgroups_;  // the delegated cgroup directory, when it can be used
  std::string limits_in_force_;        // WorkerInfo::limits
  // Makes workers by cloning one; stopped once all are reaped. It has as long to answer as a
  // worker has to start, and never more than 10 s.
  ForkServer fork_server_;
  LocalResultLoop results_;  // after the fork server: destroyed first, with the workers it holds
};

}  // namespace dlpool::detail
