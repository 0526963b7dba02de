// The command line against what a careless or hostile plugin does: workers dying under it,
// tasks that fork or signal around them (issue "Hardening").

#include "support/cli_runner.hpp"

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

}  // namespace
}  // namespace dlpool::test::cli
