// Hot swap: a new plugin version is installed by rename() while the pool runs, and
// Pool::restart() rolls the workers onto it without losing work; Pool::workers() tells which file
// each worker runs.

#include "support/pool_fixture.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include <sys/stat.h>

namespace {

using namespace dlpool;
namespace fs = std::filesystem;
using test::options;

const Task<std::string(int)> version{"versioned", "version"};
const Task<std::string(std::string, std::string)> gated_version{"versioned", "gated_version"};

std::string built(int v) { return DLPOOL_TEST_PLUGIN_DIR "/versions/v" + std::to_string(v) + "/libversioned.so"; }

std::uint64_t inode_of(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_ino) : 0;
}

std::set<unsigned> generations(const Pool& pool) {
  std::set<unsigned> seen;
  for (const auto& w : pool.workers()) seen.insert(w.generation);
  return seen;
}

class HotSwap : public test::PoolTest {
 protected:
  HotSwap() { fs::create_directory(plugins_); }

  /// Publishes version `v` as an operator would: copied beside the live file, then renamed over
  /// it, so that a worker that loaded the old file keeps its inode.
  void install(int v) {
    const auto staged = plugins_ / ".libversioned.so.new";
    fs::copy_file(built(v), staged, fs::copy_options::overwrite_existing);
    fs::rename(staged, live());
  }
  [[nodiscard]] fs::path live() const { return plugins_ / "libversioned.so"; }
  [[nodiscard]] PoolOptions pool_options() const {
    auto o = options(2);
    o.plugin_path = {plugins_.string()};
    return o;
  }
  test::TempDir dir_;
  test::Fifo started_{dir_.path() / "started"};

 private:
  fs::path plugins_ = dir_.path() / "plugins";
};

TEST_F(HotSwap, RestartRollsTheWorkersOntoTheNewFileWithoutLosingWork) {
  install(1);
  Pool pool{pool_options()};
  EXPECT_EQ(pool.map(version, std::vector(8, 0), 1), std::vector<std::string>(8, "1.0.0"));
  const auto v1_inode = inode_of(live());

  // Both v1 workers are held inside a chunk, and more work is queued behind them.
  test::Fifo gate_a{dir_.path() / "a"}, gate_b{dir_.path() / "b"};
  auto held = pool.starmap_async(
      gated_version,
      std::vector{std::tuple{started_.path(), gate_a.path()}, std::tuple{started_.path(), gate_b.path()}}, 1);
  // Both started before the restart: a chunk not yet handed out would go to the new generation.
  ASSERT_EQ(started_.read_lines(2, std::chrono::seconds{60}).size(), 2u);
  auto queued = pool.imap(version, std::vector(20, 0));

  install(2);
  std::thread roll{[&] { pool.restart(); }};
  // Only a new-generation worker can run queued work while the old ones are held: the first
  // queued result says the new generation is up, and runs v2.
  EXPECT_EQ(queued.next(), "2.0.0");
  const auto during = generations(pool);
  EXPECT_LE(during.size(), 2u) << "never more than two generations";
  EXPECT_TRUE(during.contains(1));
  // The old workers finish what they hold, on the version they loaded.
  gate_a.release();
  gate_b.release();
  EXPECT_EQ(held.get(), (std::vector<std::string>{"1.0.0", "1.0.0"}));
  roll.join();
  int rest = 0;
  while (auto v = queued.next()) {
    EXPECT_EQ(*v, "2.0.0");
    ++rest;
  }
  EXPECT_EQ(rest, 19) << "every queued item ran exactly once";

  // Afterwards only generation 1 is alive, and it reports the v2 file.
  EXPECT_EQ(pool.map(version, std::vector(4, 0), 1), std::vector<std::string>(4, "2.0.0"));
  const auto workers = pool.workers();
  ASSERT_EQ(workers.size(), 2u);
  std::size_t loaded = 0;
  for (const auto& w : workers) {
    EXPECT_EQ(w.generation, 1u);
    EXPECT_GT(w.rss_bytes, 0u);
    EXPECT_LE(w.plugins.size(), 1u);
    for (const auto& p : w.plugins) {  // a worker that has run nothing has loaded nothing
      EXPECT_EQ(p.version, "2.0.0");
      EXPECT_EQ(p.path, live().string());
      EXPECT_EQ(p.inode, inode_of(live()));
      EXPECT_NE(p.inode, v1_inode);
      EXPECT_EQ(p.sha256.size(), 64u);
      ++loaded;
    }
  }
  EXPECT_GE(loaded, 1u);
  pool.close();
  pool.join();
}

