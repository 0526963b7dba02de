// The command line against what a careless or hostile plugin does: workers dying under it,
// tasks that fork or signal around them (issue "Hardening").

#include "support/cli_runner.hpp"
#include "sys/sanitizers.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>

#include <sys/syscall.h>

namespace dlpool::test::cli {
namespace {

class CliHardening : public CliTest {};

TEST_F(CliHardening, MapFinishesWhenWorkersDieHoldingQueuedChunks) {
  // Each task returns at once and leaves a thread that ends its worker 5 ms later, often with
  // chunks queued behind the next one. In input order the output waits for the chunks sent
  // again; `dlpool map` once stopped for good there (its input reader, blocked on its output
  // window, was the thread that should have sent them).
  constexpr int items = 4000;
  std::string input;
  for (int i = 0; i < items; ++i) input += "[" + std::to_string(i) + ", 5]\n";
  const auto done = run({"map", "rogue", "exit_soon", "-j", "2"}, input);
  const auto lines = done.out_lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(items)) << done.err;
  int lost = 0;
  for (int i = 0; i < items; ++i) {
    if (const auto error = error_in(lines[static_cast<std::size_t>(i)])) {
      EXPECT_EQ(error->type, "WorkerLostError") << "line " << i + 1 << ": " << error->message;
      ++lost;
    } else {
      EXPECT_EQ(lines[static_cast<std::size_t>(i)], std::to_string(i)) << "line " << i + 1;
    }
  }
  EXPECT_EQ(done.exit_code, lost == 0 ? 0 : 1) << done.err;
}

TEST_F(CliHardening, ATaskSignallingItsProcessGroupEndsOnlyItsWorker) {
  // kill(0, SIGTERM) from a task once killed `dlpool` itself (status 143, no output).
  const auto done = run({"call", "hostile", "kill_group", "[15]"});
  EXPECT_EQ(done.exit_code, 1) << done.err;
  const auto lines = done.out_lines();
  ASSERT_EQ(lines.size(), 1u) << done.out << done.err;
  const auto error = error_in(lines[0]);
  ASSERT_TRUE(error) << lines[0];
  EXPECT_EQ(error->type, "WorkerLostError");
  EXPECT_TRUE(contains(error->message, "killed by SIGTERM")) << error->message;
}

TEST_F(CliHardening, AWorkerWhoseHostWasKilledExitsInTheMiddleOfItsTask) {
  TempDir dir;
  Fifo started{dir.path() / "started"};
  // The task reports its worker's pid, then never returns (SIGTERM ignored).
  Cli cli{{"call", "testkit", "hang", "[\"" + started.path() + "\", true]", "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}};
  const auto pids = started.read_lines(1, std::chrono::milliseconds{hang_limit});
  ASSERT_EQ(pids.size(), 1u) << "the task never started";
  const int worker = std::stoi(pids[0]);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, worker, 0));
  ASSERT_GE(pidfd, 0) << std::strerror(errno);
  const auto done = cli.kill_and_reap(SIGKILL);  // no chance to stop its pool
  EXPECT_EQ(done.exit_code, -1);
  // The orphan notices its host is gone and exits; it once ran on for as long as its task did.
  pollfd exited{pidfd, POLLIN, 0};
  const int ready = ::poll(&exited, 1, static_cast<int>(std::chrono::milliseconds{hang_limit}.count()));
  EXPECT_EQ(ready, 1) << "worker " << worker << " outlived its host";
  if (ready != 1) ::kill(worker, SIGKILL);
  ::close(pidfd);
}

TEST_F(CliHardening, MemoryLimitFailsTheItemWithResourceLimitErrorNamingIt) {
  if (detail::built_with_sanitizer) GTEST_SKIP() << "sanitizer builds' workers run without RLIMIT_DATA";
  const auto done = run({"call", "rogue", "eat_memory", "[4294967296]", "--memory-limit", "256M"});
  EXPECT_EQ(done.exit_code, 1) << done.err;
  const auto error = error_in(done.out_lines().at(0));
  ASSERT_TRUE(error) << done.out;
  EXPECT_EQ(error->type, "ResourceLimitError") << error->message;
  EXPECT_TRUE(contains(error->message, "memory limit of 256 MiB")) << error->message;
}

TEST_F(CliHardening, SandboxRefusesSignalsToOtherProcessesAndNoNetworkRefusesSockets) {
  EXPECT_EQ(run({"call", "hostile", "signal_process", "[1, 0]"}).out, "0\n") << "without the sandbox";
  EXPECT_EQ(run({"call", "hostile", "signal_process", "[1, 0]", "--sandbox"}).out, std::to_string(EPERM) + "\n");
  EXPECT_EQ(run({"call", "hostile", "open_socket", "[2]", "--sandbox"}).out, "0\n");
  EXPECT_EQ(run({"call", "hostile", "open_socket", "[2]", "--sandbox=no-network"}).out, std::to_string(EPERM) + "\n");
  const auto bad = run({"call", "testkit", "square", "[1]", "--sandbox=maybe"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.err, "--sandbox")) << bad.err;
}

TEST_F(CliHardening, WorkersSaysWhichLimitsAreInForce) {
  const auto done = run({"workers", "-j", "1", "--count", "1", "--plugin", "testkit", "--task", "square", "--args",
                         "[2]", "--open-files", "64", "--cpu-limit", "5"});
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_TRUE(contains(done.out, "limits: CPU 5 s per item (RLIMIT_CPU), open files 64 (RLIMIT_NOFILE)\n")) << done.out;
}

TEST_F(CliHardening, AWorkerExecutableThatNeverSaysHelloEndsInWorkerStartError) {
  TempDir dir;
  const auto fake = dir.path() / "not-a-worker";
  {
    std::ofstream script{fake};
    script << "#!/bin/sh\nexec sleep 1000\n";
  }
  fs::permissions(fake, fs::perms::owner_all);
  ::setenv("DLPOOL_WORKER", fake.c_str(), 1);
  const auto done = run({"call", "testkit", "square", "[1]", "--start-timeout", "0.3"});
  ::unsetenv("DLPOOL_WORKER");
  EXPECT_EQ(done.exit_code, 1) << done.err;
  const auto error = error_in(done.out_lines().at(0));
  ASSERT_TRUE(error) << done.out;
  EXPECT_EQ(error->type, "WorkerStartError");
  EXPECT_TRUE(contains(error->message, "did not say hello within the start timeout of 300 ms")) << error->message;
}

}  // namespace
}  // namespace dlpool::test::cli
