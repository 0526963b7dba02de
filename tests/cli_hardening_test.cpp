// The command line against what a careless or hostile plugin does: workers dying under it,
// tasks that fork or signal around them (issue "Hardening").

#include "support/cli_runner.hpp"

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

}  // namespace
}  // namespace dlpool::test::cli