TEST_F(HotSwap, AVersionThatDoesNotLoadFailsTheProbeAndTheOldWorkersKeepServing) {
  install(2);
  Pool pool{pool_options()};
  {
    // Both workers load v2: each is held inside a task until both have started one. (A worker
    // that has never used the plugin would load whatever file is on disk when it first does.)
    test::Fifo gate_a{dir_.path() / "a"}, gate_b{dir_.path() / "b"};
    auto both = pool.starmap_async(
        gated_version,
        std::vector{std::tuple{started_.path(), gate_a.path()}, std::tuple{started_.path(), gate_b.path()}}, 1);
    ASSERT_EQ(started_.read_lines(2, std::chrono::seconds{60}).size(), 2u);
    gate_a.release();
    gate_b.release();
    EXPECT_EQ(both.get(), (std::vector<std::string>{"2.0.0", "2.0.0"}));
  }
  const auto before = pool.worker_pids();
  install(3);
  try {
    pool.restart();
    ADD_FAILURE() << "the probe accepted a plugin that cannot load";
  } catch (const PluginLoadError& e) {
    EXPECT_NE(std::string{e.what()}.find("restart aborted, the old workers keep serving"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string{e.what()}.find("dlpool_test_symbol_that_does_not_exist"), std::string::npos) << e.what();
    EXPECT_EQ(e.plugin(), "versioned");
  }
  EXPECT_EQ(pool.worker_pids(), before);
  EXPECT_EQ(generations(pool), std::set<unsigned>{0});
  EXPECT_EQ(pool.map(version, std::vector(6, 0), 1), std::vector<std::string>(6, "2.0.0"));
  pool.close();
  pool.join();
}

TEST_F(HotSwap, WorkersCountTheirTasksAndFailures) {
  Pool pool{options(1)};
  const Task<int(int)> fail_if_negative{"testkit", "fail_if_negative"};
  EXPECT_EQ(pool.map(fail_if_negative, std::vector{1, 2, 3}, 1), (std::vector{1, 2, 3}));
  EXPECT_THROW(pool.apply(fail_if_negative, -1), RemoteError);
  const auto workers = pool.workers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].tasks_done, 3u);
  EXPECT_EQ(workers[0].failures, 1u);
  ASSERT_EQ(workers[0].plugins.size(), 1u);
  EXPECT_EQ(workers[0].plugins[0].name, "testkit");
  pool.close();
  pool.join();
}

TEST_F(HotSwap, AReplacementReportsTheBytesItLoadsEvenAfterAWriteInPlace) {
  // A worker cloned by the fork server inherits what the server read of the pool's plugin files
  // (their SHA-256 and symbols), which holds only while a file is unchanged: one rewritten in
  // place keeps its inode, and must be read again, or the host would be told the old bytes.
  install(1);
  // A file changed within the current tick of the clock that stamps file times is read again by
  // each worker rather than reused (FileKey::settled): let the tick pass, so that the server's
  // reading of version 1 is one that is inherited.
  struct stat st {};
  ASSERT_EQ(::stat(live().c_str(), &st), 0);
  const auto stamped = [](const timespec& t) { return std::pair{t.tv_sec, t.tv_nsec}; };
  for (timespec now{}; ::clock_gettime(CLOCK_REALTIME_COARSE, &now) == 0 &&
                       stamped(now) <= std::max(stamped(st.st_mtim), stamped(st.st_ctim));)
    std::this_thread::yield();
  auto o = pool_options();
  o.processes = 1;
  o.plugin_path.push_back(DLPOOL_TEST_PLUGIN_DIR);  // testkit, for the crash
  Pool pool{o};
  EXPECT_EQ(pool.apply(version, 0), "1.0.0");
  const auto first = pool.workers().at(0).plugins.at(0);
  ASSERT_EQ(first.name, "versioned");
  // The worker exits (status 0); its replacement is made after "versioned" was reported, so the
  // server reads version 1 ahead for it. The replacement answering the second call is up.
  EXPECT_THROW(pool.apply(Task<int(int)>{"testkit", "die"}, 0), WorkerLostError);
  EXPECT_EQ(pool.apply(Task<int(int)>{"testkit", "square"}, 3), 9);
  {
    std::ifstream in{built(2), std::ios::binary};
    const std::string bytes{std::istreambuf_iterator<char>{in}, {}};
    std::ofstream out{live(), std::ios::binary | std::ios::trunc};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ASSERT_EQ(inode_of(live()), first.inode);
  EXPECT_EQ(pool.apply(version, 0), "2.0.0");
  const auto workers = pool.workers();
  ASSERT_EQ(workers.size(), 1u);
  const auto second = std::ranges::find(workers[0].plugins, std::string{"versioned"}, &PluginFile::name);
  ASSERT_NE(second, workers[0].plugins.end());
  EXPECT_EQ(second->inode, first.inode);
  EXPECT_NE(second->sha256, first.sha256);
  pool.close();
  pool.join();
}

TEST_F(HotSwap, RestartOfAPoolNotRunningIsRefused) {
  Pool pool{options(1)};
  pool.close();
  EXPECT_THROW(pool.restart(), UsageError);
  pool.join();
}

}  // namespace
