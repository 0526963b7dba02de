// The MPI transport's own thread: it makes every MPI call of the host (MPI_THREAD_FUNNELED), sends
// what routing's threads post, receives everything and hands what concerns workers to the result
// handler, watches the agents' heartbeats, and ends the job.

#include "mpi/mpi_transport_impl.hpp"

#include "log/log.hpp"
#include "paths.hpp"

#include <dlpool/wire/bytes.hpp>

#include <algorithm>
#include <filesystem>

namespace dlpool::detail::mpi {

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
  return channel.drain(std::chrono::seconds{2}) && all;
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

}  // namespace dlpool::detail::mpi
