// The `dlpool` command line stopped from outside: a write error on stdout or the joblog, and
// SIGTERM, SIGINT or SIGHUP while a task hangs. Nothing is lost with a success status, and no
// worker is left behind.

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

/// What the tests that stop a run want of its stdout: whole lines of JSON only.
void expect_json_lines(const std::string& out) {
  EXPECT_TRUE(out.empty() || out.back() == '\n') << out;
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    EXPECT_FALSE(doc.HasParseError()) << line;
  }
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
  for (const auto& args :
       {std::vector<std::string>{"call", "testkit", "square", "[3]"}, std::vector<std::string>{"tasks", "testkit"}}) {
    const auto r = run(args, {}, StdoutTo::file("/dev/full", O_WRONLY));
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "dlpool: cannot write standard output: No space left on device")) << r.err;
  }
}

std::string signal_name(int signal) {
  return signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : signal == SIGHUP ? "SIGHUP" : "?";
}

/// A command run until its task hangs, then sent signals: a test of what it leaves behind.
class StoppedCommand : public CliTest {
 protected:
  StoppedCommand() : started_{dir_.path() / "started"}, open_{dir_.path() / "open"}, stuck_{dir_.path() / "stuck"} {
    open_.release();
  }

  /// Arguments of testkit's signal_then_wait, which reports `value` on started_, then waits on
  /// a gate: one that never opens, or one open.
  std::string hanging(int value) const { return arguments(stuck_, value); }
  std::string passing(int value) const { return arguments(open_, value); }

  /// Waits until `tasks` tasks have started, then sends `signals` to the command, each once it
  /// has said it got the one before: returns how it ended, having checked that every child it
  /// had (workers, the fork server) is gone.
  Finished stop(Cli& cli, std::size_t tasks, std::initializer_list<int> signals) {
    EXPECT_EQ(started_.read_lines(tasks, std::chrono::milliseconds{hang_limit}).size(), tasks);
    const auto children = dlpool::test::children_of(cli.pid());
    EXPECT_FALSE(children.empty());
    for (const int signal : signals) {
      cli.send(signal);
      EXPECT_TRUE(cli.wait_for_error("dlpool: " + signal_name(signal) + ": ")) << signal_name(signal);
    }
    auto r = cli.finish();
    for (const int pid : children)
      EXPECT_FALSE(dlpool::test::process_exists(pid)) << "process " << pid << " was left behind";
    expect_json_lines(r.out);
    return r;
  }

  const dlpool::test::TempDir dir_;
  dlpool::test::Fifo started_, open_, stuck_;

 private:
  std::string arguments(const dlpool::test::Fifo& gate, int value) const {
    return "[\"" + started_.path() + "\", \"" + gate.path() + "\", " + std::to_string(value) + "]";
  }
};

class CliSignals : public StoppedCommand {};
class CliSignal : public StoppedCommand, public ::testing::WithParamInterface<int> {};

TEST_P(CliSignal, MapStopsItsPoolWritesWhatItHasAndDiesOfTheSignal) {
  const auto joblog = (dir_.path() / "joblog").string();
  Cli cli{
      {"map", "testkit", "signal_then_wait", "-j", "2", "--joblog", joblog, "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}};
  cli.write(passing(1) + "\n" + hanging(2) + "\n");  // stdin stays open: the input is not over
  EXPECT_EQ(cli.read_line(), "1");
  const auto r = stop(cli, 2, {GetParam()});
  EXPECT_EQ(r.signal, GetParam()) << r.err;
  EXPECT_EQ(r.out, "");  // line 2 has no result: it was not finished
  EXPECT_TRUE(contains(r.err, "dlpool: " + signal_name(GetParam()) + ": stopping the workers")) << r.err;
  EXPECT_TRUE(contains(r.err, "dlpool: stopped by " + signal_name(GetParam()))) << r.err;
  EXPECT_EQ(ok_lines(joblog), 1u) << contents(joblog);
}

INSTANTIATE_TEST_SUITE_P(EachSignal, CliSignal, ::testing::Values(SIGTERM, SIGINT, SIGHUP),
                         [](const auto& info) { return signal_name(info.param).substr(3); });

TEST_F(CliSignals, CallPrintsPoolTerminatedAndDiesOfTheSignal) {
  Cli cli{{"call", "testkit", "signal_then_wait", hanging(1), "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}};
  const auto r = stop(cli, 1, {SIGTERM});
  EXPECT_EQ(r.signal, SIGTERM) << r.err;
  const auto error = error_in(r.out);
  ASSERT_TRUE(error) << r.out;
  EXPECT_EQ(error->type, "PoolTerminated");
  EXPECT_TRUE(contains(r.err, "dlpool: stopped by SIGTERM")) << r.err;
}

TEST_F(CliSignals, WorkersStopsItsPoolAndDiesOfTheSignal) {
  Cli cli{{"workers", "--plugin", "testkit", "--task", "signal_then_wait", "--args", hanging(1), "--count", "1", "-j",
           "1", "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}};
  const auto r = stop(cli, 1, {SIGINT});
  EXPECT_EQ(r.signal, SIGINT) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "dlpool: stopped by SIGINT")) << r.err;
}

TEST_F(CliSignals, ASecondSignalWhileStoppingLeavesNoWorkerBehind) {
  // Tasks that ignore SIGTERM: the workers outlive the first signal by the grace period.
  const std::string ignoring = "[\"" + started_.path() + "\", true]\n";
  Cli cli{{"map", "testkit", "hang", "-j", "2", "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}};
  cli.write(ignoring + ignoring);
  const auto r = stop(cli, 2, {SIGTERM, SIGINT});
  EXPECT_EQ(r.signal, SIGTERM) << r.err;  // the first decides
  EXPECT_TRUE(contains(r.err, "dlpool: SIGINT: already stopping the workers")) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
