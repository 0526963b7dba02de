// `dlpool map --trace FILE --stats` and the statistics of `dlpool workers`: what an operator
// reads of a run, checked as JSON a reader would parse.

#include "support/cli_runner.hpp"
#include "support/fifo.hpp"

namespace {

using namespace dlpool::test::cli;

class MapObserve : public CliTest {};

rapidjson::Document parsed_object(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  EXPECT_TRUE(!doc.HasParseError() && doc.IsObject()) << line;
  return doc;
}

TEST_F(MapObserve, TraceAndStatsDescribeTheRun) {
  dlpool::test::TempDir dir;
  const auto trace = (dir.path() / "t.json").string();
  // Lines 2 and 4 are not items: the trace's input mark must still name each item's line.
  const std::string input = "[1]\nnot json\n[2]\n\n[3]\n[-1]\n";
  const auto r = run({"map", "testkit", "fail_if_negative", "-j", "2", "--trace", trace, "--stats"}, input);
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the bad lines and the failing item
  for (const auto& line : r.out_lines()) {
    rapidjson::Document value;
    EXPECT_FALSE(value.Parse(line.c_str()).HasParseError()) << line;
  }

  // The last stderr line is the statistics, exact integers.
  const auto last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
  const auto doc = parsed_object(last);
  const auto& stats = doc["stats"];
  EXPECT_EQ(stats["items"]["submitted"].GetUint64(), 4u);
  EXPECT_EQ(stats["items"]["done"].GetUint64(), 3u);
  EXPECT_EQ(stats["items"]["failed"].GetUint64(), 1u);
  EXPECT_EQ(stats["items"]["lost"].GetUint64(), 0u);
  EXPECT_EQ(stats["workers"]["spawned"].GetUint64(), 2u);
  EXPECT_EQ(stats["run_time"]["count"].GetUint64(), 4u);
  EXPECT_TRUE(stats["run_time"]["p99_ns"].IsUint64());
  EXPECT_LE(stats["run_time"]["p50_ns"].GetUint64(), stats["run_time"]["max_ns"].GetUint64());
  ASSERT_EQ(stats["tasks"].Size(), 1u);
  EXPECT_STREQ(stats["tasks"][0]["task"].GetString(), "testkit.fail_if_negative");

  // The trace: complete, one event per line, a run per item, and the input mark.
  const auto text = contents(trace);
  EXPECT_TRUE(text.ends_with("\n]}\n"));
  EXPECT_EQ(parsed_object(text).HasMember("traceEvents"), true);
  std::istringstream lines{text};
  std::string line;
  std::getline(lines, line);  // the head
  int runs = 0, marks = 0;
  while (std::getline(lines, line) && line != "]}") {
    if (line.ends_with(',')) line.pop_back();
    const auto event = parsed_object(line);
    if (std::string_view{event["name"].GetString()} == "testkit.fail_if_negative") ++runs;
    if (std::string_view{event["name"].GetString()} == "input") {
      ++marks;
      EXPECT_EQ(event["args"]["job"].GetUint64(), 1u);
      // Items 0.. came from lines 1, 3, 5, 6: runs [0,1], [1,3], [2,5].
      const auto& runs_of_lines = event["args"]["lines"];
      ASSERT_EQ(runs_of_lines.Size(), 3u) << line;
      EXPECT_EQ(runs_of_lines[1][0].GetUint64(), 1u);
      EXPECT_EQ(runs_of_lines[1][1].GetUint64(), 3u);
      EXPECT_EQ(runs_of_lines[2][0].GetUint64(), 2u);
      EXPECT_EQ(runs_of_lines[2][1].GetUint64(), 5u);
    }
  }
  EXPECT_EQ(runs, 4);
  EXPECT_EQ(marks, 1);
}

TEST_F(MapObserve, ATraceFileThatCannotBeWrittenIsAnError) {
  const std::string unwritable = "/nonexistent-dir/t.json";
  const auto r = run({"map", "testkit", "square", "--trace", unwritable}, "[1]\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "/nonexistent-dir/t.json")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(MapObserve, WorkersReportsTheStatistics) {
  const auto r =
      run({"workers", "--plugin", "testkit", "--task", "square", "--args", "[3]", "-j", "2", "--count", "6", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = parsed_object(r.out);
  EXPECT_EQ(doc["stats"]["items"]["done"].GetUint64(), 6u);
  EXPECT_EQ(doc["stats"]["run_time"]["count"].GetUint64(), 6u);
  const auto text = run({"workers", "--plugin", "testkit", "--task", "square", "--args", "[3]", "--count", "3"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "items: 3 submitted, 3 done")) << text.out;
  EXPECT_TRUE(contains(text.out, "run time: p50 ")) << text.out;
}

}  // namespace
