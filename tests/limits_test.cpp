// Resource limits per worker (PoolOptions::limits): a task that eats memory, burns CPU or opens
// files without end fails with an error naming the limit, its worker is replaced, and the host
// and the other work are untouched. The rlimit path: the cgroup v2 one needs a delegated
// directory, which these machines do not have (their cgroups are v1); that it is refused with
// the reason, and rlimits used instead, is tested.

#include "support/pool_fixture.hpp"

#include "sys/sanitizers.hpp"

#include <cstdint>
#include <string>

namespace {

using namespace dlpool;
using namespace std::chrono_literals;
using test::options;

const Task<std::uint64_t(std::uint64_t)> eat_memory{"rogue", "eat_memory"};
const Task<int(std::uint64_t)> hold_memory{"rogue", "hold_memory"};
const Task<int(int)> open_files{"rogue", "open_files"};
const Task<int(int)> spin{"testkit", "spin"};
using test::square;
using test::worker_pid;

constexpr std::uint64_t mib = 1 << 20;

class Limits : public test::PoolTest {};

using test::contains;

TEST_F(Limits, ATaskOverTheMemoryLimitFailsNamingItAndItsWorkerIsReplaced) {
  if (detail::built_with_sanitizer) GTEST_SKIP() << "sanitizer builds' workers run without RLIMIT_DATA";
  auto o = options(1);
  o.limits.memory_bytes = 256 * mib;
  Pool pool{o};
  const int before = pool.apply(worker_pid);
  EXPECT_EQ(pool.apply(eat_memory, 16 * mib), 16 * mib) << "well under the limit";
  try {
    pool.apply(eat_memory, 4096 * mib);
    ADD_FAILURE() << "4 GiB under a 256 MiB limit";
  } catch (const ResourceLimitError& e) {
    EXPECT_TRUE(contains(e.what(), "rogue.eat_memory")) << e.what();
    EXPECT_TRUE(contains(e.what(), "ran out of memory under the worker's memory limit of 256 MiB")) << e.what();
  }
  EXPECT_NE(pool.apply(worker_pid), before) << "the worker that ran out was replaced";
  EXPECT_EQ(pool.apply(eat_memory, 16 * mib), 16 * mib);
  const auto workers = pool.workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].limits, "memory 256 MiB (RLIMIT_DATA)");
  pool.close();
  pool.join();
}

TEST_F(Limits, AChunkThatKillsEveryWorkerBeforeItStartsFailsInsteadOfBeingSentForever) {
  // Its 100 MB frame does not fit the workers' memory limit: each dies reading it from its pipe
  // (no shared memory here), before the chunk starts. A chunk never started is sent again, but
  // only twice.
  if (detail::built_with_sanitizer) GTEST_SKIP() << "sanitizer builds' workers run without RLIMIT_DATA";
  auto o = options(1);
  o.limits.memory_bytes = 64 * mib;
  o.shared_memory_payloads = false;
  Pool pool{o};
  const Task<std::string(std::string)> echo{"testkit", "echo"};
  auto result = pool.apply_async(echo, {std::string(100 * mib, 'x')});
  ASSERT_TRUE(result.wait(60s)) << "the chunk went round and round";
  EXPECT_THROW((void)result.get(), WorkerLostError);
  EXPECT_EQ(pool.apply(square, 5), 25);
  pool.close();
  pool.join();
}

TEST_F(Limits, AnArgumentTooLargeForTheMemoryLimitFailsItsChunkNamingTheLimit) {
  // Its 100 MB frame reaches the worker through the shared arena (not its data memory), but its
  // decoded copy does not fit the worker's 64 MiB: the chunk fails with the limit named, the
  // worker is replaced, and the pool goes on.
  if (detail::built_with_sanitizer) GTEST_SKIP() << "sanitizer builds' workers run without RLIMIT_DATA";
  auto o = options(1);
  o.limits.memory_bytes = 64 * mib;
  Pool pool{o};
  const Task<std::string(std::string)> echo{"testkit", "echo"};
  auto result = pool.apply_async(echo, {std::string(100 * mib, 'x')});
  ASSERT_TRUE(result.wait(60s)) << "the chunk went round and round";
  try {
    (void)result.get();
    ADD_FAILURE() << "100 MB decoded under a 64 MiB limit";
  } catch (const ResourceLimitError& e) {
    EXPECT_TRUE(contains(e.what(), "memory limit of 64 MiB")) << e.what();
    EXPECT_TRUE(contains(e.what(), "testkit.echo")) << e.what();
  }
  EXPECT_EQ(pool.apply(square, 5), 25);
  pool.close();
  pool.join();
}

