// Observability: Pool::stats() (counts exact under a kill storm, latencies from histograms), the
// progress callback, and the trace (docs/trace-format.md), read back as a viewer would.

#include "support/pool_fixture.hpp"
#include "support/worker_killer.hpp"

#include "stats/histogram.hpp"

#include <dlpool/wire/json_parser.hpp>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <thread>

namespace {

using namespace dlpool;
using test::options;
using wire::JsonValue;

using test::square;
const Task<int(int)> fail_if_negative{"testkit", "fail_if_negative"};
using test::die;

class Observe : public test::PoolTest {};

const JsonValue* member(const JsonValue& object, std::string_view name) {
  for (std::size_t i = 0; i < object.names.size(); ++i)
    if (object.names[i] == name) return &object.items[i];
  return nullptr;
}

std::string text(const JsonValue& object, std::string_view name) {
  const auto* value = member(object, name);
  return value != nullptr ? value->text : std::string{};
}

/// The trace's events, each line parsed on its own as the format promises; `complete` says
/// whether the file ended with its closing line.
struct Trace {
  std::vector<JsonValue> events;
  JsonValue head;
  bool complete = false;

  explicit Trace(const std::filesystem::path& path) {
    std::ifstream in{path};
    std::string line;
    EXPECT_TRUE(std::getline(in, line));
    EXPECT_TRUE(line.ends_with(R"("traceEvents":[)")) << line;
    head = wire::parse_json(line + "]}");
    while (std::getline(in, line)) {
      if (line == "]}") {
        complete = true;
        continue;
      }
      if (line.ends_with(',')) line.pop_back();
      events.push_back(wire::parse_json(line));  // throws on anything but one JSON object
      EXPECT_EQ(events.back().kind, JsonValue::Kind::object) << line;
    }
  }

