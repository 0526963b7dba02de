// dlpool-mpi-bench: dlpool's Pool over MPI on the workloads of the mpi4py.futures peer
// (tools/bench/peer/mpi4py_futures_bench.py): same names, same sizes, the same JSON lines with
// "peer": "dlpool". Then dlpool's own: what rank 0 sustains, and an agent's death mid-map. It is
// rank 0 of the job; the pool makes every MPI call, the agents are the other ranks:
//
//   mpirun --allow-run-as-root --oversubscribe --bind-to none
//          -n 1 dlpool-mpi-bench [--quick] [--only NAME[,NAME]] [--repeat R] : -n 2 dlpool-agent
//
// Each run starts one MPI pool, so the workloads come in three runs: the peer's four (the
// default), rank0_sustain (more workers per agent: more credits for rank 0 to keep in flight),
// and mpi_agent_loss (under `mpirun --enable-recovery`, without which Open MPI ends the job when
// the agent dies). scripts/bench.sh runs all three beside the peer.
//
// Exit status: 0 ok, 1 a workload failed, 2 a usage error. mpirun may not pass it on (it exits 0
// after a rank's death under --enable-recovery): a workload that printed no line failed.

#include "bench_main.hpp"
#include "bench_tasks.hpp"
#include "mpi_agent_loss.hpp"
#include "mpi_workloads.hpp"
#include "option_checks.hpp"
#include "report.hpp"

#include <dlpool/pool.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace dlpool::bench;
using dlpool::tools::at_least_one;

/// The workloads one run can hold: they share its one pool (MPI_Init is once per process).
struct Group {
  std::vector<std::string> workloads;
  int workers_per_agent;  // the default of --workers-per-agent
};

const std::vector<Group>& groups() {
  static const std::vector<Group> all{
      // The peer has 2 worker ranks of 1 process each: 2 agents x 1 worker, and the goal of
      // mpi_cpu_speedup is set for 1 worker per agent.
      {{"mpi_apply_latency", "mpi_map_tiny_cs1", "mpi_map_tiny_cs100", "mpi_cpu_speedup"}, 1},
      // Rank 0 holds as many chunks in flight as the agents have credits, which grow with their
      // workers: 4 each stand in for twice as many agents of 2, which this machine cannot run.
      {{"rank0_sustain"}, 4},
      {{"mpi_agent_loss"}, 1},
  };
  return all;
}

struct Settings {
  bool quick = false;
  int repeat = 3;
  std::vector<std::string> only;  // empty: the first group
  std::optional<int> workers_per_agent;
  std::optional<int> heartbeat_ms;
  int spawn_agents = 0;

  [[nodiscard]] bool wants(std::string_view workload) const { return std::ranges::find(only, workload) != only.end(); }
};

/// --only's names (empty entries skipped), which must all be of one group; none: the first group.
/// Throws std::invalid_argument naming the offending entry.
std::pair<std::vector<std::string>, const Group*> parse_only(std::string_view list) {
  std::vector<std::string> chosen;
  const Group* group = nullptr;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto name = std::string{list.substr(0, comma)};
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (name.empty() || std::ranges::find(chosen, name) != chosen.end()) continue;
    const auto it =
        std::ranges::find_if(groups(), [&](const Group& g) { return std::ranges::count(g.workloads, name); });
    if (it == groups().end()) {
      std::string known;
      for (const auto& g : groups())
        for (const auto& w : g.workloads) known += (known.empty() ? "" : ", ") + w;
      throw std::invalid_argument{"unknown workload '" + name + "' in --only (known: " + known + ")"};
    }
    if (group != nullptr && group != &*it)
      throw std::invalid_argument{"'" + name + "' needs a run of its own: " + chosen.front() + " is in another"};
    group = &*it;
    chosen.push_back(name);
  }
  if (group == nullptr) {
    group = &groups().front();
    chosen = group->workloads;
  }
  return {chosen, group};
}

