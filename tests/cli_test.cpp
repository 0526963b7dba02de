// The `dlpool` command line: call, map and misuse, each run as a child process.

#include "support/cli_runner.hpp"

namespace {

using namespace dlpool::test::cli;
using namespace std::chrono_literals;

class Call : public CliTest {};
class Map : public CliTest {};
class Usage : public CliTest {};

TEST_F(Call, PrintsTheBareJsonResult) {
  auto r = run({"call", "testkit", "repeat", R"(["ab", 3])"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\"ababab\"\n");
  r = run({"call", "testkit", "square", "[7]"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "49\n");
}

TEST_F(Call, ATaskErrorPrintsAnErrorObjectAndExitsOne) {
  const auto r = run({"call", "testkit", "fail_if_negative", "[-1]"});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.out_lines().size(), 1u) << r.out;
  const auto error = error_in(r.out_lines()[0]);
  ASSERT_TRUE(error) << r.out;
  EXPECT_EQ(error->type, "RemoteError/std::invalid_argument");
  EXPECT_EQ(error->message, "negative input -1");
}

TEST_F(Call, NamesAMissingPluginOrTask) {
  auto r = run({"call", "nosuchplugin", "f", "[1]"});
  EXPECT_EQ(r.exit_code, 1);
  auto error = error_in(r.out);
  ASSERT_TRUE(error) << r.out;
  EXPECT_EQ(error->type, "PluginNotFound");
  EXPECT_TRUE(contains(error->message, "plugin 'nosuchplugin' not found")) << error->message;

  r = run({"call", "testkit", "nosuchtask", "[1]"});
  EXPECT_EQ(r.exit_code, 1);
  error = error_in(r.out);
  ASSERT_TRUE(error) << r.out;
  EXPECT_EQ(error->type, "TaskNotFound");
  EXPECT_TRUE(contains(error->message, "no task 'nosuchtask'")) << error->message;
}

TEST_F(Call, RejectsArgumentsThatAreNotAJsonArray) {
  for (const char* bad : {"[1", "", "{\"x\": 1}", "7"}) {
    const auto r = run({"call", "testkit", "square", bad});
    EXPECT_EQ(r.exit_code, 1) << bad;
    const auto error = error_in(r.out);
    ASSERT_TRUE(error) << bad << ": " << r.out;
    EXPECT_EQ(error->type, "InvalidArguments") << bad;
  }
  // Valid JSON of the wrong types is the plugin's to reject, with the same error type.
  const auto r = run({"call", "testkit", "square", R"(["seven"])"});
  EXPECT_EQ(r.exit_code, 1);
  const auto error = error_in(r.out);
  ASSERT_TRUE(error) << r.out;
  EXPECT_EQ(error->type, "InvalidArguments");
}

TEST_F(Map, ResultsComeInInputOrder) {
  constexpr int n = 300;
  std::string input;
  for (int i = 0; i < n; ++i) input += "[" + std::to_string(i) + "]\n";
  const auto r = run({"map", "testkit", "square", "-j", "2", "--chunksize", "3"}, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(lines[i], std::to_string(i * i)) << "line " << i + 1;
  EXPECT_TRUE(contains(r.err, "dlpool: 300 items, 2 workers, ")) << r.err;
  EXPECT_TRUE(contains(r.err, " s, 0 failed")) << r.err;
}

TEST_F(Map, TakesSeveralArgumentsPerLine) {
  const auto r = run({"map", "testkit", "repeat", "-j", "2"}, "[\"ab\", 3]\n[\"x\", 0]\n[\"\\n\", 2]\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\"ababab\"\n\"\"\n\"\\n\\n\"\n");
}

TEST_F(Map, AFailingLineGetsOneErrorLineAtItsPosition) {
  const auto r = run({"map", "testkit", "fail_if_negative", "-j", "2"}, "[1]\n[2]\n[-3]\n[4]\n[5]\n");
  EXPECT_EQ(r.exit_code, 1);
  const auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], "1");
  EXPECT_EQ(lines[1], "2");
  const auto error = error_in(lines[2]);
  ASSERT_TRUE(error) << lines[2];
  EXPECT_EQ(error->type, "RemoteError/std::invalid_argument");
  EXPECT_EQ(error->message, "negative input -3");
  EXPECT_EQ(lines[3], "4");
  EXPECT_EQ(lines[4], "5");
  EXPECT_TRUE(contains(r.err, "5 items")) << r.err;
  EXPECT_TRUE(contains(r.err, "1 failed")) << r.err;
}

TEST_F(Map, MalformedLinesFailInPlaceWithoutSpoilingTheirChunk) {
  // With chunks of 3, a malformed line sent to a worker would fail its neighbours too.
  const auto r = run({"map", "testkit", "square", "-j", "2", "--chunksize", "3"},
                     "[1]\n\n[x\n{\"a\": 1}\n[5]\n[6]");  // no newline at the very end
  EXPECT_EQ(r.exit_code, 1);
  const auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0], "1");
  for (int i : {1, 2, 3}) {
    const auto error = error_in(lines[i]);
    ASSERT_TRUE(error) << lines[i];
    EXPECT_EQ(error->type, "InvalidArguments");
    EXPECT_TRUE(contains(error->message, "line " + std::to_string(i + 1) + ": ")) << error->message;
  }
  EXPECT_TRUE(contains(error_in(lines[1])->message, "empty line"));
  EXPECT_TRUE(contains(error_in(lines[2])->message, "invalid JSON"));
  EXPECT_TRUE(contains(error_in(lines[3])->message, "got an object"));
  EXPECT_EQ(lines[4], "25");
  EXPECT_EQ(lines[5], "36");
  EXPECT_TRUE(contains(r.err, "6 items")) << r.err;
  EXPECT_TRUE(contains(r.err, "3 failed")) << r.err;
}