TEST_F(Limits, ATaskOverItsCpuTimeIsKilledAndItsChunkFailsNamingTheLimit) {
  auto o = options(1);
  o.limits.cpu_time = 1s;
  Pool pool{o};
  EXPECT_EQ(pool.apply(spin, 10), 10);
  try {
    pool.apply(spin, 60'000);  // a minute of CPU; the limit allows a second (two at most: whole seconds)
    ADD_FAILURE() << "a minute of CPU under a 1 s limit";
  } catch (const ResourceLimitError& e) {
    EXPECT_TRUE(contains(e.what(), "used up its CPU-time limit of 1 s per item")) << e.what();
    EXPECT_TRUE(contains(e.what(), "testkit.spin")) << e.what();
    EXPECT_TRUE(contains(e.what(), "SIGXCPU")) << e.what();
  }
  // The limit is per chunk: many short items never add up to it.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(pool.apply(spin, 150), 150);
  EXPECT_EQ(pool.workers().at(0).limits, "CPU 1 s per item (RLIMIT_CPU)");
  pool.close();
  pool.join();
}

TEST_F(Limits, OpenFilesAreCappedPerWorker) {
  auto o = options(1);
  o.limits.open_files = 32;
  Pool pool{o};
  const int opened = pool.apply(open_files, 1000);
  EXPECT_GT(opened, 0);
  EXPECT_LT(opened, 32);
  EXPECT_EQ(pool.apply(square, 4), 16) << "the worker carries on";
  EXPECT_EQ(pool.workers().at(0).limits, "open files 32 (RLIMIT_NOFILE)");
  pool.close();
  pool.join();
}

TEST_F(Limits, AWorkerOverMaxMemoryPerChildAnswersThenIsReplacedAndNothingIsLost) {
  auto o = options(1);
  o.limits.max_memory_per_child = 64 * mib;
  Pool pool{o};
  const int first = pool.apply(worker_pid);
  EXPECT_EQ(pool.apply(hold_memory, 128 * mib), first) << "the item that grew it is answered";
  const int second = pool.apply(worker_pid);
  EXPECT_NE(second, first) << "then its worker was replaced";
  // Chunks queued behind the one after which a worker retires go to its replacement.
  std::vector<std::tuple<std::uint64_t>> grow(6, {40 * mib});
  EXPECT_EQ(pool.starmap(hold_memory, grow, 1).size(), grow.size());
  std::vector<int> xs(2000);
  for (int i = 0; i < 2000; ++i) xs[static_cast<std::size_t>(i)] = i;
  const auto squares = pool.map(square, xs, 10);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(squares[static_cast<std::size_t>(i)], i * i);
  EXPECT_EQ(pool.workers().at(0).limits, "max_memory_per_child 64 MiB (resident, after each chunk)");
  pool.close();
  pool.join();
}

TEST_F(Limits, ACgroupDirectoryThatCannotBeUsedIsRefusedWithTheReasonAndRlimitsApply) {
  test::TempDir dir;  // not a cgroup at all
  auto o = options(1);
  o.limits.memory_bytes = 512 * mib;
  o.limits.cgroup = dir.path().string();
  Pool pool{o};
  const auto limits = pool.workers().at(0).limits;
  EXPECT_TRUE(contains(limits, "memory 512 MiB (RLIMIT_DATA)")) << limits;
  EXPECT_TRUE(contains(limits, "cgroup not used: " + dir.path().string() + " is not in a cgroup v2 file system"))
      << limits;
  EXPECT_EQ(pool.apply(square, 3), 9);
  pool.close();
  pool.join();
  o.limits.memory_bytes.reset();  // nothing for a cgroup to do
  EXPECT_EQ(Pool{o}.workers().at(0).limits, "none; cgroup not used: no memory limit to set in it");
}

TEST_F(Limits, NonsenseLimitsAreRefused) {
  auto o = options(1);
  o.limits.memory_bytes = 0;
  EXPECT_THROW(Pool{o}, UsageError);
  o = options(1);
  o.limits.cpu_time = 0s;
  EXPECT_THROW(Pool{o}, UsageError);
  o = options(1);
  o.limits.open_files = 3;
  EXPECT_THROW(Pool{o}, UsageError);
  o = options(1);
  o.limits.max_memory_per_child = 0;
  EXPECT_THROW(Pool{o}, UsageError);
  EXPECT_EQ(Pool{options(1)}.workers().at(0).limits, "none");
}

}  // namespace
