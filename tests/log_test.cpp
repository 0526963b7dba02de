// DLPOOL_LOG: quiet by default; at debug the life of each worker can be followed on stderr, from
// the host ("[dlpool PID]") and from the workers ("[dlpool-worker PID]") alike.

#include "log/log.hpp"
#include "support/pool_fixture.hpp"

#include <cstdlib>
#include <string>

namespace {

using namespace dlpool;
using detail::LogLevel;

using test::lethal;
using test::square;
using test::worker_pid;

using test::contains;

class Log : public test::PoolTest {
 protected:
  /// Host and workers at `setting`; back to the default afterwards.
  void set_level(const char* setting) {
    if (setting)
      ::setenv("DLPOOL_LOG", setting, 1);
    else
      ::unsetenv("DLPOOL_LOG");
    detail::configure_log(setting);
  }
  void TearDown() override { set_level(nullptr); }
};

TEST_F(Log, LevelsFilterFromTheOneChosen) {
  set_level("debug");
  EXPECT_TRUE(detail::log_enabled(LogLevel::debug));
  EXPECT_TRUE(detail::log_enabled(LogLevel::critical));
  EXPECT_FALSE(detail::log_enabled(LogLevel::trace));
  set_level("off");
  EXPECT_FALSE(detail::log_enabled(LogLevel::critical));
  set_level(nullptr);
  EXPECT_TRUE(detail::log_enabled(LogLevel::warn));
  EXPECT_FALSE(detail::log_enabled(LogLevel::info));
}

TEST_F(Log, AnUnknownLevelIsNamedAndTheDefaultKept) {
  ::testing::internal::CaptureStderr();
  set_level("loud");
  const auto err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "DLPOOL_LOG=loud is not a level")) << err;
  EXPECT_TRUE(detail::log_enabled(LogLevel::warn));
  EXPECT_FALSE(detail::log_enabled(LogLevel::info));
}

TEST_F(Log, APoolIsQuietByDefaultEvenWhenAWorkerDies) {
  test::let_workers_die_by_signal();
  set_level(nullptr);
  ::testing::internal::CaptureStderr();  // fd 2, which the workers inherit too
  {
    Pool pool{test::options(1)};
    EXPECT_EQ(pool.apply(square, 3), 9);
    EXPECT_THROW(pool.apply(lethal, 1, 1, "sigkill"), WorkerLostError);
    EXPECT_EQ(pool.map(square, std::vector{1, 2, 3}), (std::vector{1, 4, 9}));
    pool.close();
    pool.join();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(Log, AtDebugTheHostAndTheWorkersTellWhatHappened) {
  test::let_workers_die_by_signal();
  set_level("debug");
  ::testing::internal::CaptureStderr();
  int first = 0, second = 0;
  {
    Pool pool{test::options(1)};
    first = pool.apply(worker_pid);
    EXPECT_THROW(pool.apply(lethal, 1, 1, "sigkill"), WorkerLostError);
    second = pool.apply(worker_pid);
    pool.close();
    pool.join();
  }
  const auto err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "[debug] worker " + std::to_string(first) + " started")) << err;
  EXPECT_TRUE(contains(err, "[dlpool-worker " + std::to_string(first) + "] [debug] loaded plugin testkit")) << err;
  EXPECT_TRUE(contains(err, "[info] worker " + std::to_string(first) + " was killed by SIGKILL running testkit.lethal"))
      << err;
  EXPECT_TRUE(contains(err, "[debug] worker " + std::to_string(second) + " started")) << err;
  EXPECT_TRUE(contains(err, "[debug] worker " + std::to_string(second) + " exited with status 0")) << err;
}

}  // namespace
