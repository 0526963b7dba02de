// The Pool beyond CPython's own tests: typed values, error kinds, worker loss, callbacks.

#include "support/pool_fixture.hpp"
#include "testkit_types.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <future>
#include <initializer_list>
#include <iterator>
#include <map>
#include <numeric>
#include <ranges>
#include <variant>

#include <sched.h>
#include <sys/wait.h>

namespace {

using namespace dlpool;
using namespace std::chrono_literals;
using test::options;

class Pool_ : public test::PoolTest {};

using test::square;

using test::die;
using test::let_workers_die_by_signal;
using test::wait_fifo;

TEST_F(Pool_, CarriesStructsStringsAndContainers) {
  Pool pool{options()};
  EXPECT_EQ(pool.apply(Task<testkit::Point(testkit::Point)>{"testkit", "mirror"}, testkit::Point{1, 2}),
            (testkit::Point{2, 1}));
  EXPECT_EQ(pool.apply(Task<std::string(std::string, int)>{"testkit", "repeat"}, "ab", 3), "ababab");
  const auto counts = pool.apply(Task<std::map<std::string, int>(std::vector<std::string>)>{"testkit", "count_words"},
                                 std::vector<std::string>{"a", "b", "a"});
  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 2}, {"b", 1}}));
  pool.apply(Task<void(int)>{"testkit", "nothing"}, 1);
  EXPECT_EQ(pool.map(Task<void(int)>{"testkit", "nothing"}, std::vector{1, 2}).size(), 2u);
  pool.close();
  pool.join();
}

TEST_F(Pool_, JsonTasksTakeAndGiveJsonText) {
  Pool pool{options(1)};
  EXPECT_EQ(pool.apply(JsonTask{"testkit", "repeat"}, R"(["ab", 3])"), R"("ababab")");
  EXPECT_EQ(pool.apply(JsonTask{"testkit", "mirror"}, R"([{"x": 1, "y": 2}])"), R"({"x":2,"y":1})");
  EXPECT_THROW(pool.apply(JsonTask{"testkit", "repeat"}, R"([3, "ab"])"), EncodingError);
  pool.close();
  pool.join();
}

TEST_F(Pool_, BadRequestsFailTheirOwnFutureAndThePoolKeepsServing) {
  Pool pool{options()};
  EXPECT_THROW(pool.apply(Task<int(int)>{"nosuch", "f"}, 1), PluginNotFound);
  EXPECT_THROW(pool.apply(Task<int(int)>{"testkit", "nosuch"}, 1), TaskNotFound);
  EXPECT_THROW(pool.apply(Task<long(int)>{"testkit", "square"}, 1), SignatureMismatch);
  EXPECT_THROW((void)pool.apply_async(Task<int(int)>{"../x", "f"}, {1}), PluginNotFound);
  EXPECT_THROW((void)pool.apply_async(Task<int(int)>{"a/b", "f"}, {1}), PluginNotFound);
  try {
    pool.apply(Task<int(int)>{"testkit", "throw_int"}, 1);
    FAIL();
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.remote_type(), "int");
  }
  EXPECT_EQ(pool.apply(square, 5), 25);
  pool.close();
  pool.join();
}

TEST_F(Pool_, AnItemFailingAfterOthersInItsChunkReportsItsOwnError) {
  // Found by the task fuzzer: the error record of a chunk's later item came back with the results
  // of the items before it in front, which the host took for a malformed frame.
  Pool pool{options(1)};
  const int pid = pool.apply(Task<int()>{"testkit", "pid"});
  const Task<int(int)> fail_if_negative{"testkit", "fail_if_negative"};
  try {
    (void)pool.map(fail_if_negative, std::vector{1, 2, -3, 4}, 4);
    FAIL() << "no RemoteError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.remote_type(), "std::invalid_argument");
    EXPECT_EQ(e.remote_message(), "negative input -3");
  }
  EXPECT_EQ(pool.apply(Task<int()>{"testkit", "pid"}), pid) << "the worker was not taken for a liar";
  pool.close();
  pool.join();
}

