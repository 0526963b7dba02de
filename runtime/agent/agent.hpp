#pragma once
// dlpool-agent: one per node of an MPI job (ranks 1..N-1; rank 0 is the host). It starts, feeds
// and reaps the node's dlpool-worker processes as the host asks, forwarding the host's frames to
// a worker and the worker's frames back unread: it holds no task-specific code. A worker that
// crashes is reported with its exit status and the chunks it started (its ledger), so exactly
// its chunk fails and the host starts another; the MPI job never notices.
//
// One thread makes every MPI call and polls the workers' pipes: it spins while work flows, then
// sleeps in ppoll() for longer each time (mpi::Backoff), waking early when a worker writes.

#include "local_transport.hpp"
#include "local_worker.hpp"
#include "mpi/channel.hpp"
#include "mpi/messages.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dlpool::agent {

class Agent final : private detail::TransportEvents {
 public:
  /// `host`: the host's rank in `comm` (MPI_COMM_WORLD, or the parent of spawned agents).
  Agent(MPI_Comm comm, int host, int rank);
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;
  /// Ends its workers and removes the shipped plugin files it installed.
  ~Agent();
  /// Serves until the host says shutdown or is lost. Returns whether to finalize MPI.
  bool run();

 private:
  using Clock = std::chrono::steady_clock;
  struct Slot {
    std::shared_ptr<detail::LocalWorker> worker;
    // Task frames from the host not yet written: a worker is given its next chunk only once the
    // previous one's result is on its way to the host (see mpi/mpi_transport.hpp).
    struct Pending {
      std::string frame;
      bool task = false;  // a task frame (not INIT, LOAD, ...): one at a time
    };
    std::deque<Pending> pending;
    bool task_out = false;       // a task frame written, its result not yet read
    bool close_pending = false;  // the host closed its input: EOF once `pending` is written
    std::string refused;         // why the agent ended it (a malformed frame for it)
  };

  void configure(const detail::mpi::AgentConfig& config);
  void probe_shipped(const detail::mpi::AgentConfig& config);
  [[nodiscard]] std::unique_ptr<detail::LocalTransport> make_local(const detail::mpi::AgentConfig& config,
                                                                   const std::string& plugin_dir);
  /// Returns false on shutdown.
  bool handle(std::string_view bytes);
  void start(std::uint64_t id);
  void feed(std::uint64_t id, Slot& slot, std::string_view frames);
  void write_pending(Slot& slot);
  void probe(std::string_view payload);
  /// Reads what a worker wrote and forwards it. Returns whether anything was read.
  bool forward(std::uint64_t id, Slot& slot);
  void reap(std::uint64_t id, Slot& slot);
  void send(std::string message);
  void end_workers() noexcept;

  // TransportEvents: the local transport's loop is never run here (the agent reads its workers
  // itself), so none of these is called.
  void on_ready(detail::Executor&) override {}
  std::string on_result(detail::Executor&, detail::ChunkId, const detail::ParsedResult&) override { return {}; }
  void on_retired(detail::Executor&, std::string_view) override {}
  void on_plugin(detail::Executor&, wire::PluginReport) override {}
  void on_closing(detail::Executor&, bool) override {}
  void on_idle() override {}
  void on_lost(detail::Executor&, detail::LossReport) override {}

  detail::mpi::Channel channel_;
  const int host_;
  const int rank_;
  std::string node_;
  detail::mpi::AgentConfig config_;
  std::string plugin_dir_;  // node-local, for shipped plugins: the latest of `installed_`
  // What restart's probe loaded, until the host says whether every agent's probe did (commit).
  std::unique_ptr<detail::LocalTransport> probed_local_;
  detail::mpi::AgentConfig probed_config_;
  std::string probed_plugin_dir_;
  std::vector<std::string> installed_;  // every such directory (running workers may use older ones)
  std::unique_ptr<detail::LocalTransport> local_;
  std::map<std::uint64_t, Slot> slots_;
  std::chrono::milliseconds heartbeat_{1000};
  Clock::time_point last_from_host_ = Clock::now(), last_to_host_ = Clock::now();
  bool finalize_ = false;
};

}  // namespace dlpool::agent
