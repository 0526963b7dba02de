// `dlpool report TRACE [--html OUT.html]` on traces written by hand (support/synthetic_trace.hpp):
// the JSON summary checked exactly, truncated and foreign files, a page of bounded size for a
// large trace, and the page drawn by a real headless Chromium, counted through its DOM.

#include "support/cli_runner.hpp"
#include "support/headless_chromium.hpp"
#include "support/synthetic_trace.hpp"

#include <rapidjson/document.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace dlpool::test::cli;
using dlpool::test::SyntheticChunk;
using dlpool::test::SyntheticTrace;

class Report : public CliTest {};
class ReportPage : public CliTest {};

/// Four workers on one host: 1 and 2 run to the end; 3 runs chunks 2 and 5, then dies of SIGKILL
/// running chunk 8; 4 replaces it and runs 10 and 11 (two items). Chunk k runs (k + 1) ms and a
/// quarter µs and waited k * 100 µs; chunk 7 fails, chunk 5 was sent twice. The input mark says
/// items 0-4 came from lines 1-5 and items from 5 on from line 8 on.
SyntheticTrace scenario(std::string_view error = R"(TaskError: bad </script><b>"x")") {
  SyntheticTrace t;
  for (const int tid : {1, 2, 3}) t.worker(tid, 0);
  t.input_mark(1, {{0, 1}, {5, 8}}, 1);
  const int worker_of[] = {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 4, 4};
  const double start_of[] = {1000, 1000, 1000, 10000, 10000, 10000, 20000, 20000, 20000, 30000, 30000, 45000};
  for (std::uint64_t k = 0; k < 12; ++k) {
    if (k == 10) t.worker(4, 29500, 3);
    SyntheticChunk c;
    c.worker = worker_of[k];
    c.chunk = c.first = k;
    c.items = k == 11 ? 2 : 1;
    c.start = start_of[k];
    c.run_us = static_cast<double>(k + 1) * 1000 + 0.25;
    c.wait_us = static_cast<double>(k) * 100;
    c.attempts = k == 5 ? 2 : 1;
    if (k == 7) {
      c.status = "error";
      c.error = error;
    } else if (k == 8) {
      c.status = "lost";
      c.error = "WorkerLostError: worker 4103 was killed by SIGKILL";
    }
    t.chunk(c);
    if (k == 8) t.lost(3, 29000.25, "was killed by SIGKILL", 9, true);
  }
  t.close(57500);
  for (const int tid : {1, 2, 4}) t.exited(tid, 58000);
  return t;
}

/// What `dlpool report` prints for scenario(): busy 78003 µs of 173500.25 live (workers 1 and 2:
/// 58000 each, 3: 29000.25, 4: 28500), so 0.4496.
std::string scenario_summary(const std::string& path, std::size_t events, bool complete) {
  return R"({"trace":")" + path + R"(","host":"node1","version":"0.1.0","complete":)" + (complete ? "true" : "false") +
         R"(,"truncated":)" + (complete ? "false" : "true") + R"(,"events":)" + std::to_string(events) +
         R"(,"skipped_lines":0,"events_dropped":0,"span_us":{"start":0,"end":58000,"length":58000},"jobs":1,)"
         R"("chunks":{"total":12,"ok":10,"error":1,"lost":1,"retried":1},)"
         R"("items":{"total":13,"ok":11,"error":1,"lost":1},)"
         R"("tasks":[{"task":"testkit.square","chunks":12,"items":13}],)"
         R"("workers":{"tracks":4,"spawned":4,"lost":1,"exited":3,"retired":0,"restarts":0,"utilisation":0.4496},)"
         R"("run_us":{"count":12,"p50":6000.250,"p90":11000.250,"p99":12000.250,"max":12000.250},)"
         R"("wait_us":{"count":12,"p50":500,"p90":1000,"p99":1100,"max":1100},)"
         R"("slowest":[)"
         R"({"job":1,"chunk":11,"first":11,"items":2,"line":14,"last_line":15,"task":"testkit.square","status":"ok",)"
         R"("worker":4,"pid":4104,"start_us":45000,"run_us":12000.250,"wait_us":1100},)"
         R"({"job":1,"chunk":10,"first":10,"items":1,"line":13,"task":"testkit.square","status":"ok",)"
         R"("worker":4,"pid":4104,"start_us":30000,"run_us":11000.250,"wait_us":1000},)"
         R"({"job":1,"chunk":9,"first":9,"items":1,"line":12,"task":"testkit.square","status":"ok",)"
         R"("worker":1,"pid":4101,"start_us":30000,"run_us":10000.250,"wait_us":900},)"
         R"({"job":1,"chunk":8,"first":8,"items":1,"line":11,"task":"testkit.square","status":"lost",)"
         R"("worker":3,"pid":4103,"start_us":20000,"run_us":9000.250,"wait_us":800},)"
         R"({"job":1,"chunk":7,"first":7,"items":1,"line":10,"task":"testkit.square","status":"error",)"
         R"("worker":2,"pid":4102,"start_us":20000,"run_us":8000.250,"wait_us":700}],)"
         R"("losses":[{"worker":3,"pid":4103,"at_us":29000.250,"cause":"was killed by SIGKILL","status":9,)"
         R"("chunk":{"job":1,"chunk":8,"first":8,"items":1,"line":11}}],)"
         R"("errors":[{"error":"TaskError: bad </script><b>\"x\"","chunks":1}]})";
}

