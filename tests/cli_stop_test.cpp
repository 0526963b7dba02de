// The `dlpool` command line stopped from outside: a write error on stdout or the joblog. Nothing
// is lost with a success status.

#include "support/cli_runner.hpp"

namespace {

using namespace dlpool::test::cli;
using namespace std::chrono_literals;

class CliWriteErrors : public CliTest {};

/// The joblog's lines that say a line is done.
std::size_t ok_lines(const std::string& joblog) {
  std::istringstream in{contents(joblog)};
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) n += contains(line, "\tok\t");
  return n;
}

TEST_F(CliWriteErrors, MapToAFullDeviceExitsOneAndLogsNoLineAsDone) {
  const dlpool::test::TempDir dir;
  const auto joblog = (dir.path() / "joblog").string();
  const auto r = run({"map", "testkit", "square", "-j", "2", "--joblog", joblog}, "[1]\n[2]\n[3]\n",
                     StdoutTo::file("/dev/full", O_WRONLY));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "dlpool: cannot write standard output: No space left on device")) << r.err;
  EXPECT_EQ(ok_lines(joblog), 0u) << contents(joblog);
}

TEST_F(CliWriteErrors, MapWithStdoutClosedExitsOne) {
  const dlpool::test::TempDir dir;
  const auto joblog = (dir.path() / "joblog").string();
  const auto r = run({"map", "testkit", "square", "-j", "2", "--joblog", joblog}, "[1]\n[2]\n", StdoutTo::closed());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "dlpool: cannot write standard output: Bad file descriptor")) << r.err;
  // Not opened on fd 1 in stdout's place: the joblog holds log lines only.
  const auto log = contents(joblog);
  EXPECT_TRUE(log.starts_with("line\tstatus\tpid\tseconds\toffset\n0\tstart\t")) << log;
  EXPECT_EQ(ok_lines(joblog), 0u) << log;
}

TEST_F(CliWriteErrors, MapToAPipeWhoseReaderLeftExitsOneInsteadOfDyingOfSigpipe) {
  Cli cli{{"map", "testkit", "square", "-j", "2", "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}};
  cli.close_stdout();
  const auto r = cli.finish("[1]\n[2]\n[3]\n");
  EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << "; " << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "dlpool: cannot write standard output: Broken pipe")) << r.err;
}

TEST_F(CliWriteErrors, AJoblogThatCannotBeWrittenStopsTheRun) {
  const auto r = run({"map", "testkit", "square", "--joblog", "/dev/full"}, "[1]\n[2]\n");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "dlpool: cannot write /dev/full: No space left on device")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliWriteErrors, CallAndTasksToAFullDeviceExitOne) {
  for (const auto& args : {std::vector<std::string>{"call", "testkit", "square", "[3]"},
                                              std::vector<std::string>{"tasks", "testkit"}}) {
    const auto r = run(args, {}, StdoutTo::file("/dev/full", O_WRONLY));
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "dlpool: cannot write standard output: No space left on device")) << r.err;
  }
}

}  // namespace
