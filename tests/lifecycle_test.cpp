// A worker's start and end, bounded: one that never says hello or never finishes its
// initializer (start_timeout), and one that never exits when asked to (kill_grace).

#include "support/pool_fixture.hpp"

#include <filesystem>
#include <fstream>
#include <future>

namespace {

using namespace dlpool;
using namespace std::chrono_literals;
using test::options;

using test::hang;
using test::square;

class WorkerLifecycle : public test::PoolTest {
 protected:
  test::TempDir dir_;
};

TEST_F(WorkerLifecycle, AWorkerThatNeverExitsIsKilledAfterTheGracePeriodOnClose) {
  // The plugin's static destructor never returns: close() + join() once waited for it forever.
  const Task<int()> value{"stuck_exit", "value"};
  auto o = options(2);
  o.kill_grace = 100ms;
  Pool pool{o};
  EXPECT_EQ(pool.apply(value), 42);
  auto joined = std::async(std::launch::async, [&] {
    pool.close();
    pool.join();
  });
  ASSERT_EQ(joined.wait_for(60s), std::future_status::ready) << "join() waits for a worker that never exits";
}

TEST_F(WorkerLifecycle, AWorkerRetiredByMaxtasksperchildThatNeverExitsIsKilledAndReplaced) {
  // It answers, then hangs in its exit: the pool once waited for it before replacing it.
  const Task<int()> value{"stuck_exit", "value"};
  auto o = options(1);
  o.kill_grace = 100ms;
  o.maxtasksperchild = 1;
  Pool pool{o};
  for (int round = 0; round < 3; ++round) {
    auto result = pool.apply_async(value, {});
    ASSERT_TRUE(result.wait(60s)) << "round " << round << ": no worker replaced the retired one";
    EXPECT_EQ(result.get(), 42);
  }
  pool.close();
  pool.join();
}

TEST_F(WorkerLifecycle, AWorkerThatNeverSaysHelloFailsTheWorkWithWorkerStartError) {
  // A worker executable that is no dlpool-worker: it starts, and never answers.
  test::TempDir dir;
  const auto fake = dir.path() / "not-a-worker";
  {
    std::ofstream script{fake};
    script << "#!/bin/sh\nexec sleep 1000\n";
  }
  std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
  auto o = options(1);
  o.worker_path = fake.string();
  o.start_timeout = 300ms;
  o.kill_grace = 100ms;
  Pool pool{o};
  auto result = pool.apply_async(square, {3});
  ASSERT_TRUE(result.wait(60s)) << "a pool whose workers never start must fail its work, not wait";
  try {
    (void)result.get();
    ADD_FAILURE() << "no WorkerStartError";
  } catch (const WorkerStartError& e) {
    EXPECT_NE(std::string{e.what()}.find("did not say hello within the start timeout of 300 ms"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string{e.what()}.find(fake.string()), std::string::npos) << e.what();
  }
  pool.close();
  pool.join();
}

TEST_F(WorkerLifecycle, AnInitializerThatNeverReturnsFailsTheWorkWithInitializerError) {
  auto o = options(1);
  o.initializer.emplace(hang, (dir_.path() / "started").string(), false);
  o.start_timeout = 300ms;
  o.kill_grace = 100ms;
  Pool pool{o};
  auto result = pool.apply_async(square, {3});
  ASSERT_TRUE(result.wait(60s)) << "a pool whose initializer never returns must fail its work, not wait";
  try {
    (void)result.get();
    ADD_FAILURE() << "no InitializerError";
  } catch (const InitializerError& e) {
    EXPECT_NE(std::string{e.what()}.find("still running it after the start timeout of 300 ms"), std::string::npos)
        << e.what();
  }
  pool.close();
  pool.join();
}

}  // namespace
