#include "mpi_agent_loss.hpp"

#include "bench_tasks.hpp"
#include "mpi_workloads.hpp"

#include <dlpool/errors.hpp>
#include <dlpool/pool.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <optional>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>

namespace dlpool::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Only bounds a broken run: a pool that never notices the death fails the workload, not hangs it.
constexpr std::chrono::seconds give_up_after{30};

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct ProcStat {
  std::string comm;
  char state = '?';
  int ppid = 0;
};

/// /proc/<pid>/stat's name, state and parent; nothing once the process is gone. The name is in
/// parentheses and may itself hold spaces or ')', so the fields after it are read from the last ')'.
std::optional<ProcStat> proc_stat(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  ProcStat stat;
  stat.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest{text.substr(close + 1)};
  rest >> stat.state >> stat.ppid;
  return rest ? std::optional{stat} : std::nullopt;
}

/// The dlpool-agent process above `worker`: its parent, or further up should the agent start
/// workers through a helper of its own. The agent is killed, not the worker: the loss of a whole
/// rank is what the heartbeat has to notice.
int agent_above(int worker) {
  int pid = worker;
  for (int depth = 0; depth < 8; ++depth) {
    const auto stat = proc_stat(pid);
    if (!stat) break;
    // The kernel's name is the executable's, cut to 15 characters: "dlpool-agent" fits.
    if (stat->comm == "dlpool-agent") return pid;
    if (stat->ppid <= 1) break;
    pid = stat->ppid;
  }
  throw std::runtime_error{"no dlpool-agent process above worker " + std::to_string(worker) +
                           " on this machine (the agents must run here, as under one mpirun)"};
}

bool alive(int pid) {
  const auto stat = proc_stat(pid);
  return stat && stat->state != 'Z';
}

}  // namespace

Row mpi_agent_loss(Pool& pool, std::chrono::milliseconds heartbeat, std::int64_t limit) {
  const auto layout = mpi_layout(pool);
  if (layout.agents < 2) throw std::runtime_error{"needs 2 agents or more: one is killed, another finishes the map"};
  const auto workers = pool.workers();
  const int victim_rank = std::ranges::max(workers, {}, &WorkerInfo::rank).rank;
  std::vector<int> victim_workers;
  for (const auto& w : workers)
    if (w.rank == victim_rank) victim_workers.push_back(w.pid);
  const int agent = agent_above(victim_workers.front());

  // Two items per worker, each of a known length: killed halfway through the first round, the
  // agent has a chunk running in each of its workers, and what the others have left is a round
  // or two, far below a heartbeat. The map's time after the kill is then the time to notice it.
  auto t0 = Clock::now();
  const auto expected = pool.apply(tasks::count_primes, limit);
  const auto item = std::chrono::duration<double, std::milli>(Clock::now() - t0);
  const std::vector<std::int64_t> work(2 * static_cast<std::size_t>(layout.workers), limit);
  auto result = pool.map_async(tasks::count_primes, work, 1);
  // A wait for a point in a CPU-bound task, which sends no event to wait for: half an item.
  std::this_thread::sleep_for(item / 2);
  if (result.ready()) throw std::runtime_error{"the map was done before the kill: items too short"};

  if (::kill(agent, SIGKILL) != 0) throw std::runtime_error{"kill(" + std::to_string(agent) + ", SIGKILL) failed"};
  const auto killed = Clock::now();
  std::string outcome;
  try {
    const auto counts = result.get(heartbeat + give_up_after);
    if (std::ranges::count(counts, expected) != std::ssize(work))
      throw std::runtime_error{"wrong result: map(count_primes)"};
    outcome = "resent";  // the lost chunks ran again elsewhere
  } catch (const WorkerLostError&) {
    outcome = "failed";  // WorkerLostError for the chunks that were running there
  } catch (const TimeoutError&) {
    throw std::runtime_error{"the map had not returned " + std::to_string((heartbeat + give_up_after).count()) +
                             " ms after the agent's SIGKILL"};
  }
  const double after_kill_ms = ms_since(killed);

  // The pool goes on with the agents left: a map on it is answered.
  t0 = Clock::now();
  const auto next =
      pool.map_async(tasks::noop, std::views::iota(std::int64_t{0}, std::int64_t{100}), 1).get(give_up_after);
  const double next_map_ms = ms_since(t0);
  if (next.size() != 100 || next.back() != 99) throw std::runtime_error{"wrong result: the map after the loss"};
  const auto left = mpi_layout(pool);
  // The dead agent's workers must not outlive it; they get a moment, as no event tells when.
  const auto deadline = Clock::now() + std::chrono::seconds{2};
  while (std::ranges::any_of(victim_workers, alive) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});

  Row row{"mpi_agent_loss", after_kill_ms, "ms"};
  row.text("transport", "mpi")
      .integer("heartbeat_ms", heartbeat.count())
      .text("outcome", outcome)
      .integer("agents", layout.agents)
      .integer("workers", layout.workers)
      .integer("killed_rank", victim_rank)
      .integer("items", std::ssize(work))
      .number("item_ms", item.count())
      .integer("agents_after", left.agents)
      .integer("workers_after", left.workers)
      .number("next_map_ms", next_map_ms)
      .integer("orphan_workers", std::ranges::count_if(victim_workers, alive));
  return row;
}

}  // namespace dlpool::bench