  [[nodiscard]] std::vector<const JsonValue*> where(std::string_view ph, std::string_view name) const {
    std::vector<const JsonValue*> found;
    for (const auto& e : events)
      if (text(e, "ph") == ph && (name.empty() || text(e, "name") == name)) found.push_back(&e);
    return found;
  }
};

double number(const JsonValue& object, std::string_view name) { return std::stod(text(object, name)); }

TEST(Histogram, KeepsEveryValueWithinOneSixtyFourthOfItself) {
  using detail::Histogram;
  for (std::uint64_t v : {0ull, 1ull, 63ull, 64ull, 65ull, 127ull, 128ull, 1000ull, 123456789ull, 1ull << 44}) {
    const auto i = Histogram::index(v);
    ASSERT_LT(i, Histogram::buckets);
    const auto low = Histogram::lowest(i);
    EXPECT_LE(low, v);
    EXPECT_LE(static_cast<double>(v - low), static_cast<double>(v) / 64.0) << v;
    EXPECT_GT(Histogram::lowest(i + 1), v) << v;
  }
  EXPECT_EQ(Histogram::index(~0ull), Histogram::buckets - 1);

  Histogram h;
  for (std::uint64_t v = 1; v <= 10'000; ++v) h.record(v * 1000);  // 1 µs .. 10 ms, uniform
  const auto l = h.latency();
  EXPECT_EQ(l.count, 10'000u);
  EXPECT_NEAR(static_cast<double>(l.p50.count()), 5e6, 5e6 / 64);
  EXPECT_NEAR(static_cast<double>(l.p90.count()), 9e6, 9e6 / 64);
  EXPECT_NEAR(static_cast<double>(l.p99.count()), 9.9e6, 9.9e6 / 64);
  EXPECT_EQ(l.max.count(), 10'000'000);
  EXPECT_EQ(l.mean.count(), 5'000'500);
  Histogram weighted;
  weighted.record(100, 3);
  weighted.record(1'000'000);
  EXPECT_EQ(weighted.latency().p50.count(), 100);  // the weight counts: 3 of 4 items took 100 ns
  EXPECT_EQ(weighted.latency().max.count(), 1'000'000);
}

TEST_F(Observe, StatsCountItemsAndTimeThemPerTask) {
  Pool pool{options(2)};
  EXPECT_EQ(pool.stats().items, ItemCounts{});
  std::vector<int> input(1000);
  std::iota(input.begin(), input.end(), 0);
  EXPECT_EQ(pool.map(square, input, 10).size(), 1000u);
  EXPECT_THROW(pool.apply(fail_if_negative, -1), RemoteError);
  EXPECT_EQ(pool.apply(fail_if_negative, 7), 7);

  const auto stats = pool.stats();
  EXPECT_EQ(stats.items.submitted, 1002u);
  EXPECT_EQ(stats.items.done, 1001u);
  EXPECT_EQ(stats.items.failed, 1u);
  EXPECT_EQ(stats.items.lost, 0u);
  EXPECT_EQ(stats.items.running + stats.items.queued, 0u);
  EXPECT_EQ(stats.workers_spawned, 2u);
  EXPECT_EQ(stats.workers_alive, 2u);
  EXPECT_EQ(stats.run_time.count, 1002u);
  EXPECT_EQ(stats.queue_wait.count, 1002u);
  EXPECT_LE(stats.run_time.p50, stats.run_time.p99);
  EXPECT_LE(stats.run_time.p99, stats.run_time.max);
  EXPECT_GT(stats.uptime.count(), 0);
  ASSERT_EQ(stats.tasks.size(), 2u);
  EXPECT_EQ(stats.tasks[0].task, "testkit.fail_if_negative");
  EXPECT_EQ(stats.tasks[0].items.submitted, 2u);
  EXPECT_EQ(stats.tasks[0].items.failed, 1u);
  EXPECT_EQ(stats.tasks[1].task, "testkit.square");
  EXPECT_EQ(stats.tasks[1].items.done, 1000u);
  EXPECT_EQ(stats.tasks[1].run_time.count, 1000u);
  pool.close();
  pool.join();
}

TEST_F(Observe, CountsAreExactUnderAKillStorm) {
  constexpr int items = 20'000;
  constexpr int kill_every = 500;  // outcomes
  const auto value = [](int i) { return i % 97 == 0 ? -1 : i; };  // every 97th fails

  // The progress callback sees the same numbers, last of all the final ones.
  std::mutex progress_mutex;
  std::optional<ItemCounts> last_progress;
  auto o = options(2);
  o.progress = [&](const ItemCounts& counts) {
    std::lock_guard lock{progress_mutex};
    if (last_progress) {
      EXPECT_GE(counts.submitted, last_progress->submitted);
      EXPECT_GE(counts.done, last_progress->done);
    }
    last_progress = counts;
  };
  o.progress_interval = std::chrono::milliseconds{1};
  Pool pool{o};
  std::vector<int> input(items);
  std::iota(input.begin(), input.end(), 0);
  std::ranges::transform(input, input.begin(), value);

  test::WorkerKiller killer{pool, 4242};
  std::uint64_t done = 0, failed = 0, lost = 0, outcomes = 0;
  auto it = pool.imap(fail_if_negative, input, 10);
  for (;;) {
    try {
      if (!it.next()) break;
      ++done;
    } catch (const WorkerLostError&) {
      ++lost;
    } catch (const RemoteError&) {
      ++failed;
    }
    if (++outcomes % kill_every == 0) killer.ask();
  }
  killer.stop();
  pool.close();
  pool.join();

  const auto stats = pool.stats();
  EXPECT_EQ(outcomes, static_cast<std::uint64_t>(items));
  EXPECT_EQ(stats.items.submitted, static_cast<std::uint64_t>(items));
  EXPECT_EQ(stats.items.done, done);
  EXPECT_EQ(stats.items.failed, failed);
  EXPECT_EQ(stats.items.lost, lost);
  EXPECT_EQ(stats.items.done + stats.items.failed + stats.items.lost, stats.items.submitted);
  EXPECT_GT(failed, 0u);  // a failing item fails its chunk of 10 (unless its worker is killed first)
  EXPECT_GT(stats.workers_lost, 0u);
  // Each lost worker is replaced, but for one lost as the pool closed.
  EXPECT_GE(stats.workers_spawned, 1 + stats.workers_lost);
  EXPECT_LE(stats.workers_spawned, 2 + stats.workers_lost);
  EXPECT_EQ(stats.items.running + stats.items.queued, 0u);
  ASSERT_EQ(stats.tasks.size(), 1u);
  EXPECT_EQ(stats.tasks[0].items.done, done);
  EXPECT_EQ(stats.tasks[0].items.lost, lost);
  EXPECT_EQ(stats.tasks[0].items.retried, stats.items.retried);
  std::lock_guard lock{progress_mutex};
  ASSERT_TRUE(last_progress);
  EXPECT_EQ(*last_progress, stats.items);  // join() waits for the last progress call
}

TEST_F(Observe, TerminateCountsWhatItAbandonsAsFailed) {
  test::TempDir dir;
  test::Fifo gate{dir.path() / "gate"};
  Pool pool{options(1)};
  auto held = pool.apply_async(Task<int(std::string, int)>{"testkit", "wait_fifo"}, {gate.path(), 1});
  auto queued = pool.map_async(square, std::vector{1, 2, 3}, 1);
  pool.terminate();
  pool.join();
  EXPECT_THROW(held.get(), PoolTerminated);
  const auto stats = pool.stats();
  EXPECT_EQ(stats.items.done + stats.items.failed + stats.items.lost, stats.items.submitted);
  EXPECT_EQ(stats.items.queued + stats.items.running, 0u);
}

TEST_F(Observe, TraceShowsEveryChunkOnItsWorkerWithFlowsAndEveryLoss) {
  test::let_workers_die_by_signal();
  test::TempDir dir;
  const auto path = dir.path() / "trace.json";
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<TraceEvent> received;
  auto o = options(2);
  o.trace = TraceOptions{path.string(), [&](const TraceEvent& e) {
                           std::lock_guard lock{mutex};
                           received.push_back(e);
                           cv.notify_all();
                         }};
  const auto spawned = [&] {
    return std::ranges::count_if(received, [](const auto& e) { return e.kind == TraceEvent::Kind::worker_spawned; });
  };
  Pool pool{o};
  std::vector<int> input(100);
  std::iota(input.begin(), input.end(), 0);
  EXPECT_EQ(pool.map(square, input, 10).size(), 100u);
  EXPECT_THROW(pool.apply(fail_if_negative, -1), RemoteError);
  EXPECT_THROW(pool.apply(die, SIGKILL), WorkerLostError);
  {
    std::unique_lock lock{mutex};  // its replacement is started (the trace says so)
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds{30}, [&] { return spawned() == 3; }));
  }
  pool.trace_mark("phase", "{\n  \"n\": 2\n}");  // the file keeps it on one line
  EXPECT_THROW(pool.trace_mark("bad", "[1]"), UsageError);
  EXPECT_EQ(pool.apply(square, 3), 9);  // on the replacement too
  pool.close();
  pool.join();

  const Trace trace{path};
  EXPECT_TRUE(trace.complete);
  EXPECT_EQ(text(*member(trace.head, "otherData"), "tool"), "dlpool");

  // Chunks: a run on a worker's track for each, joined to its send and delivery by a flow.
  const auto runs = trace.where("X", "testkit.square");
  EXPECT_EQ(runs.size(), 11u);  // 10 chunks of the map and the last apply
  std::map<std::string, std::set<std::string>> flows;  // bind_id -> the names bound to it
  for (const auto& e : trace.events)
    if (member(e, "bind_id") != nullptr) flows[text(e, "bind_id")].insert(text(e, "name"));
  EXPECT_EQ(flows.size(), 13u);  // every chunk, the lost one's too
  for (const auto* run : runs) {
    EXPECT_GE(number(*run, "pid"), 2);
    const auto& args = *member(*run, "args");
    EXPECT_EQ(text(args, "status"), "ok");
    EXPECT_EQ(text(args, "task"), "testkit.square");
    EXPECT_GE(number(args, "wait_us"), 0);
    EXPECT_EQ(flows[text(*run, "bind_id")], (std::set<std::string>{"send", "testkit.square", "deliver"}));
    // Its run lies between its send and its delivery.
    for (const auto& e : trace.events) {
      if (text(e, "bind_id") != text(*run, "bind_id")) continue;
      if (text(e, "name") == "send") {
        EXPECT_LE(number(e, "ts"), number(*run, "ts"));
      } else if (text(e, "name") == "deliver") {
        EXPECT_LE(number(*run, "ts") + number(*run, "dur"), number(e, "ts") + 0.001);
      }
    }
  }
  const auto failed = trace.where("X", "testkit.fail_if_negative");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(text(*member(*failed[0], "args"), "status"), "error");
  EXPECT_NE(text(*member(*failed[0], "args"), "error").find("negative input -1"), std::string::npos);
  const auto died = trace.where("X", "testkit.die");
  ASSERT_EQ(died.size(), 1u);
  EXPECT_EQ(text(*member(*died[0], "args"), "status"), "lost");

  // Workers: spawned, ready, their plugin, the loss and its replacement.
  EXPECT_EQ(trace.where("i", "spawned").size(), 3u);
  EXPECT_EQ(trace.where("i", "ready").size(), 3u);
  const auto lost = trace.where("i", "lost");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_NE(text(*member(*lost[0], "args"), "cause").find("SIGKILL"), std::string::npos);
  EXPECT_TRUE(member(*member(*lost[0], "args"), "chunk_lost")->boolean);
  bool replaced = false;
  for (const auto* e : trace.where("i", "spawned"))
    if (const auto* r = member(*member(*e, "args"), "replaces")) replaced = r->text == text(*lost[0], "tid");
  EXPECT_TRUE(replaced);
  const auto plugins = trace.where("i", "plugin loaded");
  ASSERT_FALSE(plugins.empty());
  EXPECT_EQ(text(*member(*plugins[0], "args"), "name"), "testkit");
  EXPECT_EQ(text(*member(*plugins[0], "args"), "sha256").size(), 64u);
  EXPECT_EQ(trace.where("i", "close").size(), 1u);
  EXPECT_EQ(trace.where("i", "phase").size(), 1u);
  EXPECT_EQ(trace.where("i", "exited").size(), 2u);  // the two that close() let go

  // Each worker's track is named, under the process of its node.
  std::set<std::string> named;
  for (const auto* m : trace.where("M", "thread_name")) named.insert(text(*member(*m, "args"), "name"));
  EXPECT_TRUE(named.contains("task handler") && named.contains("result handler") && named.contains("worker handler"));
  EXPECT_EQ(
      std::ranges::count_if(named, [](const auto& n) { return n.starts_with("worker ") && n != "worker handler"; }), 3)
      << testing::PrintToString(named);

  // The callback got the same chunks, with the times of each in order.
  std::lock_guard lock{mutex};
  const auto chunks =
      std::ranges::count_if(received, [](const TraceEvent& e) { return e.kind == TraceEvent::Kind::chunk; });
  EXPECT_EQ(chunks, 13);
  for (const auto& e : received)
    if (e.kind == TraceEvent::Kind::chunk && e.ok) {
      EXPECT_LE(e.submitted, e.sent);
      EXPECT_LE(e.sent, e.started);
      EXPECT_LE(e.started, e.finished);
      EXPECT_LE(e.finished, e.received);
      EXPECT_LE(e.received, e.time);
    }
}

TEST_F(Observe, AProgressIntervalOutOfRangeIsRefused) {
  for (const auto interval : {std::chrono::milliseconds{0}, std::chrono::milliseconds{-5},
                              std::chrono::milliseconds{std::chrono::hours{25}}}) {
    auto o = options(1);
    o.progress_interval = interval;
    EXPECT_THROW(Pool{o}, UsageError) << interval.count();
  }
}

TEST_F(Observe, ATraceFileThatCannotBeOpenedIsAnErrorNamingIt) {
  auto o = options(1);
  o.trace = TraceOptions{"/nonexistent-dir/trace.json", {}};
  try {
    Pool pool{o};
    FAIL() << "expected the pool to refuse the trace file";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string{e.what()}.find("/nonexistent-dir/trace.json"), std::string::npos) << e.what();
  }
}

TEST_F(Observe, AFullDiskEndsTheTraceNotThePool) {
  auto o = options(1);
  o.trace = TraceOptions{"/dev/full", {}};
  Pool pool{o};
  std::vector<int> input(1000);
  std::iota(input.begin(), input.end(), 0);
  EXPECT_EQ(pool.map(square, input, 1).size(), 1000u);
  pool.close();
  pool.join();
}

}  // namespace
