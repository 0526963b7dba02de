// The MPI transport, end to end: this binary is rank 0 of a real job, 1 host + 2 agents
// (tests/mpi/run_mpi_test.cmake launches it with mpirun). A process runs one MPI pool, so each
// suite is a job of its own, chosen with --gtest_filter, its pool made in SetUpTestSuite:
//   MpiApi        every call against a local pool's answers, crashes, timeouts, cancel, restart
//   MpiInit       initializer and maxtasksperchild in every worker of every agent
//   MpiAgentLoss  an agent SIGKILLed mid-map (mpirun --enable-recovery)
//   MpiSpawn      a host not launched by mpirun spawns its agents (MPI_Comm_spawn)

#include "support/fifo.hpp"
#include "support/pool_fixture.hpp"

#include <dlpool/pool.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace dlpool::test {
namespace {

const Task<int(int)> square{"testkit", "square"};
const Task<int(int, int)> add{"testkit", "add"};
const Task<int()> worker_pid{"testkit", "pid"};
const Task<int(int, int, std::string)> lethal{"testkit", "lethal"};
const Task<int(std::string, int)> wait_fifo{"testkit", "wait_fifo"};
const Task<int(std::string, std::string, int)> signal_then_wait{"testkit", "signal_then_wait"};

PoolOptions mpi_options(int workers_per_agent) {
  auto o = options();
  o.mpi = MpiOptions{};
  o.mpi->workers_per_agent = workers_per_agent;
  o.mpi->heartbeat = std::chrono::milliseconds{400};
  return o;
}

/// The parent of `pid`, from /proc/PID/stat ("pid (comm) state ppid ...").
int parent_of(int pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{stat}, {}};
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  char state = 0;
  int ppid = -1;
  std::sscanf(text.c_str() + close + 1, " %c %d", &state, &ppid);
  return ppid;
}

/// Whether `pid` is gone: no such process, or a zombie its new parent has not reaped yet.
bool gone(int pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{stat}, {}};
  const auto close = text.rfind(')');
  return close == std::string::npos || text.find(" Z ", close) == close + 1;
}

std::vector<int> iota(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// ---- MpiApi: 2 agents x 2 workers ----

class MpiApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    let_workers_die_by_signal();  // lethal's segv kills the worker, sanitizer or not
    // A copy of a plugin in a directory first on the path, which a test then changes behind the
    // pool's back (WrongPluginHashIsRefused).
    dir = new TempDir;
    std::filesystem::copy_file(std::filesystem::path{DLPOOL_TEST_PLUGIN_DIR} / "libjsontypes.so",
                               dir->path() / "libjsontypes.so");
    auto o = mpi_options(2);
    o.plugin_path.insert(o.plugin_path.begin(), dir->path().string());
    o.trace = TraceOptions{(dir->path() / "trace.json").string(), [](const TraceEvent& e) {
                             std::lock_guard lock{traced_mutex};
                             traced.push_back(e);
                             traced_cv.notify_all();
                           }};
    pool = new Pool{o};
    local = new Pool{options(2)};
  }
  static void TearDownTestSuite() {
    delete local;
    delete pool;  // terminates; the agents then exit, and MPI is finalized
    delete dir;
  }
  static inline Pool* pool = nullptr;
  static inline Pool* local = nullptr;
  static inline TempDir* dir = nullptr;
  static inline std::mutex traced_mutex;
  static inline std::condition_variable traced_cv;
  static inline std::vector<TraceEvent> traced;  // the pool's trace, as its callback receives it
};

