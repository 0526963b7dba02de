#include "mpi/mpi_transport.hpp"

#include "errors_internal.hpp"
#include "frame_dispatch.hpp"
#include "frame_reader.hpp"
#include "log/log.hpp"
#include "mpi/mpi_transport_impl.hpp"
#include "mpi/plugin_hashes.hpp"
#include "paths.hpp"
#include "readable_size.hpp"

#include <dlpool/wire/frame.hpp>
#include <dlpool/wire/plugin_files.hpp>

#include <csignal>

#include <sys/wait.h>

namespace dlpool::detail::mpi {

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

namespace {

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

}  // namespace

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
          wire::FrameHeader header;
          const auto payload = take_frame(rest, max_frame_, header).substr(wire::header_size);
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

}  // namespace dlpool::detail::mpi

namespace dlpool::detail {

std::unique_ptr<Transport> make_mpi_transport(const PoolOptions& options, TransportEvents& events) {
  return std::make_unique<mpi::MpiTransport>(options, events);
}

}  // namespace dlpool::detail
