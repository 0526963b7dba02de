#pragma once
// The MPI transport's parts (see mpi_transport.hpp): RemoteWorker, routing's executor for a worker
// on an agent's node; MpiTransport, with its MPI thread (mpi_thread.cpp: every MPI call, the
// agents' heartbeats, the end of the job) and its side on the pool's result handler
// (mpi_transport.cpp: starting workers, the probe, delivering what the MPI thread received).
// Private to those two files: it includes <mpi.h>.

#include <dlpool/pool.hpp>

#include "mpi/channel.hpp"
#include "mpi/messages.hpp"
#include "result_payload.hpp"
#include "transport.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace dlpool::detail::mpi {

using Clock = std::chrono::steady_clock;

class MpiTransport;

/// A worker on an agent's node, as routing sees it. Posting to it is thread-safe; the fields
/// under "result handler" are that thread's alone.
class RemoteWorker final : public Executor {
 public:
  RemoteWorker(MpiTransport& transport, std::uint64_t slot, std::size_t agent, int mpi_rank, int rank, std::string node)
      : slot{slot}, agent{agent}, transport_{transport}, mpi_rank_{mpi_rank}, rank_{rank}, node_{std::move(node)} {}

  [[nodiscard]] std::size_t parallelism() const noexcept override { return 1; }
  [[nodiscard]] std::size_t capacity() const noexcept override { return std::numeric_limits<std::size_t>::max(); }
  bool send(std::span<const std::string_view> frames) override;
  bool send_small(std::string_view frame) override { return send({&frame, 1}); }
  [[nodiscard]] bool started(std::uint64_t seq) const noexcept override {
    // A worker that died under a live agent: its ledger's count, which the agent read. One lost
    // with its agent: the chunk at the front (the next after the last answered) may have started;
    // the agent never wrote a later one (see mpi_transport.hpp).
    return agent_lost ? seq <= answered + 1 : seq <= chunks_started;
  }
  [[nodiscard]] std::string name() const override {
    return "worker " + std::to_string(pid_.load()) + " on " + node_ + " (MPI rank " + std::to_string(rank_) + ")";
  }
  [[nodiscard]] int pid() const noexcept override { return pid_.load(); }
  [[nodiscard]] std::string node() const override { return node_; }
  [[nodiscard]] int rank() const noexcept override { return rank_; }
  void close_input() noexcept override;
  [[nodiscard]] bool input_open() const noexcept override { return input_open_.load(); }
  void halt(bool now) noexcept override;
  void abandon(std::string why) override { abandoned = std::move(why); }

  void set_pid(int pid) noexcept { pid_.store(pid); }

  const std::uint64_t slot;
  const std::size_t agent;  // index in MpiTransport::agents_
  // The result handler's:
  bool watched = false;  // (transport mutex) routing knows it: its news may be delivered
  bool channel_lost = false;
  std::uint64_t answered = 0;  // task chunks it answered
  std::string abandoned;       // routing gave it up (abandon), until the loop ends it
  std::string protocol_error;  // why the host ended it for what it sent
  // Set by the MPI thread before its loss is handed over:
  bool agent_lost = false;
  std::uint64_t chunks_started = 0;

 private:
  MpiTransport& transport_;
  const int mpi_rank_;  // where its messages go
  const int rank_;      // as its agent is shown
  const std::string node_;
  std::atomic<int> pid_{0};
  std::atomic<bool> input_open_{true};
};

/// What the MPI thread hands the result handler for a worker.
struct Inbound {
  enum class What { frames, exited, start_failed, agent_lost };
  std::shared_ptr<RemoteWorker> worker;
  What what;
  std::string bytes;  // frames: the frames; exited: why the agent ended it, if it did; otherwise the cause
  int wait_status = -1;              // exited
  std::uint64_t chunks_started = 0;  // exited: its ledger's count
};

struct Agent {
  int rank = 0;   // in the communicator the host reaches it through
  int shown = 0;  // for people and WorkerInfo: its rank in the job (spawned: after the host)
  std::string node;
  int pid = 0;
  std::uint32_t workers = 0;
  std::size_t slots = 0;  // live workers
  Clock::time_point last_heard;
  bool hello = false;
  bool lost = false;
  bool bye = false;            // it answered shutdown: its workers are gone
  bool probe_pending = false;  // restart's probe sent, not answered: it cannot beat meanwhile
  Clock::time_point probe_sent;
};

class MpiTransport final : public Transport {
 public:
  MpiTransport(const PoolOptions& options, TransportEvents& events);
  ~MpiTransport() override;

  std::shared_ptr<Executor> start(std::uint64_t id, std::span<const std::string> plugins) override;
  void watch(std::shared_ptr<Executor> executor) override;
  void finalize(std::shared_ptr<Executor>) override {}  // no exit_fd: ends are reported unprompted
  void run() override;
  void wake() override {
    std::lock_guard lock{mutex_};
    woken_ = true;
    results_cv_.notify_one();
  }
  void stop() override {
    std::lock_guard lock{mutex_};
    stop_results_ = true;
    results_cv_.notify_one();
  }
  [[nodiscard]] std::string describe() const override { return "dlpool-agent (MPI)"; }
  [[nodiscard]] std::optional<std::size_t> room() const override;
  void probe(const std::vector<std::string>& plugins) override;
  [[nodiscard]] const std::string& limits_in_force() const noexcept override { return limits_; }
  void stop_starting(bool) noexcept override {}

  /// Hands `bytes` to the MPI thread for the agent of rank `rank`.
  void post(int rank, std::string bytes);

 private:
  // The MPI thread.
  void mpi_main();
  void serve(mpi::Channel& channel);
  void handle(mpi::Channel& channel, int source, std::string_view bytes);
  void lose_agent(mpi::Channel& channel, Agent& agent, const std::string& why);
  /// Ends every agent; returns whether all answered, and so MPI may be finalized.
  bool shut_down_agents(mpi::Channel& channel);
  void hand_over(Inbound inbound);  // with mutex_ held
  [[nodiscard]] Agent* agent_of(int rank);
  // The result handler.
  void deliver(Inbound& inbound);
  void lose_channel(RemoteWorker& worker, std::string why);

  TransportEvents& events_;
  const MpiOptions mpi_;
  const std::chrono::milliseconds start_timeout_;
  const std::uint32_t max_frame_;
  mpi::AgentConfig config_;  // sent to every agent first
  std::string limits_;

  mutable std::mutex mutex_;
  std::condition_variable mpi_cv_;      // the MPI thread sleeps on it: something to send, stop
  std::condition_variable results_cv_;  // the result handler sleeps on it
  std::condition_variable startup_cv_;  // the constructor and probe() wait on it
  std::vector<std::pair<int, std::string>> outbox_;
  std::deque<Inbound> inbox_;
  std::vector<Agent> agents_;
  std::unordered_map<std::uint64_t, std::shared_ptr<RemoteWorker>> slots_;
  int rank_base_ = 1;  // agents_[i] is rank i + rank_base_
  bool started_up_ = false;
  std::string startup_error_;
  std::size_t probes_pending_ = 0;
  std::string probe_errors_;
  bool woken_ = false, stop_results_ = false, stop_mpi_ = false;
  std::thread thread_;
  // The result handler's own.
  std::deque<Inbound> deferred_;  // news of workers routing does not know yet (watch)
  ParsedResult parsed_;
};

}  // namespace dlpool::detail::mpi