rapidjson::Document parsed(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return doc;
}

std::size_t occurrences(std::string_view text, std::string_view part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

/// The part of `text` from `start` up to the next `end` after it (empty if `start` is not there).
std::string_view element(std::string_view text, std::string_view start, std::string_view end) {
  const auto from = text.find(start);
  if (from == std::string_view::npos) return {};
  const auto to = text.find(end, from);
  return text.substr(from, to == std::string_view::npos ? std::string_view::npos : to - from);
}

/// The JSON a page embeds in its #report-data element (as written, `<` and `>` \u-escaped).
rapidjson::Document page_data(const std::string& page) {
  auto json = std::string{element(page, R"(<script type="application/json" id="report-data">)", "</script>")};
  json.erase(0, json.find('>') + 1);
  return parsed(json);
}

std::size_t bars_in(const rapidjson::Document& data) {
  std::size_t bars = 0;
  for (const auto& row : data["rows"].GetArray()) bars += row["bars"].Size() / 6;
  return bars;
}

std::size_t live_buckets(const rapidjson::Document& data) {
  std::size_t n = 0;
  for (const auto& f : data["util"]["busy"].GetArray()) n += f.IsNull() ? 0 : 1;
  return n;
}

TEST_F(Report, SummarisesWorkersChunksAndLosses) {
  const dlpool::test::TempDir dir;
  const auto path = (dir.path() / "trace.json").string();
  const auto trace = scenario();
  trace.write(path);
  const auto r = run({"report", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ASSERT_EQ(r.out_lines().size(), 1u) << r.out;
  EXPECT_EQ(r.out_lines()[0], scenario_summary(path, trace.events(), true));
}

TEST_F(Report, TruncatedTraceTakesEveryCompleteLine) {
  const dlpool::test::TempDir dir;
  const auto path = (dir.path() / "trace.json").string();
  const auto trace = scenario();
  // Killed while writing a line: no closing `]}`, and a partial last event.
  trace.write(path, false, R"({"ph":"X","cat":"chunk","name":"deliver","pid":1,"tid":3,"ts":5)");
  auto r = run({"report", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, scenario_summary(path, trace.events(), false) + "\n");

  // Cut anywhere in the middle of a line: the chunks counted are those whose line with their
  // details (category "chunk": the run, or the delivery of one that never ran) is whole, and the
  // output is still one JSON object.
  const auto text = trace.text();
  const auto first_event = text.find("\"ts\":");
  for (std::size_t cut = first_event + 200; cut < text.size() - 10; cut += 331) {
    if (text[cut - 1] == '}' || text[cut - 1] == '\n' || text[cut - 1] == ',') continue;  // not mid-line
    { std::ofstream{path, std::ios::binary} << text.substr(0, cut); }
    r = run({"report", path});
    ASSERT_EQ(r.exit_code, 0) << "cut at " << cut << ": " << r.err;
    ASSERT_EQ(r.out_lines().size(), 1u);
    const auto summary = parsed(r.out_lines()[0]);
    const auto whole = text.substr(0, text.rfind('\n', cut));
    EXPECT_EQ(summary["chunks"]["total"].GetUint64(), occurrences(whole, R"("cat":"chunk")")) << "cut at " << cut;
    EXPECT_FALSE(summary["complete"].GetBool());
    EXPECT_TRUE(summary["truncated"].GetBool());
  }
}

TEST_F(Report, CountsRestartsDroppedEventsAndChunksThatNeverRan) {
  const dlpool::test::TempDir dir;
  const auto path = (dir.path() / "trace.json").string();
  SyntheticTrace trace;
  trace.worker(1, 0);
  SyntheticChunk ran;
  ran.start = 1000;
  ran.run_us = 250;
  trace.chunk(ran);
  SyntheticChunk cancelled;  // never sent: its deliver event only
  cancelled.worker = 0;
  cancelled.chunk = cancelled.first = 1;
  cancelled.start = 2000;
  cancelled.status = "error";
  cancelled.error = "PoolTerminated: the pool was terminated";
  trace.chunk(cancelled);
  trace.add(
      R"({"ph":"X","cat":"pool","name":"restart","pid":1,"tid":1,"ts":3000.000,"dur":400.000,"args":{"generation":1}})");
  trace.add(
      R"({"ph":"i","s":"g","cat":"trace","name":"events dropped","pid":1,"tid":1,"ts":3500.000,"args":{"count":7}})");
  trace.write(path);
  const auto r = run({"report", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = parsed(r.out_lines().at(0));
  EXPECT_EQ(summary["chunks"]["total"].GetUint64(), 2u);
  EXPECT_EQ(summary["chunks"]["error"].GetUint64(), 1u);
  EXPECT_EQ(summary["run_us"]["count"].GetUint64(), 1u);
  EXPECT_EQ(summary["run_us"]["max"].GetUint64(), 250u);
  EXPECT_EQ(summary["workers"]["restarts"].GetUint64(), 1u);
  EXPECT_EQ(summary["events_dropped"].GetUint64(), 7u);
  EXPECT_EQ(summary["errors"][0]["error"].GetString(), std::string{"PoolTerminated: the pool was terminated"});
  EXPECT_EQ(summary["span_us"]["end"].GetUint64(), 3500u);
}

TEST_F(Report, RefusesWhatIsNotADlpoolTrace) {
  const dlpool::test::TempDir dir;
  const auto file = [&](const std::string& name, const std::string& text) {
    const auto path = (dir.path() / name).string();
    std::ofstream{path, std::ios::binary} << text;
    return path;
  };
  const auto refused = [&](const std::string& path, const std::string& message) {
    const auto r = run({"report", path});
    EXPECT_EQ(r.exit_code, 1) << path;
    EXPECT_EQ(r.out, "") << path;
    EXPECT_EQ(r.err, "dlpool: " + message + "\n") << path;
  };
  const auto missing = (dir.path() / "missing.json").string();
  refused(missing, "cannot read " + missing + ": No such file or directory");
  refused(dir.path().string(), "cannot read " + dir.path().string() + ": Is a directory");
  const auto not_dlpool = [&](const std::string& name, const std::string& text, const std::string& why) {
    const auto path = file(name, text);
    refused(path, path + " is not a dlpool trace: " + why);
  };
  not_dlpool("empty.json", "", "it is empty");
  not_dlpool("array.json", "[{\"ph\":\"X\",\"ts\":1,\"dur\":2,\"pid\":1,\"tid\":1,\"name\":\"x\"}]\n",
             "its first line is not a dlpool trace's header (\"traceEvents\":[ at its end)");
  not_dlpool("other.json", "{\"otherData\":{\"tool\":\"perfetto\"},\"traceEvents\":[\n{\"ph\":\"i\",\"ts\":1}\n]}\n",
             "its header has no \"otherData\":{\"tool\":\"dlpool\"}");
  const auto idle = file("idle.json", SyntheticTrace{}.text());
  refused(idle, idle + " has no events: the pool did nothing, or the trace was cut short first");

  // And a page that cannot be written: status 1, nothing on stdout.
  const auto trace = file("trace.json", scenario().text());
  const auto r = run({"report", trace, "--html", (dir.path() / "no-such-dir" / "r.html").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "/no-such-dir/r.html: No such file or directory")) << r.err;
  EXPECT_EQ(run({"report"}).exit_code, 2);
}

TEST_F(ReportPage, IsSelfContainedAndEscapesTraceStrings) {
  const dlpool::test::TempDir dir;
  const auto path = (dir.path() / "trace.json").string(), html = (dir.path() / "r.html").string();
  scenario(R"x(TaskError: </script><img src=x onerror="alert(1)"> & <!--)x").write(path);
  const auto r = run({"report", path, "--html", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto page = contents(html);
  const auto summary = parsed(r.out_lines().at(0));
  EXPECT_EQ(summary["html"]["bytes"].GetUint64(), page.size());
  EXPECT_EQ(summary["html"]["file"].GetString(), html);

  // Only the page's own two script elements end; the message is in the data, \u-escaped.
  EXPECT_EQ(occurrences(page, "</script"), 2u);
  EXPECT_EQ(occurrences(page, "<img"), 0u);
  EXPECT_EQ(occurrences(page, "<!--"), 0u);
  EXPECT_TRUE(
      contains(page, R"x(TaskError: \u003c/script\u003e\u003cimg src=x onerror=\"alert(1)\"\u003e \u0026 \u003c!--)x"));
  // Nothing to fetch: no URL attribute or CSS url(), no script API that fetches, and a CSP that
  // forbids fetching anyway. (Looked for outside the data, whose strings say what the trace says.)
  const auto data = element(page, R"(<script type="application/json")", "</script>");
  auto code = page;
  code.erase(code.find(data), data.size());
  for (const auto* banned : {" src=", " href=", "url(", "@import", "fetch(", "XMLHttpRequest", "import(", "WebSocket",
                             "EventSource", "sendBeacon", "<link", "<iframe", "<object", "<embed"})
    EXPECT_EQ(occurrences(code, banned), 0u) << banned;
  EXPECT_TRUE(contains(page, R"(<meta http-equiv="Content-Security-Policy" content="default-src 'none';)"));
  EXPECT_EQ(page_data(page)["summary"]["errors"][0]["error"].GetString(),
            std::string{R"x(TaskError: </script><img src=x onerror="alert(1)"> & <!--)x"});
}

TEST_F(ReportPage, LargeTraceGivesABoundedPage) {
  const dlpool::test::TempDir dir;
  const auto path = (dir.path() / "trace.json").string(), html = (dir.path() / "r.html").string();
  // 100,000 chunks on 8 workers, in bursts of 20 runs 5 µs apart with 30 ms idle between: far
  // more runs than pixels, and more gaps than a row has pixels.
  constexpr int workers = 8;
  constexpr std::uint64_t chunks = 100000;
  SyntheticTrace trace;
  for (int tid = 1; tid <= workers; ++tid) trace.worker(tid, 0);
  std::vector<double> free_at(workers + 1, 200);
  for (std::uint64_t k = 0; k < chunks; ++k) {
    SyntheticChunk c;
    c.worker = static_cast<int>(k % workers) + 1;
    c.chunk = c.first = k;
    c.start = free_at[static_cast<std::size_t>(c.worker)] + 5;
    c.run_us = 100 + static_cast<double>(k % 997);
    c.wait_us = c.start;
    if (k % 100 == 0) {
      c.status = "error";
      c.error = "TaskError: item " + std::to_string(k);  // a message per chunk: capped in the summary
    }
    free_at[static_cast<std::size_t>(c.worker)] = c.start + c.run_us + (k / workers % 20 == 19 ? 30000 : 0);
    trace.chunk(c);
  }
  trace.write(path);
  const auto r = run({"report", path, "--html", html});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = parsed(r.out_lines().at(0));
  EXPECT_EQ(summary["chunks"]["total"].GetUint64(), chunks);
  EXPECT_EQ(summary["chunks"]["error"].GetUint64(), chunks / 100);
  EXPECT_EQ(summary["errors"].Size(), 10u);
  EXPECT_EQ(summary["other_errors"].GetUint64(), chunks / 100 - 10);
  EXPECT_EQ(summary["run_us"]["count"].GetUint64(), chunks);
  EXPECT_EQ(summary["run_us"]["max"].GetUint64(), 100u + 996u);

  const auto page = contents(html);
  EXPECT_LT(page.size(), std::size_t{3} << 20);
  std::printf("page for %llu chunks: %zu bytes\n", static_cast<unsigned long long>(chunks), page.size());
  const auto data = page_data(page);
  EXPECT_LE(bars_in(data), workers * 1201u);
  EXPECT_EQ(data["rows"].Size(), static_cast<unsigned>(workers));
}

TEST_F(ReportPage, ShortLivedWorkersShareRows) {
  const dlpool::test::TempDir dir;
  const auto path = (dir.path() / "trace.json").string(), html = (dir.path() / "r.html").string();
  // maxtasksperchild=1 on 4 workers: 400 workers, one chunk each, 4 alive at a time.
  SyntheticTrace trace;
  for (int tid = 1; tid <= 400; ++tid) {
    const double at = static_cast<double>((tid - 1) / 4) * 1000;
    trace.worker(tid, at, std::nullopt, 0);
    SyntheticChunk c;
    c.worker = tid;
    c.chunk = c.first = static_cast<std::uint64_t>(tid - 1);
    c.start = at + 200;
    c.run_us = 500;
    trace.chunk(c);
    trace.exited(tid, at + 900, "maxtasksperchild");
  }
  trace.write(path);
  ASSERT_EQ(run({"report", path, "--html", html}).exit_code, 0);
  const auto data = page_data(contents(html));
  EXPECT_EQ(data["rows"].Size(), 4u);
  EXPECT_EQ(data["rows"][0]["workers"].GetUint64(), 100u);
  EXPECT_EQ(data["summary"]["workers"]["tracks"].GetUint64(), 400u);
}

/// The DOM Chromium made of `html`, checked to be fully drawn with nothing fetched.
std::string rendered_dom(const std::filesystem::path& home, const std::string& html) {
  const auto r = dlpool::test::run_chromium(home, "file://" + html, {"--dump-dom"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, R"(data-rendered="ok")"))
      << element(r.out, "<body", ">") << element(r.out, R"(id="error")", "</div>");
  EXPECT_FALSE(contains(r.out, "data-blocked-fetches")) << element(r.out, R"(id="error")", "</div>");
  // Nothing the script made can fetch either.
  EXPECT_FALSE(contains(r.out, " src=")) << r.out;
  EXPECT_FALSE(contains(r.out, " href=")) << r.out;
  return r.out;
}

TEST_F(ReportPage, RendersInHeadlessChromium) {
  ASSERT_TRUE(std::filesystem::exists(dlpool::test::chromium_path))
      << "chromium is needed to check the report page: scripts/install-deps.sh installs it";
  const dlpool::test::TempDir dir;
  const auto path = (dir.path() / "trace.json").string(), html = (dir.path() / "r.html").string();
  scenario().write(path);
  ASSERT_EQ(run({"report", path, "--html", html}).exit_code, 0);
  const auto data = page_data(contents(html));

  const auto dom = rendered_dom(dir.path() / "chromium", html);
  // The timeline: 12 runs, a pixel or more apart, on 4 rows; chunk 7 failed, chunk 8 was lost
  // with worker 3, whose loss is marked.
  const auto timeline = element(dom, R"(<svg id="timeline")", "</svg>");
  EXPECT_EQ(occurrences(timeline, R"(class="run-bar")"), 12u);
  EXPECT_EQ(occurrences(dom, R"(class="run-bar")"), 12u);
  EXPECT_EQ(occurrences(timeline, R"(data-s="1")"), 1u);
  EXPECT_EQ(occurrences(timeline, R"(data-s="2")"), 1u);
  EXPECT_EQ(occurrences(timeline, R"(class="loss-mark")"), 1u);
  EXPECT_EQ(occurrences(timeline, ">worker 4 (generation 0)<"), 1u);
  // Utilisation: a bar per bucket with live workers.
  EXPECT_GT(live_buckets(data), 100u);
  EXPECT_EQ(occurrences(dom, R"(class="util-bar")"), live_buckets(data));
  // Run times 1, 2-3, 4-5, 6-9 and 10-12 ms fall in 5 buckets ([1, 1.78), [1.78, 3.16)...);
  // waits 0, 100, 200-300, 400-500, 600-900 and 1000-1100 µs in 6.
  EXPECT_EQ(occurrences(element(dom, R"(<svg id="run-hist")", "</svg>"), R"(class="hist-bar")"), 5u);
  EXPECT_EQ(occurrences(element(dom, R"(<svg id="wait-hist")", "</svg>"), R"(class="hist-bar")"), 6u);
  // Every run among the slowest (fewer than 20), the loss with its cause and input line.
  const auto slowest = element(dom, R"(<tbody id="slowest")", "</tbody>");
  EXPECT_EQ(occurrences(slowest, "<tr"), 12u);
  EXPECT_TRUE(contains(std::string{slowest}, "lines 14\u201315")) << slowest;
  EXPECT_TRUE(contains(std::string{slowest}, "line 1<")) << slowest;
  const auto losses = element(dom, R"(<tbody id="losses")", "</tbody>");
  EXPECT_EQ(occurrences(losses, "<tr"), 1u);
  EXPECT_TRUE(contains(std::string{losses}, "was killed by SIGKILL")) << losses;
  EXPECT_TRUE(contains(std::string{losses}, "line 11 (job 1, chunk 8)")) << losses;
  // The error message is text, not markup.
  EXPECT_TRUE(contains(dom, "TaskError: bad &lt;/script&gt;&lt;b&gt;\"x\"")) << element(dom, R"(id="errors")", "</ul>");

  // A screenshot to look at, in the build tree (never in git).
  const std::filesystem::path shot = DLPOOL_REPORT_ARTIFACT_DIR "/report.png";
  std::filesystem::create_directories(shot.parent_path());
  std::filesystem::remove(shot);
  const auto r =
      dlpool::test::run_chromium(dir.path() / "chromium", "file://" + html,
                                 {"--hide-scrollbars", "--window-size=1400,1000", "--screenshot=" + shot.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(std::filesystem::file_size(shot), 10000u);
}

TEST_F(ReportPage, LargePageRendersInHeadlessChromium) {
  ASSERT_TRUE(std::filesystem::exists(dlpool::test::chromium_path))
      << "chromium is needed to check the report page: scripts/install-deps.sh installs it";
  const dlpool::test::TempDir dir;
  const auto path = (dir.path() / "trace.json").string(), html = (dir.path() / "r.html").string();
  SyntheticTrace trace;
  for (int tid = 1; tid <= 16; ++tid) trace.worker(tid, 0);
  for (std::uint64_t k = 0; k < 20000; ++k) {
    SyntheticChunk c;
    c.worker = static_cast<int>(k % 16) + 1;
    c.chunk = c.first = k;
    c.start = 200 + static_cast<double>(k / 16) * 150 + static_cast<double>(k % 7) * 9;
    c.run_us = 20 + static_cast<double>(k % 101);
    c.wait_us = static_cast<double>(k % 5000);
    if (k % 1000 == 999) c.status = "error";
    trace.chunk(c);
  }
  trace.write(path);
  ASSERT_EQ(run({"report", path, "--html", html}).exit_code, 0);
  const auto data = page_data(contents(html));
  const auto dom = rendered_dom(dir.path() / "chromium", html);
  EXPECT_EQ(occurrences(dom, R"(class="run-bar")"), bars_in(data));
  EXPECT_LE(bars_in(data), 16u * 1201u);
  EXPECT_EQ(occurrences(dom, R"(class="util-bar")"), live_buckets(data));
  EXPECT_EQ(occurrences(element(dom, R"(<tbody id="slowest")", "</tbody>"), "<tr"), 20u);
}

}  // namespace

namespace {

// The whole path on a real run: `dlpool map --trace` writes the trace, `dlpool report` reads it
// and Chromium draws it. Item 7 kills its worker: the page shows the loss and its line.
TEST_F(ReportPage, ARealRunsTraceIsReportedAndRendered) {
  ASSERT_TRUE(std::filesystem::exists(dlpool::test::chromium_path))
      << "chromium is needed to check the report page: scripts/install-deps.sh installs it";
  const dlpool::test::TempDir dir;
  const auto path = (dir.path() / "trace.json").string(), html = (dir.path() / "r.html").string();
  std::string input;
  for (int i = 0; i < 40; ++i) input += "[" + std::to_string(i) + R"(, 7, "sigkill"])" + "\n";
  const auto mapped = run({"map", "testkit", "lethal", "-j", "2", "--trace", path}, input);
  ASSERT_EQ(mapped.exit_code, 1) << mapped.err;  // item 7 was lost with its worker

  const auto reported = run({"report", path, "--html", html});
  ASSERT_EQ(reported.exit_code, 0) << reported.err;
  rapidjson::Document summary;
  summary.Parse(reported.out.c_str());
  ASSERT_TRUE(summary.IsObject()) << reported.out;
  EXPECT_TRUE(summary["complete"].GetBool());
  EXPECT_EQ(summary["chunks"]["total"].GetUint64(), 40u) << reported.out;
  EXPECT_EQ(summary["chunks"]["ok"].GetUint64(), 39u);
  EXPECT_EQ(summary["chunks"]["lost"].GetUint64(), 1u);
  EXPECT_EQ(summary["workers"]["spawned"].GetUint64(), 3u);
  EXPECT_EQ(summary["workers"]["lost"].GetUint64(), 1u);
  EXPECT_EQ(summary["run_us"]["count"].GetUint64(), 40u);
  ASSERT_EQ(summary["losses"].Size(), 1u);

  const auto dom = rendered_dom(dir.path() / "chromium", html);
  EXPECT_TRUE(contains(dom, R"(data-rendered="ok")")) << element(dom, R"(id="error")", "</");
  // Runs a pixel apart or less are drawn as one bar: at least one per worker that ran any.
  EXPECT_GE(occurrences(element(dom, R"(<svg id="timeline")", "</svg>"), R"(class="run-bar")"), 2u);
  EXPECT_EQ(occurrences(element(dom, R"(<svg id="timeline")", "</svg>"), R"(class="loss-mark")"), 1u);
  EXPECT_GT(occurrences(element(dom, R"(<svg id="run-hist")", "</svg>"), R"(class="hist-bar")"), 0u);
  EXPECT_GT(occurrences(element(dom, R"(<svg id="wait-hist")", "</svg>"), R"(class="hist-bar")"), 0u);
  EXPECT_EQ(occurrences(element(dom, R"(<tbody id="slowest")", "</tbody>"), "<tr"), 20u);
  const auto losses = element(dom, R"(<tbody id="losses")", "</tbody>");
  EXPECT_TRUE(contains(std::string{losses}, "SIGKILL")) << losses;
  EXPECT_TRUE(contains(std::string{losses}, "line 8 (job 1, chunk 7)")) << losses;
}

}  // namespace