void run_all(const Settings& settings, int workers_per_agent) {
  const bool q = settings.quick;
  // The peer's sizes.
  const int calls = q ? 500 : 2000;
  const int items = q ? 20'000 : 100'000;
  const int cpu_items = 8;
  const std::int64_t cpu_limit = q ? 20'000 : 100'000;
  // dlpool-bench's count for cpu_speedup: a pair is ~100 ms, and pairs swing on a shared host.
  const int cpu_pairs = q ? 3 : 15;
  // Items of ~30 ms: long enough to be killed in the middle of, short beside a heartbeat.
  const std::int64_t loss_limit = 200'000;

  dlpool::MpiOptions mpi;
  mpi.workers_per_agent = workers_per_agent;
  mpi.spawn_agents = settings.spawn_agents;
  if (settings.heartbeat_ms) mpi.heartbeat = std::chrono::milliseconds{*settings.heartbeat_ms};
  dlpool::PoolOptions options;
  options.mpi = mpi;
  dlpool::Pool pool{options};
  // The peer's warm-up: every worker up and through a first round trip before anything is timed.
  (void)pool.map(tasks::noop, std::views::iota(std::int64_t{0}, std::int64_t{1000}), 1);

  const auto repeated = [&](std::function<Row()> measure) {
    return [&settings, measure = std::move(measure)] { return median_of_runs(settings.repeat, measure); };
  };
  run(settings, "mpi_apply_latency", repeated([&] { return mpi_apply_latency(pool, calls); }));
  run(settings, "mpi_map_tiny_cs1", repeated([&] { return mpi_map_tiny(pool, items, 1); }));
  run(settings, "mpi_map_tiny_cs100", repeated([&] { return mpi_map_tiny(pool, items, 100); }));
  run(settings, "mpi_cpu_speedup", [&] { return mpi_cpu_speedup(pool, cpu_items, cpu_limit, cpu_pairs); });
  run(settings, "rank0_sustain", repeated([&] { return rank0_sustain(pool, items); }));
  // One kill per run: the pool has an agent fewer afterwards.
  run(settings, "mpi_agent_loss", [&] { return mpi_agent_loss(pool, mpi.heartbeat, loss_limit); });
  pool.close();
  pool.join();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dlpool-mpi-bench: dlpool's Pool over MPI on the workloads of the mpi4py.futures peer "
               "(tools/bench/peer/mpi4py_futures_bench.py), as rank 0 of an mpirun job whose other ranks run "
               "dlpool-agent; one JSON line per workload on stdout"};
  Settings settings;
  app.add_flag("--quick", settings.quick, "the peer's smaller sizes, for a smoke run");
  std::string only;
  app.add_option("--only", only,
                 "comma-separated workloads of one group (default: the first): "
                 "mpi_apply_latency,mpi_map_tiny_cs1,mpi_map_tiny_cs100,mpi_cpu_speedup | rank0_sustain | "
                 "mpi_agent_loss (needs mpirun --enable-recovery)")
      ->type_name("NAME[,NAME]");
  std::optional<int> repeat;
  app.add_option("--repeat", repeat, "runs of each repeated workload, the median reported (default: 3, 1 with --quick)")
      ->check(CLI::Validator{at_least_one, ""});
  app.add_option("--workers-per-agent", settings.workers_per_agent,
                 "MpiOptions::workers_per_agent (default: 1; 4 for rank0_sustain)")
      ->check(CLI::Validator{at_least_one, ""});
  app.add_option("--heartbeat-ms", settings.heartbeat_ms, "MpiOptions::heartbeat (default: the pool's)")
      ->check(CLI::Validator{at_least_one, ""});
  app.add_option("--spawn-agents", settings.spawn_agents,
                 "MpiOptions::spawn_agents: start this many agents (MPI_Comm_spawn) instead of running under mpirun")
      ->check(CLI::Validator{at_least_one, ""});

  const Group* group = nullptr;
  return bench_main(
      app, argc, argv, "dlpool-mpi-bench",
      [&] {
        std::tie(settings.only, group) = parse_only(only);
        // Fewer than dlpool-bench's 5: each run of mpi_map_tiny_cs1 takes seconds on two cores.
        settings.repeat = repeat.value_or(settings.quick ? 1 : 3);
      },
      [&] { run_all(settings, settings.workers_per_agent.value_or(group->workers_per_agent)); });
}