TEST_F(MpiApi, EveryCallAnswersAsALocalPoolDoes) {
  const auto items = iota(500);
  EXPECT_EQ(pool->processes(), 4);
  EXPECT_EQ(pool->apply(square, 12), local->apply(square, 12));
  EXPECT_EQ(pool->apply_async(add, {2, 3}).get(), 5);
  EXPECT_EQ(pool->map(square, items), local->map(square, items));
  EXPECT_EQ(pool->map(square, items, 7), local->map(square, items, 7));
  EXPECT_EQ(pool->map_async(square, items, 3).get(), local->map(square, items));
  std::vector<std::tuple<int, int>> pairs;
  for (int i = 0; i < 200; ++i) pairs.emplace_back(i, 2 * i);
  EXPECT_EQ(pool->starmap(add, pairs), local->starmap(add, pairs));
  EXPECT_EQ(pool->starmap_async(add, pairs, 5).get(), local->starmap(add, pairs));
  std::vector<int> ordered;
  for (auto r : pool->imap(square, items, 4)) ordered.push_back(r);
  EXPECT_EQ(ordered, local->map(square, items));
  std::multiset<int> unordered;
  for (auto r : pool->imap_unordered(square, items, 1)) unordered.insert(r);
  const auto expected = local->map(square, items);
  EXPECT_EQ(unordered, std::multiset<int>(expected.begin(), expected.end()));
}

TEST_F(MpiApi, ImapOverAnEndlessGeneratorReadsOnlyWhatItNeeds) {
  int pulled = 0;
  auto results = pool->imap(
      square, [&]() -> std::optional<int> { return pulled++; }, 1);
  auto it = results.begin();
  for (int i = 0; i < 300; ++i, ++it) ASSERT_EQ(*it, i * i);
  // Credits bound what is read ahead: a window of chunks per worker, never the whole input.
  EXPECT_LT(pulled, 300 + 200);
}

TEST_F(MpiApi, CallbacksRunAndEveryAgentDidSomeOfTheWork) {
  std::promise<std::vector<int>> done;
  auto job =
      pool->map_async(square, iota(2000), 10, {.callback = [&](const std::vector<int>& r) { done.set_value(r); }});
  EXPECT_EQ(done.get_future().get().at(44), 44 * 44);
  std::set<int> ranks;
  std::set<std::string> nodes;
  for (const auto& w : pool->workers()) {
    EXPECT_GT(w.pid, 0);
    if (w.tasks_done > 0) ranks.insert(w.rank);
    nodes.insert(w.node);
  }
  EXPECT_EQ(ranks, (std::set<int>{1, 2}));
  EXPECT_FALSE(nodes.contains(""));
}

TEST_F(MpiApi, TheTraceShowsEachAgentsWorkersUnderTheirNode) {
  const auto chunks_of_add = [] {
    return std::ranges::count_if(
        traced, [](const TraceEvent& e) { return e.kind == TraceEvent::Kind::chunk && e.task == "testkit.add"; });
  };
  std::vector<std::tuple<int, int>> pairs;
  for (int i = 0; i < 400; ++i) pairs.emplace_back(i, i);
  std::unique_lock lock{traced_mutex};
  const auto before = chunks_of_add();
  lock.unlock();
  EXPECT_EQ(pool->starmap(add, pairs, 10).size(), 400u);
  lock.lock();
  ASSERT_TRUE(traced_cv.wait_for(lock, std::chrono::seconds{30}, [&] { return chunks_of_add() >= before + 40; }));
  std::set<int> ranks;
  for (const auto& e : traced) {
    if (e.kind == TraceEvent::Kind::worker_ready) {
      EXPECT_TRUE(e.rank == 1 || e.rank == 2) << e.rank;
      EXPECT_FALSE(e.node.empty());
      EXPECT_GT(e.pid, 0);
    }
    if (e.kind != TraceEvent::Kind::chunk || !e.ok) continue;
    ranks.insert(e.rank);
    // A remote worker's clock, moved onto the host's: its run lies between send and receipt.
    EXPECT_LE(e.sent, e.started);
    EXPECT_LE(e.started, e.finished);
    EXPECT_LE(e.finished, e.received);
  }
  EXPECT_EQ(ranks, (std::set<int>{1, 2}));
}

