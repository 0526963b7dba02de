// Reliability: worker loss in every form, a kill storm, timeouts that kill, cancel, the bounded
// imap window and bounded shutdown. The README's reliability table points at these tests.

#include "support/pool_fixture.hpp"
#include "support/worker_killer.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <thread>

#include <sys/wait.h>
#include <csignal>

namespace {

using namespace dlpool;
using namespace std::chrono_literals;
using test::options;

using test::hang;
using test::lethal;
using test::square;
using test::wait_fifo;
using test::worker_pid;

class Reliability : public test::PoolTest {
 protected:
  /// Pids of the next `n` hang tasks to start, in the order they reported.
  std::vector<int> started(std::size_t n) {
    std::vector<int> pids;
    for (const auto& line : started_.read_lines(n, 60s)) pids.push_back(std::stoi(line));
    EXPECT_EQ(pids.size(), n) << "tasks that never started";
    return pids;
  }
  [[nodiscard]] std::string started_path() const { return started_.path(); }
  [[nodiscard]] test::Fifo gate(const std::string& name) const { return test::Fifo{dir_.path() / name}; }

 private:
  test::TempDir dir_;
  test::Fifo started_{dir_.path() / "started"};
};

// --- Worker loss in every form ----------------------------------------------------------------

/// How `lethal` ends its worker, and what the host must then see in WorkerLostError::wait_status.
struct Death {
  const char* how;
  int signal;  // 0: an exit; -1: either (closing its pipes, the worker ends however it ends)
};

void PrintTo(const Death& death, std::ostream* out) { *out << death.how; }

class WorkerLoss : public Reliability, public ::testing::WithParamInterface<Death> {
 protected:
  static void expect_death(const WorkerLostError& e, const Death& death) {
    EXPECT_GT(e.pid(), 0);
    EXPECT_GT(e.job(), 0u);
    EXPECT_NE(std::string{e.what()}.find("testkit.lethal"), std::string::npos) << e.what();
    if (death.signal > 0) {
      ASSERT_TRUE(WIFSIGNALED(e.wait_status())) << e.what();
      EXPECT_EQ(WTERMSIG(e.wait_status()), death.signal) << e.what();
    } else if (death.signal == 0) {
      ASSERT_TRUE(WIFEXITED(e.wait_status())) << e.what();
      EXPECT_EQ(WEXITSTATUS(e.wait_status()), 0) << e.what();
    }
  }
};

TEST_P(WorkerLoss, FailsExactlyTheChunkItHeldAndTheReplacementServesTheRest) {
  test::let_workers_die_by_signal();
  const Death death = GetParam();
  // One worker: everything after a loss is served by its replacement.
  Pool pool{options(1)};

  // apply: the error names the worker, how it ended, the task, the job and the chunk.
  try {
    pool.apply(lethal, 3, 3, death.how);
    ADD_FAILURE() << "no WorkerLostError";
  } catch (const WorkerLostError& e) {
    expect_death(e, death);
    EXPECT_EQ(e.chunk(), 0u);
  }

  // map: the other chunks run; map raises the lost chunk's error; one callback, exactly once.
  std::vector<std::tuple<int, int, std::string>> args;
  for (int x = 0; x < 40; ++x) args.emplace_back(x, 10, death.how);  // item 10 is in chunk 2 of 4-item chunks
  std::atomic<int> callbacks{0}, error_callbacks{0};
  auto mapped = pool.starmap_async(lethal, args, 4,
                                   {.callback = [&](const std::vector<int>&) { ++callbacks; },
                                    .error_callback = [&](std::exception_ptr) { ++error_callbacks; }});
  try {
    mapped.get();
    ADD_FAILURE() << "no WorkerLostError";
  } catch (const WorkerLostError& e) {
    expect_death(e, death);
    EXPECT_EQ(e.chunk(), 2u);
  }
  EXPECT_EQ(callbacks, 0);
  EXPECT_EQ(error_callbacks, 1);

  // imap: the error appears at each position of the lost chunk, and iteration goes on.
  auto it = pool.imap(lethal, std::vector<std::tuple<int, int, std::string>>(args.begin(), args.begin() + 12), 2);
  for (int x = 0; x < 12; ++x) {
    if (x == 10 || x == 11) {
      EXPECT_THROW(it.next(), WorkerLostError) << "item " << x;
    } else {
      EXPECT_EQ(it.next(), x * x);
    }
  }
  EXPECT_EQ(it.next(), std::nullopt);

  EXPECT_EQ(pool.map(square, std::vector{1, 2, 3}), (std::vector{1, 4, 9}));
  pool.close();
  pool.join();
}

INSTANTIATE_TEST_SUITE_P(EveryForm, WorkerLoss,
                         ::testing::Values(Death{"segv", SIGSEGV}, Death{"abort", SIGABRT}, Death{"exit", 0},
                                           Death{"sigkill", SIGKILL}, Death{"close_pipes", -1}),
                         [](const auto& info) { return std::string{info.param.how}; });

TEST_F(Reliability, ChunksQueuedBehindALostOneRunAgainInsteadOfFailing) {
  test::let_workers_die_by_signal();
  Pool pool{options(1)};
  // Teach the pool that lethal's chunks are short, so that it queues them in the worker's pipe
  // behind the running one (pipelining): those never started when the worker died.
  std::vector<std::tuple<int, int, std::string>> args;
  for (int x = 0; x < 200; ++x) args.emplace_back(x, -1, "segv");
  EXPECT_EQ(pool.starmap(lethal, args, 1).size(), args.size());
  for (int round = 0; round < 3; ++round) {
    for (auto& [x, at, how] : args) at = 100;
    auto it = pool.imap(lethal, args, 1);
    for (int x = 0; x < 200; ++x) {
      if (x == 100) {
        EXPECT_THROW(it.next(), WorkerLostError);
      } else {
        EXPECT_EQ(it.next(), x * x) << "item " << x << ", round " << round;
      }
    }
  }
  pool.close();
  pool.join();
}

TEST_F(Reliability, AGeneratorBlockedOnItsConsumerDoesNotKeepLostChunksFromRunningAgain) {
  // `dlpool map`'s shape: the generator waits for the consumer, which waits for an item that
  // was queued behind a chunk whose worker died. That item must be sent again while the
  // generator is blocked (it once was the task handler that blocked in it, for good).
  const Task<int(int, int, std::string)> gate_then_exit{"rogue", "gate_then_exit"};
  auto gate = this->gate("gate");
  Pool pool{options(1)};
  // Short chunks, so that the pool queues them in the worker's pipe behind the running one.
  std::vector<std::tuple<int, int, std::string>> warm_up;
  for (int x = 0; x < 100; ++x) warm_up.emplace_back(x, -1, gate.path());
  ASSERT_EQ(pool.starmap(gate_then_exit, warm_up, 1).size(), warm_up.size());

  constexpr int items = 12, blocks_at = 6;
  std::mutex mutex;
  std::condition_variable cv;
  std::set<int> seen;
  std::promise<void> blocked;
  auto it =
      pool.imap_unordered(gate_then_exit, [&, x = 0]() mutable -> std::optional<std::tuple<int, int, std::string>> {
        if (x == items) return std::nullopt;
        if (x == blocks_at) {
          blocked.set_value();
          std::unique_lock lock{mutex};
      // Item 1 was queued behind item 0, whose worker dies: it comes only if sent again.
          if (!cv.wait_for(lock, 60s, [&] { return seen.contains(1); })) return std::nullopt;
        }
        return std::tuple{x++, 0, gate.path()};
      });
  ASSERT_EQ(blocked.get_future().wait_for(60s), std::future_status::ready);
  gate.release();  // item 0's worker dies now, with items 1.. queued behind it
  std::set<int> values;
  int lost = 0;
  for (;;) {
    auto outcome = it.next_indexed();
    if (!outcome) break;
    if (auto* value = std::get_if<int>(&outcome->outcome)) {
      values.insert(*value);
      std::lock_guard lock{mutex};
      seen.insert(*value);
      cv.notify_all();
    } else {
      EXPECT_EQ(outcome->index, 0u);
      EXPECT_THROW(std::rethrow_exception(std::get<std::exception_ptr>(outcome->outcome)), WorkerLostError);
      ++lost;
    }
  }
  EXPECT_EQ(lost, 1);
  EXPECT_EQ(values.size(), static_cast<std::size_t>(items - 1)) << "the generator gave up waiting for item 1";
  pool.close();
  pool.join();
}

TEST_F(Reliability, AWorkerKilledFromOutsideFailsTheTaskItRan) {
  Pool pool{options(1)};
  auto running = pool.apply_async(hang, {started_path(), false});
  const int pid = started(1).at(0);
  ::kill(pid, SIGKILL);
  try {
    running.get();
    ADD_FAILURE() << "no WorkerLostError";
  } catch (const WorkerLostError& e) {
    EXPECT_EQ(e.pid(), pid);
    EXPECT_TRUE(WIFSIGNALED(e.wait_status()) && WTERMSIG(e.wait_status()) == SIGKILL) << e.what();
    EXPECT_NE(std::string{e.what()}.find("killed by SIGKILL while running testkit.hang"), std::string::npos)
        << e.what();
  }
  EXPECT_NE(pool.apply(worker_pid), pid);
  pool.close();
  pool.join();
}

TEST_F(Reliability, AWorkerKilledWhileIdleDoesNotFailTheNextCall) {
  // The call goes to the worker before the pool has seen it die; it never read the call, so the
  // call runs in the replacement instead of failing with WorkerLostError.
  Pool pool{options(1)};
  for (int round = 0; round < 20; ++round) {
    const int pid = pool.apply(worker_pid);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    EXPECT_NO_THROW(EXPECT_EQ(pool.apply(square, round), round * round)) << "round " << round;
  }
  pool.close();
  pool.join();
}

TEST_F(Reliability, AWorkerThatDiesLoadingAPluginFailsThatCallOnly) {
  test::let_workers_die_by_signal();
  Pool pool{options(1)};
  try {
    pool.apply(Task<int()>{"crash_on_load", "value"});
    ADD_FAILURE() << "no WorkerLostError";
  } catch (const WorkerLostError& e) {
    EXPECT_TRUE(WIFSIGNALED(e.wait_status()) && WTERMSIG(e.wait_status()) == SIGSEGV) << e.what();
    EXPECT_NE(std::string{e.what()}.find("crash_on_load.value"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool.apply(square, 7), 49);
  pool.close();
  pool.join();
}

// --- Kill storm ---------------------------------------------------------------------------------

TEST_F(Reliability, KillStormAccountsForEveryItemExactlyOnce) {
  constexpr int items = 100'000;
  constexpr int kill_every = 300;  // results
  const auto value = [](int i) { return i % 40'000; };  // squares stay within int

  Pool pool{options(2)};
  std::vector<int> input(items);
  std::iota(input.begin(), input.end(), 0);
  std::ranges::transform(input, input.begin(), value);

  // The killer acts on progress reported by the consumer, never on a clock.
  test::WorkerKiller killer{pool, 12345};

  int results = 0, lost = 0, outcomes = 0;
  auto it = pool.imap(square, input, 10);
  for (;;) {
    try {
      const auto v = it.next();
      if (!v) break;
      EXPECT_EQ(*v, value(outcomes) * value(outcomes)) << "item " << outcomes;
      ++results;
    } catch (const WorkerLostError&) {
      ++lost;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "item " << outcomes << ": " << e.what();
    }
    if (++outcomes % kill_every == 0) killer.ask();
  }
  const int kills_done = killer.stop();

  EXPECT_EQ(outcomes, items);
  EXPECT_EQ(results + lost, items);
  // Each kill failed the chunk its worker had started, if it had started one (a chunk it had
  // not started runs elsewhere): how many that is depends on timing, the count of kills does not.
  EXPECT_GT(kills_done, items / kill_every / 2) << "the storm did not happen";
  // The pool is whole again: a fresh map is correct.
  std::vector<int> fresh(1000);
  std::iota(fresh.begin(), fresh.end(), 0);
  std::vector<int> squares;
  for (const int x : fresh) squares.push_back(x * x);
  EXPECT_EQ(pool.map(square, fresh), squares);
  pool.close();
  pool.join();
}

// --- Timeouts that kill -------------------------------------------------------------------------

TEST_F(Reliability, ATaskPastItsTimeoutFailsWithTaskTimeoutAndItsWorkerIsReplaced) {
  Pool pool{options(1)};
  (void)pool.apply(worker_pid);  // the plugin loaded: the limit is the task's alone
  auto late = pool.apply_async(hang.with_timeout(200ms), {started_path(), false});
  const int pid = started(1).at(0);
  try {
    late.get();
    ADD_FAILURE() << "no TaskTimeout";
  } catch (const TaskTimeout& e) {
    EXPECT_EQ(e.pid(), pid);
    EXPECT_EQ(e.limit(), 200ms);
    EXPECT_NE(std::string{e.what()}.find("testkit.hang ran past its timeout of 200 ms"), std::string::npos) << e.what();
  }
  EXPECT_NE(pool.apply(worker_pid), pid);
  pool.close();
  pool.join();
}

TEST_F(Reliability, ATaskThatIgnoresSigtermIsKilledAfterTheGracePeriod) {
  auto o = options(1);
  o.kill_grace = 20ms;
  Pool pool{o};
  // The plugin loaded first: the limit must not run out before the task has ignored SIGTERM.
  const int first = pool.apply(worker_pid);
  auto late = pool.apply_async(hang.with_timeout(200ms), {started_path(), true});
  const int pid = started(1).at(0);
  EXPECT_EQ(pid, first);
  EXPECT_THROW(late.get(), TaskTimeout);
  EXPECT_NE(pool.apply(worker_pid), pid);
  pool.close();
  pool.join();
}

TEST_F(Reliability, ThePoolTimeoutAppliesToEveryTaskAndAPerCallOneOverridesIt) {
  auto o = options(1);
  o.task_timeout = 100ms;
  Pool pool{o};
  (void)pool.apply(worker_pid.with_timeout(1h));  // the plugin loaded: the limit is the task's alone
  auto late = pool.apply_async(hang, {started_path(), false});
  started(1);
  EXPECT_THROW(late.get(), TaskTimeout);
  // The same kind of task with a generous limit of its own is left alone until it answers.
  auto gate = this->gate("gate");
  auto patient = pool.apply_async(wait_fifo.with_timeout(1h), {gate.path(), 5});
  EXPECT_FALSE(patient.wait(150ms));  // past the pool's 100 ms: still running, not stopped
  gate.release();
  EXPECT_EQ(patient.get(), 5);
  pool.close();
  pool.join();
}

TEST_F(Reliability, ATimedOutChunkFailsAtEachOfItsImapPositions) {
  Pool pool{options(1)};
  std::vector<std::tuple<std::string, bool>> args(2, {started_path(), false});
  auto it = pool.imap(hang.with_timeout(20ms), args, 2);
  try {
    it.next();
    ADD_FAILURE() << "no TaskTimeout";
  } catch (const TaskTimeout& e) {
    EXPECT_EQ(e.limit(), 40ms) << "a chunk of 2 items gets twice the per-item limit";
  }
  EXPECT_THROW(it.next(), TaskTimeout);
  EXPECT_EQ(it.next(), std::nullopt);
  pool.close();
  pool.join();
}

TEST_F(Reliability, GetWithATimeoutOnlyStopsWaiting) {
  Pool pool{options(1)};
  auto gate = this->gate("gate");
  auto slow = pool.apply_async(wait_fifo, {gate.path(), 8});
  EXPECT_THROW(slow.get(1ms), TimeoutError);
  EXPECT_FALSE(slow.ready());
  gate.release();
  EXPECT_EQ(slow.get(), 8);  // the task was never stopped
  pool.close();
  pool.join();
}

// --- Cancel -------------------------------------------------------------------------------------

TEST_F(Reliability, CancelDropsAQueuedTaskWithoutTouchingAnyWorker) {
  Pool pool{options(1)};
  const int pid = pool.apply(worker_pid);
  auto gate = this->gate("gate");
  auto busy = pool.apply_async(wait_fifo, {gate.path(), 1});
  std::atomic<int> errors{0};
  auto queued = pool.apply_async(square, {4}, {.error_callback = [&](std::exception_ptr) { ++errors; }});
  EXPECT_TRUE(queued.cancel());
  EXPECT_THROW(queued.get(), Cancelled);
  EXPECT_EQ(errors, 1);
  gate.release();
  EXPECT_EQ(busy.get(), 1);
  EXPECT_EQ(pool.apply(worker_pid), pid);
  EXPECT_FALSE(busy.cancel()) << "a completed call cannot be cancelled";
  pool.close();
  pool.join();
}

TEST_F(Reliability, CancelStopsTheWorkerRunningAStartedTask) {
  auto o = options(1);
  o.kill_grace = 20ms;
  Pool pool{o};
  auto running = pool.apply_async(hang, {started_path(), true});  // even one that ignores SIGTERM
  const int pid = started(1).at(0);
  EXPECT_TRUE(running.cancel());
  EXPECT_TRUE(running.cancel()) << "cancelling twice is harmless";
  try {
    running.get();
    ADD_FAILURE() << "no Cancelled";
  } catch (const Cancelled& e) {
    EXPECT_NE(std::string{e.what()}.find("testkit.hang) was cancelled"), std::string::npos) << e.what();
  }
  EXPECT_NE(pool.apply(worker_pid), pid);
  pool.close();
  pool.join();
}

TEST_F(Reliability, CancellingAnEndlessImapEndsItAndThePoolCanClose) {
  constexpr int window = 8;
  auto o = options(2);
  o.imap_window = window;
  Pool pool{o};
  int next = 0;
  auto it = pool.imap(square, [&next]() -> std::optional<int> { return next++ % 1000; });
  EXPECT_EQ(it.next(), 0);
  EXPECT_EQ(it.next(), 1);
  EXPECT_TRUE(it.cancel());
  int delivered = 2, cancelled = 0;
  for (;;) {
    try {
      if (!it.next()) break;
      ++delivered;
    } catch (const Cancelled&) {
      ++cancelled;
    }
  }
  EXPECT_EQ(cancelled, 1);
  EXPECT_LE(delivered, 2 + window) << "no more than the window was pulled after the cancel";
  pool.close();
  pool.join();
}

// --- Bounded lazy imap --------------------------------------------------------------------------

TEST_F(Reliability, ImapPullsItsInputOnlyAWindowAheadOfTheConsumer) {
  constexpr std::size_t window = 3, chunksize = 2;
  auto o = options(2);
  o.imap_window = window;
  Pool pool{o};
  std::atomic<std::size_t> pulled{0};  // read here, written on the task-handler thread
  {
    auto it = pool.imap(
        square, [&]() -> std::optional<int> { return static_cast<int>(pulled++ % 1000); }, chunksize);
    for (std::size_t k = 1; k <= 300; ++k) {
      ASSERT_EQ(it.next(), static_cast<int>((k - 1) % 1000) * static_cast<int>((k - 1) % 1000));
      ASSERT_LE(pulled.load(), k + window * chunksize) << "after consuming " << k;
    }
  }  // abandoned: no more input is pulled, and close/join do not wait for an endless input
  pool.close();
  pool.join();
}

TEST_F(Reliability, TheDefaultImapWindowIsFourChunksPerWorkerAndAtLeast64Items) {
  Pool pool{options(2)};
  // One counter per imap, alive until join(): a dropped imap's generator may still be called
  // until its puller sees the cancel (the documented contract: join() waits for it).
  std::array<std::atomic<std::size_t>, 2> counters{};
  for (const std::size_t chunksize : {std::size_t{1}, std::size_t{32}}) {
    const std::size_t window_items = std::max<std::size_t>(4 * 2 * chunksize, 64);
    std::atomic<std::size_t>& pulled = counters[chunksize == 1 ? 0 : 1];
    auto it = pool.imap(
        square, [&]() -> std::optional<int> { return static_cast<int>(pulled++ % 1000); }, chunksize);
    for (std::size_t k = 1; k <= 500; ++k) {
      ASSERT_EQ(it.next(), static_cast<int>((k - 1) % 1000) * static_cast<int>((k - 1) % 1000));
      ASSERT_LE(pulled.load(), k + window_items) << "chunksize " << chunksize << ", after consuming " << k;
    }
  }
  pool.close();
  pool.join();
}

TEST_F(Reliability, AnImapWaitingForItsConsumerDoesNotHoldUpOtherCalls) {
  auto o = options(1);
  o.imap_window = 1;
  Pool pool{o};
  int next = 0;
  auto it = pool.imap(square, [&next]() -> std::optional<int> { return next++ % 1000; });
  // Nothing consumed: the imap holds one chunk and waits. Later calls still run.
  EXPECT_EQ(pool.apply(square, 3), 9);
  EXPECT_EQ(pool.map(square, std::vector{1, 2}), (std::vector{1, 4}));
  EXPECT_EQ(it.next(), 0);
  EXPECT_EQ(it.next(), 1);
  pool.terminate();
  pool.join();
}

// --- Bounded shutdown ---------------------------------------------------------------------------

TEST_F(Reliability, TerminateStopsTasksThatIgnoreSigterm) {
  auto o = options(2);
  o.kill_grace = 20ms;
  Pool pool{o};
  auto a = pool.apply_async(hang, {started_path(), true});
  auto b = pool.apply_async(hang, {started_path(), true});
  started(2);
  pool.terminate();
  pool.join();
  EXPECT_THROW(a.get(), PoolTerminated);
  EXPECT_THROW(b.get(), PoolTerminated);
  EXPECT_TRUE(pool.worker_pids().empty());
}

TEST_F(Reliability, TerminateReturnsWhileACallbackIsBusy) {
  Pool pool{options(1)};
  std::promise<void> entered, release;
  auto released = release.get_future();
  auto r = pool.apply_async(square, {2}, {.callback = [&](const int&) {
                              entered.set_value();
                              released.wait();
                            }});
  entered.get_future().wait();
  pool.terminate();  // does not wait for the callback
  release.set_value();
  pool.join();
  EXPECT_EQ(r.get(), 4);
}

TEST_F(Reliability, TheDestructorDoesNotHangOnTasksThatIgnoreSigterm) {
  {
    auto o = options(2);
    o.kill_grace = 20ms;
    Pool pool{o};
    auto a = pool.apply_async(hang, {started_path(), true});
    started(1);
  }  // terminate + join
  SUCCEED();
}

TEST_F(Reliability, InvalidLimitsAreRefused) {
  auto o = options(1);
  o.imap_window = 0;
  EXPECT_THROW(Pool{o}, UsageError);
  o = options(1);
  o.task_timeout = 0ms;
  EXPECT_THROW(Pool{o}, UsageError);
  o = options(1);
  o.start_timeout = 0ms;
  EXPECT_THROW(Pool{o}, UsageError);
  Pool pool{options(1)};
  EXPECT_THROW((void)pool.apply_async(square.with_timeout(-1ms), {1}), UsageError);
  pool.close();
  pool.join();
}

}  // namespace