TEST_F(Map, APluginsOutputGoesToStderrNeverToTheResults) {
  const auto r = run({"map", "testkit", "chatty", "-j", "2"}, "[1]\n[2]\n[3]\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n2\n3\n");
  EXPECT_TRUE(contains(r.err, "chatty stdout 2")) << r.err;
  EXPECT_TRUE(contains(r.err, "chatty stderr 2")) << r.err;
}

TEST_F(Map, StreamsResultsBeforeTheInputEnds) {
  Cli cli{{"map", "testkit", "square", "-j", "2", "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}};
  cli.write("[3]\n");
  EXPECT_EQ(cli.read_line(), "9");
  cli.write("[4]\n");
  EXPECT_EQ(cli.read_line(), "16");
  const auto r = cli.finish("[5]\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "25\n");
  EXPECT_TRUE(contains(r.err, "3 items")) << r.err;
}

TEST_F(Map, EmptyInputPrintsNothing) {
  const auto r = run({"map", "testkit", "square", "-j", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "dlpool: 0 items, 1 worker, ")) << r.err;
}

TEST_F(Map, AMissingPluginFailsEveryLine) {
  const auto r = run({"map", "nosuchplugin", "f", "-j", "1"}, "[1]\n[2]\n");
  EXPECT_EQ(r.exit_code, 1);
  const auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  for (const auto& line : lines) {
    const auto error = error_in(line);
    ASSERT_TRUE(error) << line;
    EXPECT_EQ(error->type, "PluginNotFound");
  }
}

TEST_F(Map, UnorderedWritesResultsAsTheyComplete) {
  const dlpool::test::TempDir dir;
  dlpool::test::Fifo first{dir.path() / "first"}, second{dir.path() / "second"};
  second.release();  // the first line waits until the second one's result is out
  const auto joblog = (dir.path() / "joblog").string();
  Cli cli{{"map", "testkit", "wait_fifo", "-j", "2", "--unordered", "--joblog", joblog, "--plugin-path",
           DLPOOL_TEST_PLUGIN_DIR}};
  cli.write("[\"" + first.path() + "\", 1]\n[\"" + second.path() + "\", 2]\n");
  EXPECT_EQ(cli.read_line(), "2");
  first.release();
  const auto r = cli.finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  // The joblog follows the output's order, so its k-th line describes the k-th result.
  std::istringstream log{contents(joblog)};
  std::string header, start, a, b;
  std::getline(log, header);
  std::getline(log, start);
  EXPECT_TRUE(start.starts_with("0\tstart\t")) << start;
  std::getline(log, a);
  std::getline(log, b);
  EXPECT_TRUE(a.starts_with("2\tok\t-\t")) << a;
  EXPECT_TRUE(b.starts_with("1\tok\t-\t")) << b;
}

TEST_F(Map, UnorderedStillReportsEveryLine) {
  std::string input;
  for (int i = 0; i < 50; ++i) input += i == 20 ? "oops\n" : "[" + std::to_string(i) + "]\n";
  const auto r = run({"map", "testkit", "square", "-j", "2", "--unordered", "--chunksize", "3"}, input);
  EXPECT_EQ(r.exit_code, 1);
  auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 50u) << r.out;
  const auto bad = std::ranges::find_if(lines, [](const auto& l) { return error_in(l).has_value(); });
  ASSERT_NE(bad, lines.end());
  EXPECT_TRUE(contains(error_in(*bad)->message, "line 21: invalid JSON")) << *bad;
  lines.erase(bad);
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i)
    if (i != 20) expected.push_back(std::to_string(i * i));
  std::ranges::sort(lines);
  std::ranges::sort(expected);
  EXPECT_EQ(lines, expected);
}

// The limit is generous so that loading the plugin (inside the first item's time, slow under a
// sanitizer) never counts against the items that do finish.
TEST_F(Map, ATimeoutFailsOnlyTheItemOverIt) {
  const dlpool::test::TempDir dir;
  dlpool::test::Fifo open1{dir.path() / "open1"}, stuck{dir.path() / "stuck"}, open3{dir.path() / "open3"};
  open1.release();
  open3.release();
  const auto joblog = (dir.path() / "joblog").string();
  const auto r = run({"map", "testkit", "wait_fifo", "-j", "2", "--timeout", "2", "--joblog", joblog},
                     "[\"" + open1.path() + "\", 1]\n[\"" + stuck.path() + "\", 2]\n[\"" + open3.path() + "\", 3]\n");
  EXPECT_EQ(r.exit_code, 1);
  const auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "1");
  const auto error = error_in(lines[1]);
  ASSERT_TRUE(error) << lines[1];
  EXPECT_EQ(error->type, "TaskTimeout");
  EXPECT_EQ(lines[2], "3");
  // The worker that timed out is named in the joblog.
  const auto log = contents(joblog);
  const auto at = log.find("\n2\tTaskTimeout\t");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_GT(std::stoi(log.substr(at + std::string_view{"\n2\tTaskTimeout\t"}.size())), 0) << log;
}

