// CPython's _TestPoolWorkerErrors, _TestPoolWorkerLifetime, TestInitializers and
// TestPoolNotLeakOnFailure tests, ported to dlpool. What is ported, what is left out and why, and
// how the tests hold tasks and check for leaks: see pool_port.hpp.

#include "cpython/pool_port.hpp"

#include <dlpool/pool.hpp>

#include "support/fifo.hpp"
#include "support/process_census.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>

// Inside the suite's namespace: the file is compiled with the other pool tests (one unity file, see
// tests/CMakeLists.txt), whose anonymous namespace uses namespace dlpool, where names such as
// AsyncResult would be ambiguous with this suite's fixtures.
namespace cpython_port {
namespace {

// ---------------------------------------------------------------------------------------------
// _TestPoolWorkerErrors

// CPython: _TestPoolWorkerErrors.test_async_error_callback
TEST_F(Errors, ErrorCallbackGetsTheErrorAndGetRethrowsIt) {
  dlpool::Pool pool{options(2)};
  std::exception_ptr scratchpad;  // written before the result is ready, read after wait()
  bool called_back = false;
  auto result = pool.apply_async(fail_if_negative, {-5},
                                 {.callback = [&](const int&) { called_back = true; },
                                  .error_callback = [&](std::exception_ptr e) { scratchpad = e; }});
  ASSERT_TRUE(result.wait(patience));
  EXPECT_FALSE(called_back);
  if (const auto e = exception_as<dlpool::RemoteError>(scratchpad)) {
    EXPECT_EQ(e->remote_type(), "std::invalid_argument");
    EXPECT_EQ(e->remote_message(), "negative input -5");
  }
  try {
    (void)result.get();
    ADD_FAILURE() << "expected RemoteError";
  } catch (const dlpool::RemoteError& e) {
    EXPECT_EQ(e.remote_type(), "std::invalid_argument");
  }

  // And the success callback, likewise done before ready.
  int seen = 0;
  auto fine = pool.apply_async(fail_if_negative, {5}, {.callback = [&](const int& v) { seen = v; }});
  ASSERT_TRUE(fine.wait(patience));
  EXPECT_EQ(seen, 5);
  pool.close();
  pool.join();
}

// CPython: _TestPoolWorkerErrors.test_unpickleable_result
// Adapted: a result that cannot be sent is one larger than the frame limit (repeat() makes 2 MiB
// from 1 KiB, the limit is 1 MiB). As CPython's MaybeEncodingError: the call fails with
// EncodingError through get() and error_callback, 20 times over, and no worker is lost.
TEST_F(Errors, UnencodableResultFailsOnlyThatCallAndKeepsWorkers) {
  auto o = options(2);
  o.max_frame_bytes = 1 << 20;
  dlpool::Pool pool{o};
  const auto workers = sorted(pool.worker_pids());
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::exception_ptr scratchpad;
    auto result = pool.apply_async(repeat, {std::string(1024, 'x'), 2048},
                                   {.error_callback = [&](std::exception_ptr e) { scratchpad = e; }});
    ASSERT_TRUE(result.wait(patience));
    EXPECT_THROW((void)result.get(), dlpool::EncodingError);
    (void)exception_as<dlpool::EncodingError>(scratchpad);
  }
  EXPECT_EQ(sorted(pool.worker_pids()), workers) << "a result that cannot be sent must not cost its worker";
  EXPECT_EQ(pool.apply(repeat, "ab", 3), "ababab");
  pool.close();
  pool.join();
}

// ---------------------------------------------------------------------------------------------
// _TestPoolWorkerLifetime

// CPython: _TestPoolWorkerLifetime.test_pool_worker_lifetime
// 100 tasks, at most 10 per worker: at least 10 different workers ran them, so the original 3
// were replaced, and no worker ran more than 10.
TEST_F(WorkerLifetime, WorkersAreReplacedAfterMaxTasks) {
  auto o = options(3);
  o.maxtasksperchild = 10;
  dlpool::Pool pool{o};
  const auto original = pool.worker_pids();
  ASSERT_EQ(original.size(), 3u);

  std::vector<dlpool::AsyncResult<int>> results;
  for (int i = 0; i < 100; ++i) results.push_back(pool.apply_async(worker_pid, {}));
  std::map<int, int> tasks_per_worker;
  for (auto& r : results) {
    ASSERT_TRUE(r.wait(patience));
    ++tasks_per_worker[r.get()];
  }
  for (const auto& [pid, tasks] : tasks_per_worker) {
    EXPECT_LE(tasks, 10) << "worker " << pid;
  }
  EXPECT_GE(tasks_per_worker.size(), 10u);
  const bool replaced = std::any_of(tasks_per_worker.begin(), tasks_per_worker.end(), [&](const auto& entry) {
    return std::find(original.begin(), original.end(), entry.first) == original.end();
  });
  EXPECT_TRUE(replaced);
  EXPECT_EQ(pool.map(square, iota_vector(100), 1), squares(100));  // results stay right throughout
  pool.close();
  pool.join();
}

// CPython: _TestPoolWorkerLifetime.test_pool_worker_lifetime_early_close
// close() while every task is still blocked (maxtasksperchild=1: each worker exits after its task
// and must be replaced for the rest), then the gates open: join() returns and every result is in.
TEST_F(WorkerLifetime, CloseBeforeTasksFinishDoesNotHang) {
  std::vector<test::Fifo> gates;
  for (int j = 0; j < 6; ++j) gates.push_back(fifo("gate" + std::to_string(j)));
  auto o = options(3);
  o.maxtasksperchild = 1;
  dlpool::Pool pool{o};
  std::vector<dlpool::AsyncResult<int>> results;
  for (int j = 0; j < 6; ++j)
    results.push_back(pool.apply_async(wait_fifo, {gates[static_cast<std::size_t>(j)].path(), j * j}));
  pool.close();
  for (auto& gate : gates) gate.release();
  pool.join();
  EXPECT_TRUE(test::child_pids().empty());
  for (int j = 0; j < 6; ++j) {
    auto& r = results[static_cast<std::size_t>(j)];
    ASSERT_TRUE(r.ready()) << "job " << j;
    EXPECT_EQ(r.get(), j * j);
  }
}

// CPython: _TestPoolWorkerLifetime.test_pool_maxtasksperchild_invalid (0 and -1)
TEST_F(Construction, MaxTasksPerChildBelowOneIsRefused) {
  for (const int max_tasks : {0, -1}) {
    SCOPED_TRACE(max_tasks);
    auto o = options(3);
    o.maxtasksperchild = max_tasks;
    expect_usage_error([&] { dlpool::Pool pool{o}; }, "maxtasksperchild must be a positive int or None");
  }
}

std::vector<int> map_squares_with(dlpool::Pool& pool) { return pool.map(square, iota_vector(10)); }

[[noreturn]] void exit_with_static_pool() {
  static dlpool::Pool pool{options(1)};  // destroyed by exit(), never closed
  std::exit(map_squares_with(pool) == squares(10) ? 0 : 1);
}

// Reachable from a global, so that LeakSanitizer does not count it: the point is a pool that
// nobody closes or destroys, not a leak report.
dlpool::Pool* leaked_pool = nullptr;

[[noreturn]] void exit_with_leaked_pool() {
  leaked_pool = new dlpool::Pool{options(1)};
  std::exit(map_squares_with(*leaked_pool) == squares(10) ? 0 : 1);
}

// CPython: _TestPoolWorkerLifetime.test_worker_finalization_via_atexit_handler_of_multiprocessing
// Adapted: a process that exits with a pool still open, held in a static (destroyed by exit) or
// never destroyed at all, exits with status 0. Run in a child process (a death test).
TEST_F(Lifecycle, StaticPoolAtExitExitsCleanly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exit_with_static_pool(), ::testing::ExitedWithCode(0), "");
}