TEST_F(MpiApi, WorkerCrashFailsOnlyItsChunkAndTheAgentGoesOn) {
  std::vector<std::tuple<int, int, std::string>> calls;
  for (int i = 0; i < 40; ++i) calls.emplace_back(i, 17, "segv");
  int failed = 0;
  std::string message;
  auto results =
      pool->imap(lethal, [&, i = std::size_t{0}]() mutable -> std::optional<std::tuple<int, int, std::string>> {
        if (i == calls.size()) return std::nullopt;
        return calls[i++];
      });
  int index = 0;
  for (auto it = results.begin(); it != results.end(); ++index) {
    try {
      EXPECT_EQ(*it, index * index);
    } catch (const WorkerLostError& e) {
      ++failed;
      message = e.what();
      EXPECT_EQ(index, 17);
      EXPECT_TRUE(WIFSIGNALED(e.wait_status()) && WTERMSIG(e.wait_status()) == SIGSEGV) << e.what();
    }
    ++it;
  }
  EXPECT_EQ(failed, 1);
  EXPECT_NE(message.find("MPI rank"), std::string::npos) << message;
  EXPECT_NE(message.find("SIGSEGV"), std::string::npos) << message;
  EXPECT_EQ(pool->map(square, iota(100)), local->map(square, iota(100)));
}

TEST_F(MpiApi, TimeoutStopsTheRemoteWorkerAndCancelEndsTheJob) {
  TempDir tmp;
  Fifo gate{tmp.path() / "gate"};
  EXPECT_THROW(pool->apply(wait_fifo.with_timeout(std::chrono::milliseconds{50}), gate.path(), 1), TaskTimeout);
  Fifo gate2{tmp.path() / "gate2"};
  auto job = pool->apply_async(wait_fifo, {gate2.path(), 2});
  job.cancel();
  EXPECT_THROW(job.get(), Cancelled);
  EXPECT_EQ(pool->apply(square, 9), 81);
}

TEST_F(MpiApi, WrongPluginHashIsRefused) {
  // The file the host hashed when the pool started now differs on the "node".
  std::ofstream{dir->path() / "libjsontypes.so", std::ios::app} << "changed";
  const Task<long long(long long)> jsquare{"jsontypes", "square"};
  try {
    pool->apply(jsquare, 3);
    FAIL() << "a plugin whose SHA-256 is not the host's ran";
  } catch (const PluginLoadError& e) {
    EXPECT_NE(std::string{e.what()}.find("SHA-256"), std::string::npos) << e.what();
    EXPECT_NE(std::string{e.what()}.find("the host's copy"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool->apply(square, 4), 16);
}

TEST_F(MpiApi, RestartRollsEveryAgentsWorkers) {
  std::set<int> before;
  for (const auto& w : pool->workers()) before.insert(w.pid);
  pool->restart();
  const auto after = pool->workers();
  ASSERT_EQ(after.size(), 4u);
  std::set<int> ranks;
  for (const auto& w : after) {
    EXPECT_EQ(w.generation, 1u);
    EXPECT_FALSE(before.contains(w.pid));
    ranks.insert(w.rank);
  }
  EXPECT_EQ(ranks, (std::set<int>{1, 2}));
  EXPECT_EQ(pool->apply(square, 5), 25);
}

// ---- MpiInit: initializer and maxtasksperchild on every agent ----

class MpiInit : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto o = mpi_options(2);
    o.initializer.emplace(Task<void(std::string)>{"testkit", "remember"}, "set by the initializer");
    o.maxtasksperchild = 3;
    pool = new Pool{o};
  }
  static void TearDownTestSuite() { delete pool; }
  static inline Pool* pool = nullptr;
};

