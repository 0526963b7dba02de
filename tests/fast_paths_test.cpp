// The pool's fast paths keep its semantics: a caller blocked on its own apply reads the answer
// from the worker itself (the two-hop apply), without taking anyone else's.

#include "support/pool_fixture.hpp"

#include <atomic>
#include <csignal>
#include <future>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

namespace {

using namespace dlpool;
using namespace std::chrono_literals;
using test::options;

using test::square;
const Task<int(std::string, std::string, int)> signal_then_wait{"testkit", "signal_then_wait"};

TEST(TwoHopApply, CallersGetTheirOwnAnswersAndCallbacksStayOnTheResultHandler) {
  Pool pool{options(2)};
  ASSERT_EQ(pool.apply(square, 2), 4);  // the workers are ready: calls now go straight to them
  constexpr int callers = 3, calls = 300;
  std::mutex mutex;
  std::set<std::thread::id> caller_threads;
  std::multiset<std::thread::id> callback_threads;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      {
        std::lock_guard lock{mutex};
        caller_threads.insert(std::this_thread::get_id());
      }
      for (int i = 0; i < calls; ++i) {
        const int x = t * calls + i;
        if (pool.apply(square, x) != x * x) ++wrong;
        // A lone apply_async waited on at once reads its answer the same way.
        if (pool.apply_async(square, x + 1).get() != (x + 1) * (x + 1)) ++wrong;
      }
    });
  }
  // Meanwhile, calls with callbacks, whose answers must reach them on the result handler.
  std::vector<AsyncResult<int>> with_callbacks;
  for (int i = 0; i < calls; ++i) {
    with_callbacks.push_back(pool.apply_async(square, {i}, {.callback = [&](const int&) {
                                                std::lock_guard lock{mutex};
                                                callback_threads.insert(std::this_thread::get_id());
                                              }}));
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < calls; ++i) EXPECT_EQ(with_callbacks[static_cast<std::size_t>(i)].get(), i * i);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(pool.stats().answers_read_by_callers, 0u) << "no caller read its own answer";
  std::lock_guard lock{mutex};
  ASSERT_EQ(callback_threads.size(), static_cast<std::size_t>(calls));
  EXPECT_EQ(std::set<std::thread::id>(callback_threads.begin(), callback_threads.end()).size(), 1u)
      << "every callback runs on the one result-handler thread";
  EXPECT_FALSE(caller_threads.contains(*callback_threads.begin()));
  EXPECT_NE(*callback_threads.begin(), std::this_thread::get_id());
  pool.close();
  pool.join();
}

TEST(TwoHopApply, TerminateEndsACallerBlockedOnItsOwnAnswer) {
  test::TempDir dir;
  test::Fifo started{dir.path() / "started"}, gate{dir.path() / "gate"};
  auto pool = std::make_unique<Pool>(options(1));
  ASSERT_EQ(pool->apply(square, 2), 4);  // ready: the next call goes straight to the worker
  auto blocked =
      std::async(std::launch::async, [&] { return pool->apply(signal_then_wait, started.path(), gate.path(), 7); });
  ASSERT_EQ(started.read_lines(1, 10s).size(), 1u) << "the task never started";
  pool->terminate();
  EXPECT_THROW(blocked.get(), PoolTerminated);
  pool->join();
  pool.reset();  // and its destructor does not wait on the caller that left
}

TEST(TwoHopApply, ACallerWhoseWorkerIsKilledGetsWorkerLostErrorAndThePoolGoesOn) {
  test::let_workers_die_by_signal();
  test::TempDir dir;
  test::Fifo started{dir.path() / "started"}, gate{dir.path() / "gate"};
  Pool pool{options(1)};
  ASSERT_EQ(pool.apply(square, 2), 4);  // ready: the next call goes straight to the worker
  const int pid = pool.worker_pids().at(0);
  auto blocked =
      std::async(std::launch::async, [&] { return pool.apply(signal_then_wait, started.path(), gate.path(), 7); });
  ASSERT_EQ(started.read_lines(1, 10s).size(), 1u) << "the task never started";
  ::kill(pid, SIGKILL);
  try {
    (void)blocked.get();
    ADD_FAILURE() << "no error";
  } catch (const WorkerLostError& e) {
    EXPECT_EQ(e.pid(), pid);
  }
  EXPECT_EQ(pool.apply(square, 9), 81);
  pool.close();
  pool.join();
}

TEST(TwoHopApply, ChunksQueuedBehindACallersAnswerStillReachTheirJob) {
  // Short chunks of a map may be queued on the worker right behind an apply's, so the caller
  // reading its answer may read theirs too: those must reach the map, or it never ends.
  Pool pool{options(1)};
  std::vector<int> items(50);
  std::iota(items.begin(), items.end(), 0);
  std::vector<int> squares;
  for (const int x : items) squares.push_back(x * x);
  ASSERT_EQ(pool.map(square, items, 1), squares);  // square is known to be short from here on
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::thread caller{[&] {
    for (int i = 0; !stop.load(); ++i)
      if (pool.apply(square, i % 1000) != (i % 1000) * (i % 1000)) ++wrong;
  }};
  for (int round = 0; round < 100; ++round) EXPECT_EQ(pool.map(square, items, 1), squares) << "round " << round;
  stop = true;
  caller.join();
  EXPECT_EQ(wrong.load(), 0);
  pool.close();
  pool.join();
}

}  // namespace