TEST_F(Pool_, PluginsThatDoNotLoadSayWhyAndThePoolKeepsServing) {
  test::TempDir dir;  // a plugin dir holding files that are not shared objects at all
  { std::ofstream{dir.path() / "libgarbage.so"} << "not an ELF file"; }
  { std::ofstream{dir.path() / "libempty.so"}; }
  {  // the first half of a real plugin: its section headers, at the end, are missing
    std::ifstream in{std::string{DLPOOL_TEST_PLUGIN_DIR} + "/libtestkit.so", std::ios::binary};
    std::string bytes{std::istreambuf_iterator<char>{in}, {}};
    ASSERT_GT(bytes.size(), 1000u);
    std::ofstream{dir.path() / "libhalf.so", std::ios::binary}.write(bytes.data(),
                                                                     static_cast<std::streamsize>(bytes.size() / 2));
  }
  auto o = options(1);
  o.plugin_path.push_back(dir.path().string());
  Pool pool{o};
  const auto message_of = [&](const std::string& plugin) -> std::string {
    try {
      pool.apply(Task<int(int)>{plugin, "call_missing"}, 1);
    } catch (const PluginLoadError& e) {
      return e.what();
    }
    return "no PluginLoadError";
  };
  EXPECT_NE(message_of("unresolved").find("undefined symbol: dlpool_test_symbol_that_does_not_exist"),
            std::string::npos)
      << message_of("unresolved");
  EXPECT_NE(message_of("garbage").find("libgarbage.so) is not an ELF file"), std::string::npos)
      << message_of("garbage");
  EXPECT_NE(message_of("empty").find("libempty.so) is not an ELF file"), std::string::npos) << message_of("empty");
  EXPECT_NE(message_of("half").find("libhalf.so) is truncated: its section headers end past its"), std::string::npos)
      << message_of("half");
  EXPECT_NE(message_of("notaplugin").find("is not a dlpool plugin"), std::string::npos) << message_of("notaplugin");
  EXPECT_NE(message_of("misnamed").find("declares itself as plugin 'somethingelse'"), std::string::npos)
      << message_of("misnamed");
  EXPECT_EQ(pool.apply(square, 4), 16);
  pool.close();
  pool.join();
}