// CPython: _TestPoolWorkerLifetime.test_worker_finalization_via_atexit_handler_of_multiprocessing
TEST_F(Lifecycle, LeakedPoolAtExitExitsCleanly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exit_with_leaked_pool(), ::testing::ExitedWithCode(0), "");
}

// ---------------------------------------------------------------------------------------------
// TestInitializers

// CPython: TestInitializers.test_pool_initializer
// The initializer runs in every worker before its first task, replacements included: 20 tasks at
// most 3 per worker means at least 7 workers, and every one of them had remembered the value.
TEST_F(Initializer, RunsInEveryWorkerIncludingReplacements) {
  auto o = options(2);
  o.maxtasksperchild = 3;
  o.initializer.emplace(remember, std::string{"initialized"});
  dlpool::Pool pool{o};
  std::vector<dlpool::AsyncResult<std::string>> results;
  for (int i = 0; i < 20; ++i) results.push_back(pool.apply_async(recall, {}));
  for (auto& r : results) {
    ASSERT_TRUE(r.wait(patience));
    EXPECT_EQ(r.get(), "initialized");
  }
  pool.close();
  pool.join();
}

// CPython: TestInitializers.test_pool_initializer, and CPython's worker, which runs the
// initializer as it starts, whatever the pool does next. A pool closed at once still runs it in
// every worker it started, and join() waits for that.
TEST_F(Initializer, RunsInEveryWorkerEvenWhenThePoolIsClosedAtOnce) {
  dlpool::test::TempDir dir;
  const auto path = (dir.path() / "initialized").string();
  const dlpool::Task<int(std::string, int)> note{"testkit", "note"};
  auto o = options(2);
  o.initializer.emplace(note, path, 7);
  {
    dlpool::Pool pool{o};
    pool.close();
    pool.join();
  }
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  EXPECT_EQ(text, "7\n7\n");
}

