// CPython's _TestPool tests, ported to dlpool. What is ported, what is left out and why, and how
// the tests hold tasks and check for leaks: see pool_port.hpp.

#include "cpython/pool_port.hpp"

#include <dlpool/pool.hpp>

#include "support/fifo.hpp"
#include "support/process_census.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include <unistd.h>

// Inside the suite's namespace: the file is compiled with the other pool tests (one unity file, see
// tests/CMakeLists.txt), whose anonymous namespace uses namespace dlpool, where names such as
// AsyncResult would be ambiguous with this suite's fixtures.
namespace cpython_port {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// _TestPool

// CPython: _TestPool.test_apply
TEST_F(Apply, ReturnsTheTaskResult) {
  dlpool::Pool pool{options(4)};
  EXPECT_EQ(pool.apply(square, 5), 25);
  EXPECT_EQ(pool.apply(add, 2, 3), 5);  // CPython's keyword form has no C++ counterpart
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_map
TEST_F(Map, EqualsTheSerialResult) {
  dlpool::Pool pool{options(4)};
  EXPECT_EQ(pool.map(square, iota_vector(10)), squares(10));
  EXPECT_EQ(pool.map(square, iota_vector(100), 20), squares(100));
  pool.close();
  pool.join();
}

std::vector<std::tuple<int, int>> descending_pairs(int n) {
  std::vector<std::tuple<int, int>> pairs;
  for (int i = 0; i < n; ++i) pairs.emplace_back(i, n - 1 - i);
  return pairs;
}

std::vector<int> serial_sums(const std::vector<std::tuple<int, int>>& pairs) {
  std::vector<int> sums;
  for (const auto& [a, b] : pairs) sums.push_back(a + b);
  return sums;
}

// CPython: _TestPool.test_starmap
TEST_F(Starmap, UnpacksArgumentTuples) {
  dlpool::Pool pool{options(4)};
  const auto ten = descending_pairs(10);
  EXPECT_EQ(pool.starmap(add, ten), serial_sums(ten));
  const auto hundred = descending_pairs(100);
  EXPECT_EQ(pool.starmap(add, hundred, 20), serial_sums(hundred));
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_starmap_async
TEST_F(Starmap, AsyncUnpacksArgumentTuples) {
  dlpool::Pool pool{options(4)};
  const auto ten = descending_pairs(10);
  EXPECT_EQ(pool.starmap_async(add, ten).get(patience), serial_sums(ten));
  const auto hundred = descending_pairs(100);
  EXPECT_EQ(pool.starmap_async(add, hundred, 20).get(patience), serial_sums(hundred));
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_map_async
TEST_F(MapAsync, GetReturnsTheList) {
  dlpool::Pool pool{options(4)};
  EXPECT_EQ(pool.map_async(square, iota_vector(10)).get(patience), squares(10));
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_map_async_callbacks
// Like CPython's, this reads what the callbacks recorded right after wait(): callbacks run on the
// result-handler thread before the result is marked ready.
TEST_F(MapAsync, ExactlyOneCallbackRunsBeforeReady) {
  dlpool::Pool pool{options(4)};
  std::mutex mutex;
  std::vector<std::variant<std::vector<int>, std::exception_ptr>> calls;
  const auto callbacks = [&] {
    return dlpool::Callbacks<std::vector<int>>{.callback =
                                                   [&](const std::vector<int>& v) {
                                                     std::lock_guard lock{mutex};
                                                     calls.emplace_back(v);
                                                   },
                                               .error_callback =
                                                   [&](std::exception_ptr e) {
                                                     std::lock_guard lock{mutex};
                                                     calls.emplace_back(e);
                                                   }};
  };

  auto good = pool.map_async(fail_if_negative, std::vector{1}, std::nullopt, callbacks());
  ASSERT_TRUE(good.wait(patience));
  {
    std::lock_guard lock{mutex};
    ASSERT_EQ(calls.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<std::vector<int>>(calls[0]));
    EXPECT_EQ(std::get<std::vector<int>>(calls[0]), std::vector{1});
  }

  auto bad = pool.map_async(fail_if_negative, std::vector{-1}, std::nullopt, callbacks());
  ASSERT_TRUE(bad.wait(patience));
  {
    std::lock_guard lock{mutex};
    ASSERT_EQ(calls.size(), 2u);
    ASSERT_TRUE(std::holds_alternative<std::exception_ptr>(calls[1]));
    if (const auto e = exception_as<dlpool::RemoteError>(std::get<std::exception_ptr>(calls[1]))) {
      EXPECT_EQ(e->remote_type(), "std::invalid_argument");
    }
  }
  EXPECT_TRUE(good.successful());
  EXPECT_FALSE(bad.successful());
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_map_unplicklable
// Adapted: arguments that cannot travel are a Task<> whose signature the plugin does not export
// (SignatureMismatch) and JSON arguments that do not decode (EncodingError). map must raise, not
// hang, and the pool must go on working.
TEST_F(Map, UnencodableArgumentsRaiseWithoutHanging) {
  dlpool::Pool pool{options(4)};
  const dlpool::Task<int(std::string)> square_of_text{"testkit", "square"};
  EXPECT_THROW(pool.map(square_of_text, std::vector<std::string>(10, "A")), dlpool::SignatureMismatch);

  EXPECT_EQ(pool.map(square_json, std::vector<std::string>{"[3]"}), std::vector<std::string>{"9"});
  for (const std::string bad : {R"(["A"])", "not json", "[1, 2]", "{}"}) {
    SCOPED_TRACE(bad);
    std::vector<std::string> items(10, "[2]");
    items[5] = bad;
    EXPECT_THROW(pool.map(square_json, items), dlpool::EncodingError);
  }
  EXPECT_EQ(pool.map(square, iota_vector(10)), squares(10));
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_map_chunksize
TEST_F(MapAsync, EmptyInputWithChunksizeDoesNotStall) {
  dlpool::Pool pool{options(4)};
  EXPECT_EQ(pool.map_async(square, std::vector<int>{}, 1).get(patience), std::vector<int>{});
  pool.close();
  pool.join();
}

/// An input element whose conversion to the task's argument throws: copying the input throws.
struct Explosive {
  int value = 0;
  bool boom = false;
  operator int() const {  // NOLINT: the implicit conversion is the point
    if (boom) throw SayWhenError{};
    return value;
  }
};

// CPython: _TestPool.test_map_handle_iterable_exception
// Adapted: an input range that throws while map copies it. The error is raised by the call itself,
// in the caller (map* make a list of their input first), and the pool stays usable.
TEST_F(Map, ThrowingInputRaisesInTheCallerAndPoolStaysUsable) {
  dlpool::Pool pool{options(4)};
  // At the very first element, twice: the pool must be reentrant after it.
  EXPECT_THROW(pool.map(square, exception_throwing_range(1, -1), 1), SayWhenError);
  EXPECT_THROW(pool.map(square, exception_throwing_range(1, -1), 1), SayWhenError);
  EXPECT_THROW(pool.map(square, exception_throwing_range(10, 3), 1), SayWhenError);
  // The async forms raise from the call, not from get().
  EXPECT_THROW((void)pool.map_async(square, exception_throwing_range(10, 3), 1), SayWhenError);
  // CPython's SpecialIterable: a sized input whose every element throws.
  EXPECT_THROW(pool.map(square, exception_throwing_range(1, 0), 1), SayWhenError);
  EXPECT_THROW(pool.map(square, exception_throwing_range(1, 0), 1), SayWhenError);
  // Elements whose copy into the pool throws.
  std::vector<Explosive> explosive(10, Explosive{7, false});
  explosive[4].boom = true;
  EXPECT_THROW(pool.map(square, explosive, 1), SayWhenError);
  const std::vector<std::tuple<Explosive, int>> pairs{{Explosive{1, false}, 1}, {Explosive{2, true}, 2}};
  EXPECT_THROW(pool.starmap(add, pairs), SayWhenError);

  EXPECT_EQ(pool.map(square, iota_vector(10), 1), squares(10));
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_async
TEST_F(AsyncResult, GetWaitsForASlowTask) {
  auto gate = fifo("gate");
  dlpool::Pool pool{options(4)};
  auto result = pool.apply_async(wait_fifo, {gate.path(), 49});
  // The task cannot finish before the gate opens.
  EXPECT_FALSE(result.ready());
  EXPECT_THROW((void)result.successful(), dlpool::UsageError);

  auto got = std::async(std::launch::async, [result] { return result.get(); });
  gate.release();
  const bool in_time = got.wait_for(patience) == std::future_status::ready;
  if (!in_time) pool.terminate();  // unblocks get() so that the test fails instead of hanging
  ASSERT_TRUE(in_time);
  EXPECT_EQ(got.get(), 49);
  EXPECT_TRUE(result.successful());
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_async_timeout
TEST_F(AsyncResult, GetWithTimeoutThrowsTimeoutErrorThenSucceeds) {
  auto gate = fifo("gate");
  auto imap_gate = fifo("imap-gate");
  dlpool::Pool pool{options(4)};
  auto result = pool.apply_async(wait_fifo, {gate.path(), 36});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW((void)result.get(100ms), dlpool::TimeoutError);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);  // it did wait for the timeout
  EXPECT_FALSE(result.ready());  // the task goes on
  gate.release();
  ASSERT_TRUE(result.wait(patience));
  EXPECT_EQ(result.get(), 36);

  // The same for an imap iterator's next(timeout).
  auto it = pool.imap(wait_fifo, std::vector{std::tuple{imap_gate.path(), 5}});
  EXPECT_THROW((void)it.next(100ms), dlpool::TimeoutError);
  imap_gate.release();
  EXPECT_EQ(it.next(patience), std::optional{5});
  EXPECT_EQ(it.next(patience), std::nullopt);
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_imap
TEST_F(Imap, DeliversInOrderThenEnds) {
  dlpool::Pool pool{options(4)};
  {
    auto it = pool.imap(square, iota_vector(10));
    std::vector<int> all;
    for (int v : it) all.push_back(v);  // CPython's list(it)
    EXPECT_EQ(all, squares(10));
  }
  {
    auto it = pool.imap(square, iota_vector(10));
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(it.next(patience), std::optional{i * i});
    }
    EXPECT_EQ(it.next(patience), std::nullopt);  // StopIteration
  }
  {
    auto it = pool.imap(square, iota_vector(1000), 100);
    for (int i = 0; i < 1000; ++i) {
      ASSERT_EQ(it.next(patience), std::optional{i * i});
    }
    EXPECT_EQ(it.next(patience), std::nullopt);
  }
  pool.close();
  pool.join();
}

/// Expects `count` results (the squares of 0, 1, ...), then SayWhenError, then the end.
void expect_error_after(dlpool::IMapIterator<int>& it, int count) {
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(it.next(patience), std::optional{i * i}) << "item " << i;
  }
  EXPECT_THROW((void)it.next(patience), SayWhenError) << "after " << count << " items";
  EXPECT_EQ(it.next(patience), std::nullopt) << "iteration must end after the input error";
}

// CPython: _TestPool.test_imap_handle_iterable_exception
// Adapted: the input is a generator that throws. Deliberate difference in the counts: CPython
// loses the items of the chunk being assembled when the input throws (the error comes after 6
// items with chunksize 2 and after 4 with chunksize 4, for a generator that produced 7), while
// dlpool delivers every item the generator produced, so the error comes after exactly `when`
// items whatever the chunk size; then the iteration ends.
TEST_F(Imap, GeneratorErrorComesAfterItsItemsThenEnds) {
  dlpool::Pool pool{options(4)};
  for (int round = 0; round < 2; ++round) {  // at the very first item, twice: reentrant
    auto it = pool.imap(square, exception_throwing_generator(1, -1), 1);
    expect_error_after(it, 0);
  }
  for (const auto& [total, when, chunksize] : {std::tuple{10, 3, 1}, {20, 7, 2}, {20, 7, 4}, {20, 8, 4}}) {
    SCOPED_TRACE("chunksize " + std::to_string(chunksize) + ", error at " + std::to_string(when));
    auto it = pool.imap(square, exception_throwing_generator(total, when), chunksize);
    expect_error_after(it, when);
  }
  EXPECT_EQ(pool.map(square, iota_vector(10)), squares(10));
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_imap_unordered
TEST_F(ImapUnordered, DeliversEveryResult) {
  dlpool::Pool pool{options(4)};
  auto ten = pool.imap_unordered(square, iota_vector(10));
  EXPECT_EQ(sorted(drain(ten)), squares(10));
  auto thousand = pool.imap_unordered(square, iota_vector(1000), 100);
  EXPECT_EQ(sorted(drain(thousand)), squares(1000));
  pool.close();
  pool.join();
}

/// Reads an imap_unordered iterator to its end: the squares of 0..count-1 in any order, and
/// SayWhenError exactly once, anywhere among them.
void expect_unordered_error_among(dlpool::IMapIterator<int>& it, int count) {
  std::vector<int> values;
  int errors = 0;
  for (int reads = 0; reads < count + 5; ++reads) {  // bounded: a runtime bug must not loop forever
    try {
      const auto v = it.next(patience);
      if (!v) break;
      values.push_back(*v);
    } catch (const SayWhenError&) {
      ++errors;
    }
  }
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(sorted(values), squares(count));
  EXPECT_EQ(it.next(patience), std::nullopt);
}

// CPython: _TestPool.test_imap_unordered_handle_iterable_exception
TEST_F(ImapUnordered, GeneratorErrorSurfacesOnceThenEnds) {
  dlpool::Pool pool{options(4)};
  for (int round = 0; round < 2; ++round) {
    auto it = pool.imap_unordered(square, exception_throwing_generator(1, -1), 1);
    EXPECT_THROW((void)it.next(patience), SayWhenError);
    EXPECT_EQ(it.next(patience), std::nullopt);
  }
  for (const auto& [total, when, chunksize] : {std::tuple{10, 3, 1}, {20, 7, 2}, {20, 7, 4}}) {
    SCOPED_TRACE("chunksize " + std::to_string(chunksize) + ", error at " + std::to_string(when));
    auto it = pool.imap_unordered(square, exception_throwing_generator(total, when), chunksize);
    expect_unordered_error_among(it, when);
  }
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_make_pool
TEST_F(Construction, ProcessesBelowOneIsRefusedAndThreeStartsThree) {
  for (const int processes : {-1, 0}) {
    SCOPED_TRACE(processes);
    expect_usage_error([&] { dlpool::Pool pool{options(processes)}; }, "Number of processes must be at least 1");
  }
  EXPECT_TRUE(test::child_pids().empty());

  dlpool::Pool pool{options(3)};
  EXPECT_EQ(pool.processes(), 3);
  const auto pids = pool.worker_pids();
  EXPECT_EQ(pids.size(), 3u);
  EXPECT_EQ(std::set<int>(pids.begin(), pids.end()).size(), 3u);
  for (const int pid : pids) {
    EXPECT_EQ(test::parent_of(pid), static_cast<int>(::getpid())) << pid;
  }
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_terminate
// 10,000 tasks queued behind three that block on a fifo that never opens: terminate() and join()
// return, every worker is reaped, and pending results fail with PoolTerminated.
TEST_F(Lifecycle, TerminateWithTenThousandQueuedTasksReturns) {
  auto started = fifo("started");
  auto gate = fifo("gate");
  dlpool::Pool pool{options(3)};
  std::vector<std::tuple<std::string, std::string, int>> args;
  for (int i = 0; i < 10'000; ++i) args.emplace_back(started.path(), gate.path(), i);
  auto blocked = pool.starmap_async(signal_then_wait, args, 1);
  auto queued = pool.apply_async(square, {2});
  ASSERT_EQ(started.read_lines(3, patience).size(), 3u) << "every worker should be running a task";

  pool.terminate();
  pool.join();
  EXPECT_TRUE(test::child_pids().empty());
  ASSERT_TRUE(blocked.wait(patience));
  EXPECT_THROW((void)blocked.get(), dlpool::PoolTerminated);
  ASSERT_TRUE(queued.wait(patience));
  EXPECT_THROW((void)queued.get(), dlpool::PoolTerminated);
}

// CPython: _TestPool.test_empty_iterable
TEST_F(EmptyInput, EveryMapFormReturnsEmpty) {
  dlpool::Pool pool{options(1)};
  const std::vector<int> none;
  EXPECT_EQ(pool.map(square, none), std::vector<int>{});
  auto ordered = pool.imap(square, none);
  EXPECT_EQ(drain(ordered), std::vector<int>{});
  auto unordered = pool.imap_unordered(square, none);
  EXPECT_EQ(drain(unordered), std::vector<int>{});
  EXPECT_EQ(pool.map_async(square, none).get(patience), std::vector<int>{});
  // The same through the other input forms.
  EXPECT_EQ(pool.starmap(add, std::vector<std::tuple<int, int>>{}), std::vector<int>{});
  auto generated = pool.imap(square, []() -> std::optional<int> { return std::nullopt; });
  EXPECT_EQ(drain(generated), std::vector<int>{});
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_context
// `with Pool() as p:` terminates on leaving; the C++ scope is the pool's lifetime, and its
// destructor terminates a running pool: it returns without waiting for a task that would block
// forever, reaps every worker, and fails that task with PoolTerminated.
TEST_F(Lifecycle, ScopedPoolDestroyedWhileRunningIsTerminated) {
  auto gate = fifo("gate");
  std::optional<dlpool::AsyncResult<int>> blocked;
  {
    dlpool::Pool pool{options(2)};
    EXPECT_EQ(pool.map_async(square, iota_vector(10)).get(patience), squares(10));
    blocked.emplace(pool.apply_async(wait_fifo, {gate.path(), 1}));
  }
  EXPECT_TRUE(test::child_pids().empty());
  ASSERT_TRUE(blocked->ready());
  EXPECT_THROW((void)blocked->get(), dlpool::PoolTerminated);
}

/// Every way of submitting work, each expected to throw UsageError "Pool not running".
void expect_every_submission_refused(dlpool::Pool& pool) {
  const auto ten = iota_vector(10);
  const auto pairs = descending_pairs(3);
  expect_usage_error([&] { (void)pool.apply_async(square, {1}); }, "Pool not running");
  expect_usage_error([&] { (void)pool.apply(square, 1); }, "Pool not running");
  expect_usage_error([&] { (void)pool.map(square, ten); }, "Pool not running");
  expect_usage_error([&] { (void)pool.map_async(square, ten); }, "Pool not running");
  expect_usage_error([&] { (void)pool.starmap(add, pairs); }, "Pool not running");
  expect_usage_error([&] { (void)pool.starmap_async(add, pairs); }, "Pool not running");
  expect_usage_error([&] { (void)pool.imap(square, ten); }, "Pool not running");
  expect_usage_error([&] { (void)pool.imap_unordered(square, ten); }, "Pool not running");
}

// CPython: _TestPool.test_context (after the with block: join works, submitting raises
// ValueError "Pool not running"), and Pool.close()'s running check.
TEST_F(Lifecycle, SubmittingAfterCloseThrowsPoolNotRunning) {
  dlpool::Pool pool{options(2)};
  EXPECT_EQ(pool.apply(square, 3), 9);
  pool.close();
  expect_every_submission_refused(pool);
  pool.close();  // idempotent
  pool.join();
  EXPECT_TRUE(test::child_pids().empty());
  expect_every_submission_refused(pool);
}

// CPython: _TestPool.test_context (join() of a running pool: ValueError "Pool is still running")
TEST_F(Lifecycle, JoinWhileRunningThrows) {
  dlpool::Pool pool{options(1)};
  expect_usage_error([&] { pool.join(); }, "Pool is still running");
  EXPECT_EQ(pool.apply(square, 3), 9);  // the failed join changed nothing
  pool.close();
  pool.join();
  pool.join();  // a second join is harmless
}

// CPython: _TestPool.test_traceback
// Adapted: C++ exceptions carry no traceback; RemoteError keeps the remote exception's type and
// message and names the plugin, task and worker. An input error is not remote: it arrives as
// itself, unwrapped (CPython: it has no __cause__).
TEST_F(Errors, RemoteErrorKeepsTypeMessageTaskAndPid) {
  dlpool::Pool pool{options(1)};
  const int worker = pool.apply(worker_pid);
  try {
    pool.apply(fail_if_negative, -123);
    ADD_FAILURE() << "expected RemoteError";
  } catch (const dlpool::RemoteError& e) {
    EXPECT_EQ(e.remote_type(), "std::invalid_argument");
    EXPECT_EQ(e.remote_message(), "negative input -123");
    EXPECT_EQ(e.plugin(), "testkit");
    EXPECT_EQ(e.task(), "fail_if_negative");
    EXPECT_EQ(e.pid(), worker);
    const std::string what = e.what();
    EXPECT_NE(what.find("std::invalid_argument"), std::string::npos) << what;
    EXPECT_NE(what.find("negative input -123"), std::string::npos) << what;
  }
  try {
    pool.apply(throw_int, 5);
    ADD_FAILURE() << "expected RemoteError";
  } catch (const dlpool::RemoteError& e) {
    EXPECT_EQ(e.remote_type(), "int");  // not a std::exception, still named
    EXPECT_EQ(e.task(), "throw_int");
  }

  try {
    pool.map(square, exception_throwing_range(1, -1), 1);
    ADD_FAILURE() << "expected SayWhenError";
  } catch (const SayWhenError&) {
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the input's own exception must arrive unwrapped, got " << e.what();
  }
  auto it = pool.imap(square, exception_throwing_generator(1, -1));
  EXPECT_THROW((void)it.next(patience), SayWhenError);
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_map_no_failfast
// Both chunks fail with a 1 MiB message: map reports the first error once every chunk is in,
// error_callback runs once, and close() + join() do not deadlock on the large results.
TEST_F(Errors, MapFailuresWithLargeErrorsDoNotDeadlockJoin) {
  constexpr int mib = 1 << 20;
  dlpool::Pool pool{options(2)};
  std::atomic<int> errors{0}, successes{0};
  auto result = pool.map_async(fail_big, std::vector{mib, mib}, 1,
                               {.callback = [&](const std::vector<int>&) { ++successes; },
                                .error_callback = [&](std::exception_ptr) { ++errors; }});
  ASSERT_TRUE(result.wait(patience));
  EXPECT_EQ(errors.load(), 1);
  EXPECT_EQ(successes.load(), 0);
  try {
    (void)result.get();
    ADD_FAILURE() << "expected RemoteError";
  } catch (const dlpool::RemoteError& e) {
    EXPECT_EQ(e.remote_type(), "std::runtime_error");
    EXPECT_EQ(e.remote_message().size(), static_cast<std::size_t>(mib));
  }
  EXPECT_THROW(pool.map(fail_big, std::vector{mib, mib}, 1), dlpool::RemoteError);
  pool.close();
  pool.join();
}

// CPython: _TestPool.test_release_task_refs
// Adapted: once a call is done, the pool keeps nothing of it: its callbacks and its input (here an
// imap generator) are destroyed. Everything they captured is released by the time the pool is
// joined, while the Pool object still exists. (ASan covers the arguments and results themselves.)
TEST_F(TaskRefs, PoolReleasesCallbacksAndInputsOnceDone) {
  dlpool::Pool pool{options(2)};
  const auto token = std::make_shared<int>(0);
  {
    auto mapped = pool.map_async(
        square, iota_vector(10), std::nullopt,
        {.callback = [token](const std::vector<int>&) {}, .error_callback = [token](std::exception_ptr) {}});
    auto applied = pool.apply_async(
        fail_if_negative, {-1}, {.callback = [token](const int&) {}, .error_callback = [token](std::exception_ptr) {}});
    auto generated = pool.imap(square, [token, i = 0]() mutable -> std::optional<int> {
      if (i == 10) return std::nullopt;
      return i++;
    });
    EXPECT_EQ(mapped.get(patience), squares(10));
    EXPECT_TRUE(applied.wait(patience));
    EXPECT_EQ(drain(generated), squares(10));
  }
  pool.close();
  pool.join();
  EXPECT_EQ(token.use_count(), 1) << "the pool still holds callbacks or inputs of finished calls";
}

// CPython: _TestPool.test_enter
// Adapted: C++ has no __enter__; a terminated pool refuses every submission the same way.
TEST_F(Lifecycle, TerminatedPoolRefusesWork) {
  dlpool::Pool pool{options(1)};
  pool.terminate();
  expect_every_submission_refused(pool);
  pool.join();
  EXPECT_TRUE(test::child_pids().empty());
}

// CPython: _TestPool.test_resource_warning
// Adapted: a pool that is still running when it is destroyed is terminated by its destructor,
// which neither hangs nor leaves a child behind (the fixture checks the children).
TEST_F(Lifecycle, DestroyingARunningPoolTerminatesAndReaps) {
  std::vector<int> workers;
  {
    dlpool::Pool pool{options(2)};
    EXPECT_EQ(pool.apply(square, 3), 9);
    workers = pool.worker_pids();
  }
  EXPECT_EQ(workers.size(), 2u);
  EXPECT_TRUE(test::child_pids().empty());
}

}  // namespace
}  // namespace cpython_port
