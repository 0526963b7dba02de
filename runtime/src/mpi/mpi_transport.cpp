#include "mpi/mpi_transport.hpp"

#include "errors_internal.hpp"
#include "frame_dispatch.hpp"
#include "log/log.hpp"
#include "mpi/channel.hpp"
#include "mpi/messages.hpp"
#include "mpi/plugin_hashes.hpp"
#include "paths.hpp"
#include "readable_size.hpp"

#include <dlpool/wire/frame.hpp>
#include <dlpool/wire/plugin_files.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <csignal>

#include <sys/wait.h>

namespace dlpool::detail {
namespace {

using Clock = std::chrono::steady_clock;
using mpi::Kind;

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

bool RemoteWorker::send(std::span<const std::string_view> frames) {
  auto message = mpi::message(Kind::frames, slot);
  std::size_t bytes = message.size();
  for (const auto& frame : frames) bytes += frame.size();
  message.reserve(bytes);
  for (const auto& frame : frames) message += frame;
  transport_.post(mpi_rank_, std::move(message));
  return true;  // a worker or agent that is gone is reported as lost
}

void RemoteWorker::close_input() noexcept {
  if (input_open_.exchange(false)) try {
      transport_.post(mpi_rank_, mpi::message(Kind::close, slot));
    } catch (...) {  // out of memory: the worker is halted at the end of the pool anyway
    }
}

void RemoteWorker::halt(bool now) noexcept {
  try {
    auto message = mpi::message(Kind::halt, slot);
    wire::put(message, static_cast<std::uint8_t>(now));
    transport_.post(mpi_rank_, std::move(message));
  } catch (...) {
  }
}

std::string limits_text(const WorkerLimits& limits) {
  std::string text;
  const auto add = [&](const std::string& limit) { text += (text.empty() ? "" : ", ") + limit; };
  if (limits.memory_bytes) add("memory " + readable_size(*limits.memory_bytes) + " (RLIMIT_DATA)");
  if (limits.cpu_time) add("CPU " + std::to_string(limits.cpu_time->count()) + " s per item (RLIMIT_CPU)");
  if (limits.open_files) add("open files " + std::to_string(*limits.open_files) + " (RLIMIT_NOFILE)");
  if (limits.max_memory_per_child)
    add("max_memory_per_child " + readable_size(*limits.max_memory_per_child) + " (resident, after each chunk)");
  return text.empty() ? "none" : text;
}

MpiTransport::MpiTransport(const PoolOptions& options, TransportEvents& events)
    : events_{events},
      mpi_{*options.mpi},
      start_timeout_{options.start_timeout},
      max_frame_{options.max_frame_bytes},
      limits_{limits_text(options.limits)} {
  if (mpi_.workers_per_agent < 0) throw UsageError{"mpi.workers_per_agent must not be negative"};
  if (mpi_.spawn_agents < 0) throw UsageError{"mpi.spawn_agents must not be negative"};
  if (mpi_.heartbeat.count() < 4) throw UsageError{"mpi.heartbeat must be at least 4 ms"};
  if (!options.limits.cgroup.empty())
    throw UsageError{"limits.cgroup names a directory of this machine; over MPI use rlimits (limits without cgroup)"};
  config_.plugin_path = wire::split_search_path(plugin_search_path(options.plugin_path));
  config_.worker_path = options.worker_path;
  config_.max_frame = options.max_frame_bytes;
  config_.workers = static_cast<std::uint32_t>(mpi_.workers_per_agent);
  config_.heartbeat_ms = static_cast<std::uint32_t>(mpi_.heartbeat.count());
  config_.maxtasksperchild = static_cast<std::uint32_t>(options.maxtasksperchild.value_or(0));
  config_.sandbox = static_cast<std::uint8_t>(options.sandbox);
  config_.batch_scheduling = options.batch_scheduling;
  config_.memory_bytes = options.limits.memory_bytes.value_or(0);
  config_.cpu_seconds = static_cast<std::uint64_t>(options.limits.cpu_time.value_or(std::chrono::seconds{0}).count());
  config_.open_files = options.limits.open_files.value_or(0);
  config_.max_rss = options.limits.max_memory_per_child.value_or(0);
  const auto plugins = host_plugins(config_.plugin_path, options.worker_path, mpi_.ship_plugins);
  config_.sha256 = plugins.sha256;
  config_.files = plugins.files;

  thread_ = std::thread{[this] { mpi_main(); }};
  std::unique_lock lock{mutex_};
  startup_cv_.wait(lock, [&] { return started_up_ || !startup_error_.empty(); });
  if (!startup_error_.empty()) {
    const auto error = startup_error_;
    stop_mpi_ = true;
    mpi_cv_.notify_one();
    lock.unlock();
    thread_.join();
    throw WorkerStartError{"MPI pool: " + error};
  }
  std::size_t workers = 0;
  for (const auto& a : agents_) workers += a.workers;
  log(LogLevel::info, "MPI pool: {} agent(s), {} worker(s)", agents_.size(), workers);
}

MpiTransport::~MpiTransport() {
  {
    std::lock_guard lock{mutex_};
    stop_mpi_ = true;
    mpi_cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void MpiTransport::post(int rank, std::string bytes) {
  std::lock_guard lock{mutex_};
  outbox_.emplace_back(rank, std::move(bytes));
  mpi_cv_.notify_one();
}

std::optional<std::size_t> MpiTransport::room() const {
  std::lock_guard lock{mutex_};
  std::size_t room = 0;
  for (const auto& a : agents_)
    if (!a.lost) room += a.workers;
  return room;
}

std::shared_ptr<Executor> MpiTransport::start(std::uint64_t id, std::span<const std::string>) {
  std::lock_guard lock{mutex_};
  // The live agent with the most free workers: a replacement goes where its predecessor was.
  // Routing asks for no more than room() but while a restart rolls the workers, when old and
  // new ones run side by side, as a local pool's do.
  Agent* best = nullptr;
  const auto free = [](const Agent& a) { return static_cast<long>(a.workers) - static_cast<long>(a.slots); };
  for (auto& a : agents_)
    if (!a.lost && (best == nullptr || free(a) > free(*best))) best = &a;
  if (best == nullptr) throw WorkerStartError{"every MPI agent is lost"};
  auto worker = std::make_shared<RemoteWorker>(*this, id, static_cast<std::size_t>(best - agents_.data()), best->rank,
                                               best->shown, best->node);
  ++best->slots;
  slots_.emplace(id, worker);
  outbox_.emplace_back(best->rank, mpi::message(Kind::start, id));
  mpi_cv_.notify_one();
  return worker;
}

void MpiTransport::watch(std::shared_ptr<Executor> executor) {
  std::lock_guard lock{mutex_};
  static_cast<RemoteWorker&>(*executor).watched = true;
  woken_ = true;  // its deferred news, if any, is delivered in the next round
  results_cv_.notify_one();
}

void MpiTransport::probe(const std::vector<std::string>& plugins) {
  // The files on the host's path now are what the new workers must load.
  const auto now = host_plugins(config_.plugin_path, config_.worker_path, mpi_.ship_plugins);
  auto message = mpi::message(Kind::probe);
  wire::put(message, static_cast<std::uint32_t>(plugins.size()));
  for (const auto& p : plugins) wire::put_string(message, p);
  mpi::AgentConfig update = config_;
  update.sha256 = now.sha256;
  update.files = now.files;
  update.encode(message);
  std::unique_lock lock{mutex_};
  probe_errors_.clear();
  probes_pending_ = 0;
  for (auto& a : agents_)
    if (!a.lost) {
      outbox_.emplace_back(a.rank, message);
      a.probe_pending = true;
      a.probe_sent = Clock::now();
      ++probes_pending_;
    }
  mpi_cv_.notify_one();
  // An agent lost meanwhile stops counting (lose_agent); a probe that hangs is the agent's to
  // time out (its local probe has 30 s).
  startup_cv_.wait(lock, [&] { return probes_pending_ == 0 || stop_mpi_; });
  // Every agent's new workers load the new files, or none do.
  auto commit = mpi::message(Kind::commit);
  wire::put(commit, static_cast<std::uint8_t>(probe_errors_.empty()));
  for (const auto& a : agents_)
    if (!a.lost) outbox_.emplace_back(a.rank, commit);
  mpi_cv_.notify_one();
  if (!probe_errors_.empty()) throw WorkerStartError{"restart aborted, the old workers keep serving: " + probe_errors_};
  config_.sha256 = now.sha256;
  config_.files = now.files;
}

// ---- the MPI thread ----

void MpiTransport::mpi_main() {
  bool owns_mpi = false;
  MPI_Comm comm = MPI_COMM_WORLD;
  std::size_t agents = 0;
  try {
    owns_mpi = mpi::initialize();
    if (mpi_.spawn_agents > 0) {
      auto path = mpi_.agent_path;
      if (path.empty())
        path = (std::filesystem::path{worker_executable(config_.worker_path)}.parent_path() / "dlpool-agent").string();
      std::vector<int> codes(static_cast<std::size_t>(mpi_.spawn_agents));
      // A spawn that fails is the pool's error to report, not a reason to abort the program.
      MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
      const int rc = MPI_Comm_spawn(path.c_str(), MPI_ARGV_NULL, mpi_.spawn_agents, MPI_INFO_NULL, 0, MPI_COMM_SELF,
                                    &comm, codes.data());
      if (rc != MPI_SUCCESS) throw std::runtime_error{"MPI_Comm_spawn of " + path + ": " + mpi::error_string(rc)};
      agents = codes.size();
      rank_base_ = 0;
    } else {
      int rank = 0, size = 0;
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      MPI_Comm_size(MPI_COMM_WORLD, &size);
      if (rank != 0)
        throw std::runtime_error{"the host must be rank 0 of the job (this is rank " + std::to_string(rank) + ")"};
      if (size < 2)
        throw std::runtime_error{"the job has no agents: launch it as `mpiexec -n 1 HOST : -n K dlpool-agent`, or "
                                 "set MpiOptions::spawn_agents"};
      agents = static_cast<std::size_t>(size - 1);
    }
    // A dead peer must not abort the host: errors are returned (and mostly never come: see
    // MPI.md), and deaths are found by heartbeats.
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  } catch (const std::exception& e) {
    std::lock_guard lock{mutex_};
    startup_error_ = e.what();
    startup_cv_.notify_all();
    return;
  }
  bool any_lost = false;
  {
    mpi::Channel channel{comm};
    {
      std::lock_guard lock{mutex_};
      const auto now = Clock::now();
      for (std::size_t i = 0; i < agents; ++i) {
        auto& agent = agents_.emplace_back();
        agent.rank = static_cast<int>(i) + rank_base_;
        agent.shown = static_cast<int>(i) + 1;  // spawned agents are numbered after the host too
        agent.last_heard = now;
        auto message = mpi::message(Kind::config);
        config_.encode(message);
        outbox_.emplace_back(agent.rank, std::move(message));
      }
    }
    serve(channel);
    any_lost = !shut_down_agents(channel);
  }
  if (mpi_.spawn_agents > 0 && !any_lost) MPI_Comm_disconnect(&comm);
  if (owns_mpi && !any_lost) MPI_Finalize();
}

bool MpiTransport::shut_down_agents(mpi::Channel& channel) {
  // MPI_Finalize hangs once any rank of the job has died (MPI.md), and an agent may have died
  // since it was last heard from: every agent ends its workers and answers, and only if all
  // answer does anyone finalize. The wait is bounded; an agent that does not answer counts as lost.
  const auto each_live = [&](auto&& f) {
    std::lock_guard lock{mutex_};
    for (auto& a : agents_)
      if (!a.lost) f(a);
  };
  const auto send = [&](int rank, std::string message) {
    try {
      channel.send(rank, std::move(message));
    } catch (const std::exception&) {  // its answer will not come: it counts as lost
    }
  };
  each_live([&](Agent& a) { send(a.rank, mpi::message(Kind::shutdown)); });
  const auto until = Clock::now() + std::max<Clock::duration>(std::chrono::seconds{2}, mpi_.heartbeat);
  int source = 0;
  std::string bytes;
  for (bool waiting = true; waiting && Clock::now() < until;) {
    bool active = channel.complete_sends();
    while (channel.receive(source, bytes)) {
      active = true;
      handle(channel, source, bytes);
    }
    waiting = false;
    each_live([&](Agent& a) { waiting = waiting || !a.bye; });
    if (waiting && !active) std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  bool all = true;
  {
    std::lock_guard lock{mutex_};
    for (const auto& a : agents_) all = all && !a.lost && a.bye;
  }
  each_live([&](Agent& a) {
    auto message = mpi::message(Kind::finalize);
    wire::put(message, static_cast<std::uint8_t>(all));
    send(a.rank, std::move(message));
  });
  for (const auto stop = Clock::now() + std::chrono::seconds{2}; channel.sending() && Clock::now() < stop;)
    if (!channel.complete_sends()) std::this_thread::sleep_for(std::chrono::microseconds{200});
  return all && !channel.sending();
}

void MpiTransport::serve(mpi::Channel& channel) {
  mpi::Backoff backoff;
  // Heartbeats go out four times per period; silence is checked twenty times per period, so an
  // agent is given up within a twentieth of the period after it has been silent for a whole one.
  const auto beat = mpi_.heartbeat / 4;
  const auto check = std::max(mpi_.heartbeat / 20, std::chrono::milliseconds{1});
  auto next_beat = Clock::now() + beat;
  auto next_check = Clock::now() + check;
  std::vector<std::pair<int, std::string>> out;
  int source = 0;
  std::string bytes;
  for (;;) {
    bool active = false;
    {
      std::lock_guard lock{mutex_};
      if (stop_mpi_) return;
      out.swap(outbox_);
    }
    for (auto& [rank, message] : out) {
      auto* a = agent_of(rank);
      if (a == nullptr || a->lost) continue;
      try {
        channel.send(rank, std::move(message));
      } catch (const std::exception& e) {  // MPI refused: the agent is of no more use
        std::lock_guard lock{mutex_};
        lose_agent(channel, *a, e.what());
      }
    }
    active = !out.empty();
    out.clear();
    active = channel.complete_sends() || active;
    // A bounded batch: sends must not wait behind a flood of results.
    for (int n = 0; n < 64 && channel.receive(source, bytes); ++n) {
      active = true;
      handle(channel, source, bytes);
    }
    if (const auto now = Clock::now(); now >= next_check) {
      next_check = now + check;
      const bool send_beat = now >= next_beat;
      if (send_beat) next_beat = now + beat;
      std::lock_guard lock{mutex_};
      for (auto& a : agents_) {
        if (a.lost) continue;
        // An agent running restart's probe cannot beat: it has the probe's 30 s, then the rule.
        const bool probing = a.probe_pending && now - a.probe_sent < std::chrono::seconds{35};
        if (a.hello && !probing && now - a.last_heard > mpi_.heartbeat) {
          lose_agent(channel, a,
                     "not heard from for " + std::to_string(mpi_.heartbeat.count()) + " ms (MpiOptions::heartbeat)");
          continue;
        }
        if (send_beat) try {
            channel.send(a.rank, mpi::message(Kind::heartbeat));
          } catch (const std::exception& e) {
            lose_agent(channel, a, e.what());
          }
      }
      if (!started_up_ && startup_error_.empty()) {
        // Before their hello, agents have start_timeout to answer, not a heartbeat.
        for (auto& a : agents_)
          if (!a.hello && now - a.last_heard > start_timeout_ && startup_error_.empty())
            startup_error_ = "the agent of rank " + std::to_string(a.shown) +
                             " did not answer within the start timeout of " + std::to_string(start_timeout_.count()) +
                             " ms: is it dlpool-agent?";
        if (!startup_error_.empty()) startup_cv_.notify_all();
      }
    }
    if (active) {
      backoff.active();
      continue;
    }
    if (const auto sleep = backoff.next(); sleep.count() > 0) {
      std::unique_lock lock{mutex_};
      mpi_cv_.wait_for(lock, sleep, [&] { return !outbox_.empty() || stop_mpi_; });
    } else {
      std::this_thread::yield();  // see mpi::Backoff
    }
  }
}

Agent* MpiTransport::agent_of(int rank) {
  const auto i = static_cast<std::size_t>(rank - rank_base_);
  return rank >= rank_base_ && i < agents_.size() ? &agents_[i] : nullptr;
}

void MpiTransport::hand_over(Inbound inbound) {
  inbox_.push_back(std::move(inbound));
  results_cv_.notify_one();
}

void MpiTransport::lose_agent(mpi::Channel& channel, Agent& agent, const std::string& why) {
  agent.lost = true;
  log(LogLevel::warn, "MPI agent of rank {} on {} is lost: {}", agent.shown, agent.node, why);
  // Should it be alive after all (a stall, not a death), it must start nothing more: what it holds
  // is sent elsewhere now. It ends its workers and exits without finalizing.
  try {
    auto message = mpi::message(Kind::finalize);
    wire::put(message, std::uint8_t{0});
    channel.send(agent.rank, std::move(message));
  } catch (const std::exception&) {  // it is gone either way
  }
  channel.abandon(agent.rank);
  const auto cause =
      "was lost with its agent (MPI rank " + std::to_string(agent.shown) + " on " + agent.node + ", " + why + ")";
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (it->second->agent != static_cast<std::size_t>(&agent - agents_.data())) {
      ++it;
      continue;
    }
    it->second->agent_lost = true;
    hand_over({it->second, Inbound::What::agent_lost, cause});
    it = slots_.erase(it);
  }
  agent.slots = 0;
  if (agent.probe_pending) {
    agent.probe_pending = false;
    --probes_pending_;
    startup_cv_.notify_all();
  }
  if (!started_up_ && startup_error_.empty()) {
    startup_error_ = "the agent of rank " + std::to_string(agent.shown) + " " + why;
    startup_cv_.notify_all();
  }
}

void MpiTransport::handle(mpi::Channel& channel, int source, std::string_view bytes) {
  std::lock_guard lock{mutex_};
  auto* const agent = agent_of(source);
  if (agent == nullptr || agent->lost) return;  // not ours, or given up on
  agent->last_heard = Clock::now();
  const auto worker_of = [&](std::uint64_t slot) -> std::shared_ptr<RemoteWorker> {
    const auto it = slots_.find(slot);
    return it == slots_.end() ? nullptr : it->second;
  };
  try {
    const auto header = mpi::decode_header(bytes);
    wire::ByteReader in{bytes.substr(mpi::message_header)};
    switch (header.kind) {
      case Kind::heartbeat: return;
      case Kind::bye: agent->bye = true; return;
      case Kind::agent_hello: {
        agent->node = in.get_string("node");
        agent->workers = in.get<std::uint32_t>("workers");
        agent->pid = in.get<std::int32_t>("pid");
        if (agent->workers == 0) throw wire::DecodeError{"an agent with no workers"};
        agent->hello = true;
        log(LogLevel::debug, "MPI agent of rank {} on {}: {} worker(s)", agent->shown, agent->node, agent->workers);
        if (std::ranges::all_of(agents_, [](const Agent& a) { return a.hello; })) {
          started_up_ = true;
          startup_cv_.notify_all();
        }
        return;
      }
      case Kind::agent_failed:
        lose_agent(channel, *agent, "cannot serve: " + std::string{in.get_string("reason")});
        return;
      case Kind::started:
        if (auto w = worker_of(header.slot)) w->set_pid(in.get<std::int32_t>("pid"));
        return;
      case Kind::start_failed:
      case Kind::exited:
        if (auto w = worker_of(header.slot)) {
          --agent->slots;
          slots_.erase(header.slot);
          if (header.kind == Kind::start_failed) {
            hand_over({std::move(w), Inbound::What::start_failed, std::string{in.get_string("reason")}});
          } else {
            const auto status = in.get<std::int32_t>("wait status");
            const auto started = in.get<std::uint64_t>("chunks started");
            hand_over({std::move(w), Inbound::What::exited, std::string{in.get_string("refusal")}, status, started});
          }
        }
        return;
      case Kind::frames:
        if (auto w = worker_of(header.slot))
          hand_over({std::move(w), Inbound::What::frames, std::string{bytes.substr(mpi::message_header)}});
        return;
      case Kind::probed:
        if (const auto error = in.get_string("probe error"); !error.empty())
          probe_errors_ += (probe_errors_.empty() ? "" : "; ") + std::string{"rank "} + std::to_string(agent->shown) +
                           " (" + agent->node + "): " + std::string{error};
        if (agent->probe_pending) {
          agent->probe_pending = false;
          --probes_pending_;
        }
        startup_cv_.notify_all();
        return;
      default:
        throw wire::DecodeError{"a message of kind " + std::to_string(static_cast<int>(header.kind)) +
                                " only the host sends"};
    }
  } catch (const wire::DecodeError& e) {
    lose_agent(channel, *agent, std::string{"sent a malformed message: "} + e.what());
  }
}

// ---- the result handler ----

void MpiTransport::run() {
  std::deque<Inbound> batch;
  for (;;) {
    bool stop;
    {
      std::unique_lock lock{mutex_};
      results_cv_.wait(lock, [&] { return !inbox_.empty() || woken_ || stop_results_; });
      woken_ = false;
      stop = stop_results_;
      // News of a worker routing does not know yet waits for watch(), behind what came before.
      for (auto it = deferred_.begin(); it != deferred_.end();)
        if (it->worker->watched) {
          batch.push_back(std::move(*it));
          it = deferred_.erase(it);
        } else {
          ++it;
        }
      for (auto& inbound : inbox_) {
        const bool waits = !inbound.worker->watched ||
                           std::ranges::any_of(deferred_, [&](const Inbound& d) { return d.worker == inbound.worker; });
        (waits ? deferred_ : batch).push_back(std::move(inbound));
      }
      inbox_.clear();
    }
    for (auto& inbound : batch) deliver(inbound);
    batch.clear();
    events_.on_idle();
    if (stop) return;
  }
}

void MpiTransport::lose_channel(RemoteWorker& worker, std::string why) {
  if (worker.channel_lost) return;
  worker.channel_lost = true;
  worker.protocol_error = std::move(why);
  const bool broke = !worker.protocol_error.empty();
  if (broke) log(LogLevel::warn, "{} {}: ending it", worker.name(), worker.protocol_error);
  events_.on_closing(worker, broke);  // routing kills it (halt): its agent then reports the exit
}

void MpiTransport::deliver(Inbound& inbound) {
  auto& worker = *inbound.worker;
  switch (inbound.what) {
    case Inbound::What::frames: {
      std::string_view rest = inbound.bytes;
      try {
        while (!worker.channel_lost && !rest.empty()) {
          if (rest.size() < wire::header_size) throw wire::DecodeError{"a frame cut short"};
          const auto header = wire::decode_header(rest.data(), max_frame_);
          if (rest.size() - wire::header_size < header.length) throw wire::DecodeError{"a frame cut short"};
          const auto payload = rest.substr(wire::header_size, header.length);
          rest.remove_prefix(wire::header_size + header.length);
          if (header.kind == wire::FrameKind::result && header.job != 0) ++worker.answered;
          if (auto violation = dispatch_frame(events_, worker, header, payload, parsed_); !violation.empty())
            lose_channel(worker, std::move(violation));
          else if (!worker.abandoned.empty())
            lose_channel(worker, std::exchange(worker.abandoned, {}));
        }
      } catch (const wire::DecodeError& e) {
        lose_channel(worker, std::string{"sent a malformed frame: "} + e.what());
      }
      return;
    }
    case Inbound::What::exited:
    case Inbound::What::start_failed:
    case Inbound::What::agent_lost: {
      LossReport report;
      report.pid = worker.pid();
      report.executor = worker.name();
      const bool broke = !worker.protocol_error.empty();
      bool ended_for_protocol = broke;
      if (inbound.what == Inbound::What::exited) {
        report.wait_status = inbound.wait_status;
        worker.chunks_started = inbound.chunks_started;
        // The agent ended it for a malformed frame of the host's: a protocol error, not a crash.
        ended_for_protocol = broke || !inbound.bytes.empty();
        report.cause = broke                    ? worker.protocol_error
                       : !inbound.bytes.empty() ? inbound.bytes
                                                : describe_exit(report.wait_status);
        report.killed = report.wait_status >= 0 && WIFSIGNALED(report.wait_status) &&
                        WTERMSIG(report.wait_status) == SIGKILL && !ended_for_protocol;
      } else {
        report.cause =
            inbound.what == Inbound::What::start_failed ? "could not start: " + inbound.bytes : inbound.bytes;
        if (broke) report.cause = worker.protocol_error;
        // A lost agent says nothing of whether its workers could start: like a kill from outside.
        report.killed = inbound.what == Inbound::What::agent_lost;
      }
      report.broke_protocol = ended_for_protocol;
      if (!worker.channel_lost) lose_channel(worker, {});
      events_.on_lost(worker, std::move(report));
      return;
    }
  }
}

}  // namespace

std::unique_ptr<Transport> make_mpi_transport(const PoolOptions& options, TransportEvents& events) {
  return std::make_unique<MpiTransport>(options, events);
}

}  // namespace dlpool::detail