TEST_F(Map, NoProgressBarWhenStderrIsNotATerminal) {
  const auto r = run({"map", "testkit", "square", "-j", "2"}, "[1]\n[2]\n[3]\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.err, "\r")) << r.err;
  EXPECT_FALSE(contains(r.err, "ETA")) << r.err;
  EXPECT_FALSE(contains(r.err, "/s")) << r.err;
}

TEST_F(Usage, MisuseExitsTwo) {
  EXPECT_EQ(run({}).exit_code, 2);
  EXPECT_EQ(run({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(run({"call", "testkit", "square"}).exit_code, 2);
  const auto r = run({"map", "testkit", "square", "-j", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--jobs")) << r.err;
  EXPECT_EQ(run({"map", "testkit", "square", "--chunksize", "0"}).exit_code, 2);
  EXPECT_EQ(run({"workers", "--args", "{}"}).exit_code, 2);
  EXPECT_EQ(run({"workers", "--count", "0"}).exit_code, 2);
  EXPECT_EQ(run({"install"}).exit_code, 2);
  EXPECT_EQ(run({"map", "testkit", "square", "--resume"}).exit_code, 2);  // needs --joblog
  EXPECT_EQ(run({"map", "testkit", "square", "--timeout", "0"}).exit_code, 2);
  EXPECT_EQ(run({"map", "testkit", "square", "--timeout", "soon"}).exit_code, 2);
  EXPECT_EQ(run({"--help"}).exit_code, 0);
}

}  // namespace