TEST_F(Pool_, ATaskThatCrashesFailsOnlyItsChunkAndTheWorkerIsReplaced) {
  let_workers_die_by_signal();
  Pool pool{options(2)};
  for (const int sig : {SIGSEGV, SIGABRT, 0}) {
    try {
      pool.apply(die, sig);
      FAIL() << "no error for signal " << sig;
    } catch (const WorkerLostError& e) {
      if (sig != 0) {
        EXPECT_TRUE(WIFSIGNALED(e.wait_status()));
        EXPECT_EQ(WTERMSIG(e.wait_status()), sig);
      } else {
        EXPECT_TRUE(WIFEXITED(e.wait_status()));
      }
      EXPECT_NE(std::string{e.what()}.find("testkit.die"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(pool.map(square, std::vector{1, 2, 3, 4}), (std::vector{1, 4, 9, 16}));
  pool.close();
  pool.join();
}

TEST_F(Pool_, AWorkerKilledFromOutsideFailsOnlyWhatItHeld) {
  test::TempDir dir;
  test::Fifo gate{dir.path() / "gate"};
  Pool pool{options(2)};
  const auto pids = pool.worker_pids();
  ASSERT_EQ(pids.size(), 2u);
  auto blocked = pool.apply_async(wait_fifo, {gate.path(), 1});
  // While one worker is blocked, only the other can answer: the blocked task is in the one that
  // did not.
  const int idle = pool.apply(Task<int()>{"testkit", "pid"});
  const int busy = pids[0] == idle ? pids[1] : pids[0];
  ::kill(busy, SIGKILL);
  try {
    blocked.get();
    FAIL();
  } catch (const WorkerLostError& e) {
    EXPECT_EQ(e.pid(), busy);
    EXPECT_EQ(WTERMSIG(e.wait_status()), SIGKILL);
  }
  EXPECT_EQ(pool.map(square, std::vector{5, 6, 7, 8}), (std::vector{25, 36, 49, 64}));
  const auto now = pool.worker_pids();  // the replacement may still be starting
  EXPECT_TRUE(std::find(now.begin(), now.end(), busy) == now.end());
  EXPECT_TRUE(std::find(now.begin(), now.end(), idle) != now.end());
  pool.close();
  pool.join();
}

TEST_F(Pool_, AChunkFailingAfterItsFirstItemReportsThatItemsErrorAndTheWorkerCarriesOn) {
  // The items before the failing one have already written their results when it throws: the
  // error record must still be told apart from them.
  Pool pool{options(1)};
  const Task<int(int)> fail_if_negative{"testkit", "fail_if_negative"};
  try {
    (void)pool.map(fail_if_negative, std::vector{1, 2, -3, 4}, 4);
    ADD_FAILURE() << "map returned";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.remote_type(), "std::invalid_argument");
    EXPECT_EQ(e.remote_message(), "negative input -3");
  }
  const auto pid = pool.workers().at(0).pid;
  EXPECT_EQ(pool.map(fail_if_negative, std::vector{5, 6}, 2), (std::vector{5, 6}));
  EXPECT_EQ(pool.workers().at(0).pid, pid) << "a task's exception does not cost its worker";
  pool.close();
  pool.join();
}

TEST_F(Pool_, ImapReportsAFailedChunkAtEachOfItsPositionsAndGoesOn) {
  Pool pool{options(2)};
  auto it = pool.imap(Task<int(int)>{"testkit", "fail_if_negative"}, std::vector{1, 2, -3, 4, 5, 6}, 2);
  EXPECT_EQ(it.next(), 1);
  EXPECT_EQ(it.next(), 2);
  EXPECT_THROW(it.next(), RemoteError);
  EXPECT_THROW(it.next(), RemoteError);
  EXPECT_EQ(it.next(), 5);
  EXPECT_EQ(it.next(), 6);
  EXPECT_EQ(it.next(), std::nullopt);
  pool.close();
  pool.join();
}

TEST_F(Pool_, ACallbackThatThrowsFailsItsOwnResultOnly) {
  Pool pool{options(1)};
  auto bad = pool.apply_async(square, {2}, {.callback = [](const int&) { throw std::logic_error{"callback"}; }});
  EXPECT_THROW(bad.get(), std::logic_error);
  std::promise<int> seen;
  auto good = pool.apply_async(square, {3}, {.callback = [&](const int& v) { seen.set_value(v); }});
  EXPECT_EQ(good.get(), 9);
  EXPECT_EQ(seen.get_future().get(), 9);
  pool.close();
  pool.join();
}

TEST_F(Pool_, WaitingOnThePoolFromItsOwnCallbackIsAUsageErrorNotADeadlock) {
  // Callbacks run on the result-handler thread: a callback that waits for a result of its own
  // pool waits for itself. Each blocking call says so at once instead.
  test::TempDir dir;
  test::Fifo gate{dir.path() / "gate"};
  Pool pool{options(2)};
  auto pending = pool.apply_async(wait_fifo, {gate.path(), 1});
  auto ready = pool.apply_async(square, {5});
  ASSERT_EQ(ready.get(), 25);
  std::promise<std::vector<std::string>> seen;
  auto outer =
      pool.apply_async(square, {3}, {.callback = [&](const int&) {
                         std::vector<std::string> what;
                         const auto attempt = [&](auto&& call) {
                           try {
                             call();
                             what.emplace_back("returned");
                           } catch (const UsageError& e) {
                             what.emplace_back(e.what());
                           } catch (const std::exception& e) {
                             what.push_back(std::string{"other: "} + e.what());
                           }
                         };
                         attempt([&] { (void)pool.apply(square, 2); });
                         attempt([&] { (void)pool.map(square, std::vector{1, 2}); });
                         attempt([&] { (void)pool.starmap(square, std::vector<std::tuple<int>>{{1}}); });
                         attempt([&] { (void)pending.get(); });
                         attempt([&] { pending.wait(); });
                         attempt([&] { (void)pool.imap(square, std::vector{1}).next(); });
                         attempt([&] { pool.restart(); });  // waits for old workers, which the result thread retires
                         attempt([&] { (void)ready.get(); });  // ready: nothing to wait for
                         seen.set_value(std::move(what));
                       }});
  auto future = seen.get_future();
  ASSERT_EQ(future.wait_for(60s), std::future_status::ready) << "a callback waited for its own pool";
  const auto what = future.get();
  ASSERT_EQ(what.size(), 8u);
  for (std::size_t i = 0; i < 7; ++i)
    EXPECT_NE(what[i].find("from a callback of the same pool would wait for the thread running it"), std::string::npos)
        << i << ": " << what[i];
  EXPECT_EQ(what[7], "returned");
  EXPECT_EQ(outer.get(), 9);
  gate.release();
  EXPECT_EQ(pending.get(), 1);
  pool.close();
  pool.join();
}

TEST_F(Pool_, ImapOverAnEndlessInputEndsOnceAfterTerminate) {
  Pool pool{options(1)};
  int next = 0;
  auto it = pool.imap(
      square, [&next]() -> std::optional<int> { return next++; }, 1);
  EXPECT_EQ(it.next(), 0);
  pool.terminate();
  int values = 0, terminated = 0;
  for (int round = 0; round < 1'000'000; ++round) {
    try {
      if (!it.next()) break;
      ++values;
    } catch (const PoolTerminated&) {
      ++terminated;
    }
  }
  EXPECT_EQ(terminated, 1);
  EXPECT_EQ(it.next(), std::nullopt);
  pool.join();
}

TEST_F(Pool_, WorkersThatCannotStartFailTheWorkInsteadOfRespawningForever) {
  auto o = options(2);
  o.worker_path = "/bin/false";  // spawns fine, exits 1 before saying HELLO
  Pool pool{o};
  auto result = pool.apply_async(square, {3});
  ASSERT_TRUE(result.wait(30s));
  EXPECT_THROW(result.get(), WorkerStartError);
  pool.close();
  pool.join();
}

TEST_F(Pool_, AnInitializerThatCrashesFailsTheWorkInsteadOfRespawningForever) {
  let_workers_die_by_signal();
  auto o = options(2);
  o.initializer.emplace(die, SIGSEGV);
  Pool pool{o};
  auto result = pool.apply_async(square, {3});
  ASSERT_TRUE(result.wait(30s));
  EXPECT_THROW(result.get(), InitializerError);
  pool.close();
  pool.join();
}

TEST_F(Pool_, ArgumentsOverTheFrameLimitFailTheirCallAndSpareTheWorker) {
  auto o = options(1);
  o.max_frame_bytes = 4096;
  Pool pool{o};
  const int pid = pool.apply(Task<int()>{"testkit", "pid"});
  EXPECT_THROW(pool.apply(Task<std::string(std::string)>{"testkit", "echo"}, std::string(10000, 'x')), EncodingError);
  EXPECT_EQ(pool.apply(Task<int()>{"testkit", "pid"}), pid);
  pool.close();
  pool.join();
}

TEST_F(Pool_, TerminateAfterCloseStopsWorkersThatDoNotExit) {
  Pool pool{options(1)};
  EXPECT_EQ(pool.apply(square, 2), 4);
  const auto pids = pool.worker_pids();
  ASSERT_EQ(pids.size(), 1u);
  ::kill(pids[0], SIGSTOP);  // will never read the EOF that close() sends it
  pool.close();
  auto joined = std::async(std::launch::async, [&] { pool.join(); });
  pool.terminate();
  ASSERT_EQ(joined.wait_for(30s), std::future_status::ready);
  joined.get();
}

TEST_F(Pool_, AHostThatIgnoresSigchldStillGetsWorkerLossRight) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // SIGCHLD ignored: the kernel reaps workers itself, and waitpid() answers ECHILD.
  EXPECT_EXIT(
      {
        std::signal(SIGCHLD, SIG_IGN);
        Pool pool{options(1)};
        bool ok = pool.apply(square, 3) == 9;
        try {
          pool.apply(die, SIGKILL);
          ok = false;
        } catch (const WorkerLostError&) {
        }
        ok = ok && pool.apply(square, 4) == 16;
        pool.close();
        pool.join();
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(Pool_, RangeForOverImap) {
  Pool pool{options(2)};
  std::vector<int> out;
  for (int v : pool.imap(square, std::vector{1, 2, 3}, 1)) out.push_back(v);
  EXPECT_EQ(out, (std::vector{1, 4, 9}));
  pool.close();
  pool.join();
}

TEST_F(Pool_, InputsAreHeldOrCopiedSoThatTheCallerMayDropThem) {
  Pool pool{options(2)};
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) expected[static_cast<std::size_t>(i)] = i * i;
  // An iota and an rvalue vector are held as they are, not copied into argument tuples.
  auto from_iota = pool.map_async(square, std::views::iota(0, 100), 7);
  auto from_moved = pool.map_async(square, std::vector<int>(expected.size(), 3), 7);
  std::vector<int> out;
  for (int v : pool.imap(square, std::views::iota(0, 100), 3)) out.push_back(v);
  EXPECT_EQ(out, expected);
  // An lvalue is copied: what the caller does with it afterwards changes nothing.
  std::vector<int> input(100);
  std::iota(input.begin(), input.end(), 0);
  auto from_lvalue = pool.map_async(square, input, 7);
  std::ranges::fill(input, -1);
  input.clear();
  input.shrink_to_fit();
  EXPECT_EQ(from_lvalue.get(), expected);
  EXPECT_EQ(from_iota.get(), expected);
  EXPECT_EQ(from_moved.get(), std::vector<int>(expected.size(), 9));
  EXPECT_EQ(pool.map(square, std::views::iota(0, 0)), std::vector<int>{});
  const std::vector<int> fixed(3, 2);
  EXPECT_EQ(pool.map(square, std::move(fixed)), std::vector<int>(3, 4));  // a const rvalue is copied
  EXPECT_EQ(pool.map(square, std::initializer_list<int>{1, 2, 3}), (std::vector{1, 4, 9}));
  // An rvalue range that is no view but does not own its elements either is copied too.
  struct Borrowed {
    const int* first;
    const int* last;
    [[nodiscard]] const int* begin() const { return first; }
    [[nodiscard]] const int* end() const { return last; }
  };
  std::vector<int> data(100);
  std::iota(data.begin(), data.end(), 0);
  auto from_borrowed = pool.map_async(square, Borrowed{data.data(), data.data() + data.size()}, 7);
  std::ranges::fill(data, -1);
  data.clear();
  data.shrink_to_fit();
  EXPECT_EQ(from_borrowed.get(), expected);
  pool.close();
  pool.join();
}

TEST_F(Pool_, NextIndexedNamesEachItemAndHandsErrorsBack) {
  Pool pool{options(2)};
  const Task<int(int)> fail_if_negative{"testkit", "fail_if_negative"};
  const std::vector<int> input{0, 1, -2, 3, -4, 5, 6, 7};
  for (const bool ordered : {true, false}) {
    auto it = ordered ? pool.imap(fail_if_negative, input, 2) : pool.imap_unordered(fail_if_negative, input, 1);
    std::map<std::size_t, std::variant<int, std::exception_ptr>> seen;
    std::vector<std::size_t> order;
    while (auto next = it.next_indexed()) {
      EXPECT_TRUE(seen.emplace(next->index, next->outcome).second) << "index " << next->index << " twice";
      order.push_back(next->index);
    }
    ASSERT_EQ(seen.size(), input.size());
    if (ordered) {
      EXPECT_TRUE(std::ranges::is_sorted(order));
    }
    for (std::size_t i = 0; i < input.size(); ++i) {
      // Chunks of two when ordered: -2 and -4 fail their whole chunk.
      const bool fails = ordered ? (input[i & ~std::size_t{1}] < 0 || input[i | 1] < 0) : input[i] < 0;
      if (fails) {
        ASSERT_TRUE(std::holds_alternative<std::exception_ptr>(seen[i])) << i;
        EXPECT_THROW(std::rethrow_exception(std::get<std::exception_ptr>(seen[i])), RemoteError);
      } else {
        ASSERT_TRUE(std::holds_alternative<int>(seen[i])) << i;
        EXPECT_EQ(std::get<int>(seen[i]), input[i]);
      }
    }
  }
  pool.close();
  pool.join();
}

TEST_F(Pool_, WorkersStartTasksInTheOrderTheyWereSubmitted) {
  // One worker, held until everything is queued: the map's chunks are then given out one by one
  // as it answers (by the result handler, the chunk next in line being encoded already), and the
  // calls submitted after the map must still wait for all of it, as in CPython.
  test::TempDir dir;
  test::Fifo gate{dir.path() / "gate"};
  const auto log = (dir.path() / "started").string();
  const Task<int(std::string, int)> note{"testkit", "note"};
  Pool pool{options(1)};
  auto held = pool.apply_async(wait_fifo, {gate.path(), 0});
  std::vector<std::tuple<std::string, int>> first, last;
  for (int i = 1; i <= 5; ++i) first.emplace_back(log, i);
  for (int i = 7; i <= 9; ++i) last.emplace_back(log, i);
  auto a = pool.starmap_async(note, first, 1);
  auto b = pool.apply_async(note, {log, 6});
  auto c = pool.starmap_async(note, last, 1);
  gate.release();
  EXPECT_EQ(held.get(), 0);
  EXPECT_EQ(a.get(), (std::vector{1, 2, 3, 4, 5}));
  EXPECT_EQ(b.get(), 6);
  EXPECT_EQ(c.get(), (std::vector{7, 8, 9}));
  std::ifstream in{log};
  std::vector<int> started{std::istream_iterator<int>{in}, {}};
  EXPECT_EQ(started, (std::vector{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  pool.close();
  pool.join();
}

TEST_F(Pool_, WorkersRunUnderBatchSchedulingUnlessToldOtherwise) {
  for (const bool batch : {true, false}) {
    auto opts = options(1);
    opts.batch_scheduling = batch;
    Pool pool{opts};
    const int pid = pool.apply(Task<int()>{"testkit", "pid"});  // it answered: set up as it runs tasks
    EXPECT_EQ(::sched_getscheduler(pid), batch ? SCHED_BATCH : ::sched_getscheduler(0)) << "batch_scheduling " << batch;
    pool.close();
    pool.join();
  }
}

TEST_F(Pool_, PluginOutputDoesNotDisturbResults) {
  Pool pool{options(1)};
  EXPECT_EQ(pool.map(Task<int(int)>{"testkit", "chatty"}, std::vector{1, 2, 3}), (std::vector{1, 2, 3}));
  pool.close();
  pool.join();
}

TEST_F(Pool_, LargePayloadsRoundTrip) {
  Pool pool{options(1)};
  std::string blob(3 << 20, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 131);
  EXPECT_EQ(pool.apply(Task<std::string(std::string)>{"testkit", "echo"}, blob), blob);
  pool.close();
  pool.join();
}

}  // namespace