TEST_F(MpiInit, InitializerRunsInEveryWorkerOfEveryAgentAndMaxtasksperchildReplacesThem) {
  const Task<std::string()> recall{"testkit", "recall"};
  std::set<int> pids;
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(pool->apply(recall), "set by the initializer");
    pids.insert(pool->apply(worker_pid));
  }
  // 60 calls, 3 per worker: at least 20 workers, replaced on their agents' nodes.
  EXPECT_GE(pids.size(), 20u);
  std::set<int> ranks;
  for (const auto& w : pool->workers()) ranks.insert(w.rank);
  EXPECT_EQ(ranks, (std::set<int>{1, 2}));
}

// ---- MpiSpawn: a host not launched by mpiexec spawns its 2 agents ----

class MpiSpawn : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto o = mpi_options(1);
    o.mpi->spawn_agents = 2;
    o.mpi->agent_path = DLPOOL_BIN_DIR "/dlpool-agent";
    pool = new Pool{o};
  }
  static void TearDownTestSuite() { delete pool; }
  static inline Pool* pool = nullptr;
};

TEST_F(MpiSpawn, SpawnedAgentsServeTheSamePool) {
  EXPECT_EQ(pool->processes(), 2);
  EXPECT_EQ(pool->map(square, iota(200)).at(13), 169);
  std::set<int> ranks;
  for (const auto& w : pool->workers()) ranks.insert(w.rank);
  EXPECT_EQ(ranks, (std::set<int>{1, 2}));
}

// ---- MpiAgentLoss: 2 agents x 1 worker, rank 2 SIGKILLed mid-map ----

class MpiAgentLoss : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pool = new Pool{mpi_options(1)}; }
  static void TearDownTestSuite() { delete pool; }
  static inline Pool* pool = nullptr;
};

TEST_F(MpiAgentLoss, AKilledAgentFailsOnlyWhatItStartedAndTheMapCompletes) {
  TempDir tmp;
  Fifo started{tmp.path() / "started"};
  std::vector<Fifo> gates;
  for (int i = 0; i < 6; ++i) gates.emplace_back(tmp.path() / ("gate" + std::to_string(i)));
  std::vector<std::tuple<std::string, std::string, int>> calls;
  for (int i = 0; i < 6; ++i) calls.emplace_back(started.path(), gates[static_cast<std::size_t>(i)].path(), i);
  auto job = pool->starmap_async(signal_then_wait, calls, 1);
  // One item running on each agent.
  const auto first = started.read_lines(2, std::chrono::seconds{30});
  ASSERT_EQ(first.size(), 2u);
  int victim_worker = 0;
  for (const auto& w : pool->workers())
    if (w.rank == 2) victim_worker = w.pid;
  ASSERT_GT(victim_worker, 0);
  const int agent = parent_of(victim_worker);
  ASSERT_GT(agent, 1);
  ASSERT_EQ(::kill(agent, SIGKILL), 0);
  // The survivor runs the rest: each released as it starts.
  std::set<std::string> seen{first.begin(), first.end()};
  for (int i = 0; i < 6; ++i) gates[static_cast<std::size_t>(i)].release();
  // The killed agent's chunk fails; the map completes with every other item, none run twice.
  try {
    job.get();
    FAIL() << "the chunk the lost agent had started did not fail";
  } catch (const WorkerLostError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("was lost with its agent (MPI rank 2"), std::string::npos) << what;
    EXPECT_EQ(e.wait_status(), -1);
  }
  const auto rest = started.read_lines(4, std::chrono::seconds{30});
  EXPECT_EQ(rest.size(), 4u);  // 6 items: 2 started first, the 4 others on the survivor
  for (const auto& line : rest) EXPECT_TRUE(seen.insert(line).second) << "item " << line << " ran twice";
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_TRUE(gone(victim_worker)) << "the lost agent's worker outlived it";
  // The pool goes on with the agent it has.
  EXPECT_EQ(pool->map(square, iota(50)).at(7), 49);
  for (const auto& w : pool->workers()) EXPECT_EQ(w.rank, 1);
}

}  // namespace
}  // namespace dlpool::test