// CPython: TestInitializers.test_pool_initializer (a non-callable initializer: TypeError from the
// constructor). Adapted: an initializer naming an invalid plugin is refused by the constructor.
TEST_F(Initializer, InvalidPluginNameIsRefusedByTheConstructor) {
  auto o = options(2);
  o.initializer.emplace(dlpool::Task<void(std::string)>{"../testkit", "remember"}, std::string{"x"});
  EXPECT_THROW({ dlpool::Pool pool{o}; }, dlpool::PluginError);
}

// CPython: TestInitializers.test_pool_initializer (adapted)
// An initializer that cannot run (missing plugin or task, wrong signature) or that throws fails the
// pool's jobs with a PluginError (InitializerError) instead of hanging or respawning forever, and
// close() + join() still return.
TEST_F(Initializer, FailingInitializerFailsJobsInsteadOfHanging) {
  struct Case {
    const char* name;
    dlpool::Initializer initializer;
    bool throws;  // the initializer ran and threw: InitializerError specifically
  };
  const std::vector<Case> cases{
      {"missing task", dlpool::Initializer{dlpool::Task<void(std::string)>{"testkit", "no_such_task"}, "x"}, false},
      {"missing plugin", dlpool::Initializer{dlpool::Task<void(std::string)>{"no_such_plugin", "remember"}, "x"},
       false},
      {"wrong signature", dlpool::Initializer{dlpool::Task<void(int)>{"testkit", "remember"}, 1}, false},
      {"throws", dlpool::Initializer{fail_if_negative, -1}, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto o = options(2);
    o.initializer = c.initializer;
    dlpool::Pool pool{o};
    auto result = pool.apply_async(square, {3});
    ASSERT_TRUE(result.wait(patience)) << "a job of a pool whose initializer fails must fail, not hang";
    try {
      (void)result.get();
      ADD_FAILURE() << "expected a PluginError";
    } catch (const dlpool::PluginError& e) {
      if (c.throws) {
        EXPECT_NE(dynamic_cast<const dlpool::InitializerError*>(&e), nullptr) << e.what();
        EXPECT_NE(std::string{e.what()}.find("negative input -1"), std::string::npos) << e.what();
      }
    }
    EXPECT_THROW(pool.map(square, iota_vector(10)), dlpool::PluginError);
    pool.close();
    pool.join();
  }
}

// ---------------------------------------------------------------------------------------------
// TestPoolNotLeakOnFailure

// CPython: TestPoolNotLeakOnFailure.test_release_unused_processes
// A worker that cannot be started makes the constructor throw std::system_error, leaving no
// process and no fd behind.
TEST_F(Construction, MissingWorkerExecutableLeaksNothing) {
  auto o = options(5);
  o.worker_path = path("no-such-dlpool-worker");
  const auto fds = test::open_fd_count();
  EXPECT_THROW({ dlpool::Pool pool{o}; }, std::system_error);
  EXPECT_TRUE(test::child_pids().empty());
  EXPECT_EQ(test::open_fd_count(), fds);
}

/// Builds a 5-worker pool under every fd limit from "nothing fits" to "everything fits", so that
/// start-up fails at each point, including after some workers started (CPython's will_fail_in=3).
/// Returns the number of problems found; runs in a child process, as it lowers RLIMIT_NOFILE.
int sweep_fd_limits() {
  rlimit original{};
  ::getrlimit(RLIMIT_NOFILE, &original);
  const auto fds = test::open_fd_count();
  // New fds take the lowest free numbers, and the limit caps the number: sweep from the lowest
  // free one (nothing fits) to well past the highest open one (everything fits).
  std::set<int> open;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc/self/fd"})
    open.insert(std::stoi(entry.path().filename().string()));
  int lowest_free = 0;
  while (open.contains(lowest_free)) ++lowest_free;
  int problems = 0, failed = 0, started = 0;
  // Five workers need far fewer than 60 new fds: the last limits start the pool.
  for (int limit = lowest_free, free_below = 0; free_below < 60; free_below += open.contains(limit) ? 0 : 1, ++limit) {
    rlimit lowered = original;
    lowered.rlim_cur = static_cast<rlim_t>(limit);
    if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0) {
      std::perror("setrlimit");
      return 1;
    }
    try {
      dlpool::Pool pool{options(5)};
      ::setrlimit(RLIMIT_NOFILE, &original);
      ++started;
      pool.close();
      pool.join();
    } catch (const std::system_error&) {
      ++failed;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fd limit %d: expected std::system_error, got %s\n", limit, e.what());
      ++problems;
    }
    ::setrlimit(RLIMIT_NOFILE, &original);
    if (const auto children = test::child_pids(); !children.empty()) {
      std::fprintf(stderr, "fd limit %d: %zu child process(es) left\n", limit, children.size());
      ++problems;
      for (const int pid : children) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
    if (const auto now = test::open_fd_count(); now != fds) {
      std::fprintf(stderr, "fd limit %d: %zu fds open, %zu before\n", limit, now, fds);
      ++problems;
    }
  }
  if (failed < 2 || started == 0) {
    std::fprintf(stderr, "the sweep did not cover both outcomes: %d failed, %d started\n", failed, started);
    ++problems;
  }
  return problems;
}

// CPython: TestPoolNotLeakOnFailure.test_release_unused_processes (start-up failing after some
// workers have started, through a lowered fd limit; in a child process)
TEST_F(Construction, StartFailureAfterSomeWorkersLeaksNothing) {
#ifdef DLPOOL_UNDER_UBSAN
  // UBSan's vptr check probes an object's memory through a pipe of its own (sanitizer_common's
  // IsAccessibleMemoryRange); with the fd limit exhausted on purpose it cannot make one, and
  // reports a valid shared_ptr control block as having an invalid vptr. The other builds run it.
  GTEST_SKIP() << "the fd-limit sweep starves UBSan's vptr check of the pipe it needs";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::exit(sweep_fd_limits() == 0 ? 0 : 1), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace cpython_port
