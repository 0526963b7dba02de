// The `dlpool` command line for operators: workers, map's joblog and resume, the progress bar.

#include "support/cli_runner.hpp"

#include <openssl/evp.h>

#include <fcntl.h>

namespace {

using namespace dlpool::test::cli;
using namespace std::chrono_literals;

class Workers : public CliTest {};
class JobLogResume : public CliTest {};
class Progress : public CliTest {};

std::string sha256_of(const std::string& path) {
  const auto bytes = contents(path);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr), 1);
  std::string hex;
  for (unsigned i = 0; i < size; ++i) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", digest[i]);
    hex += two;
  }
  return hex;
}

TEST_F(Workers, ReportsEachWorkerAndTheFileItLoaded) {
  const auto r =
      run({"workers", "--plugin", "testkit", "--task", "square", "--args", "[3]", "-j", "2", "--count", "6", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "dlpool: 6 calls of testkit.square, 0 failed")) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_TRUE(!doc.HasParseError() && doc.IsObject()) << r.out;
  EXPECT_EQ(doc["calls"].GetUint(), 6u);
  EXPECT_EQ(doc["failed"].GetUint(), 0u);
  const auto& workers = doc["workers"];
  ASSERT_EQ(workers.Size(), 2u) << r.out;

  const auto plugin_path = std::string{DLPOOL_TEST_PLUGIN_DIR} + "/libtestkit.so";
  const auto inode = stat_of(plugin_path).st_ino;
  const auto sha256 = sha256_of(plugin_path);
  std::uint64_t done = 0;
  std::vector<int> pids;
  for (const auto& w : workers.GetArray()) {
    pids.push_back(w["pid"].GetInt());
    EXPECT_GT(w["pid"].GetInt(), 0);
    EXPECT_EQ(w["generation"].GetUint(), 0u);
    EXPECT_EQ(w["failures"].GetUint64(), 0u);
    EXPECT_GT(w["rss_bytes"].GetUint64(), 0u);
    done += w["tasks_done"].GetUint64();
    // A worker that took a call loaded the plugin for it, and says which bytes it runs.
    if (w["tasks_done"].GetUint64() == 0) continue;
    ASSERT_EQ(w["plugins"].Size(), 1u) << r.out;
    const auto& p = w["plugins"][0];
    EXPECT_STREQ(p["name"].GetString(), "testkit");
    EXPECT_STREQ(p["version"].GetString(), "1.0.0");
    EXPECT_EQ(p["path"].GetString(), plugin_path);
    EXPECT_EQ(p["inode"].GetUint64(), inode);
    EXPECT_EQ(p["sha256"].GetString(), sha256);
  }
  EXPECT_EQ(done, 6u);
  EXPECT_NE(pids[0], pids[1]);
}

TEST_F(Workers, CountsFailuresAndExitsOne) {
  const auto r = run({"workers", "--plugin", "testkit", "--task", "fail_if_negative", "--args", "[-1]", "-j", "1",
                      "--count", "4", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "4 failed; the first: negative input -1")) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_TRUE(!doc.HasParseError() && doc.IsObject()) << r.out;
  ASSERT_EQ(doc["workers"].Size(), 1u);
  EXPECT_EQ(doc["workers"][0]["failures"].GetUint64(), 4u);
  EXPECT_EQ(doc["failed"].GetUint(), 4u);
}

TEST_F(Workers, PrintsATableByDefault) {
  const auto r =
      run({"workers", "--plugin", "testkit", "--task", "square", "--args", "[2]", "-j", "1", "--count", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The table (a header and the one worker's row), then the pool's statistics.
  const auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[2], "items: 3 submitted, 3 done, 0 failed, 0 lost with their worker, 0 sent again");
  EXPECT_EQ(lines[3], "workers: 1 started, 0 lost");
  EXPECT_TRUE(lines[4].starts_with("run time: p50 ")) << lines[4];
  EXPECT_TRUE(lines[5].starts_with("queue wait: p50 ")) << lines[5];
  for (const char* column : {"PID", "GEN", "DONE", "FAILED", "RSS", "PLUGIN", "VERSION", "INODE", "SHA256", "PATH"})
    EXPECT_TRUE(contains(lines[0], column)) << lines[0];
  const auto plugin_path = std::string{DLPOOL_TEST_PLUGIN_DIR} + "/libtestkit.so";
  std::istringstream row{lines[1]};
  std::string pid, generation, done, failed, rss, unit, plugin, version, inode, sha, path;
  row >> pid >> generation >> done >> failed >> rss >> unit >> plugin >> version >> inode >> sha >> path;
  EXPECT_GT(std::stoi(pid), 0);
  EXPECT_EQ(generation, "0");
  EXPECT_EQ(done, "3");
  EXPECT_EQ(failed, "0");
  EXPECT_EQ(unit, "MiB");
  EXPECT_EQ(plugin, "testkit");
  EXPECT_EQ(version, "1.0.0");
  EXPECT_EQ(inode, std::to_string(stat_of(plugin_path).st_ino));
  EXPECT_EQ(sha, sha256_of(plugin_path).substr(0, 12));
  EXPECT_EQ(path, plugin_path);
}

/// The joblog's lines after its header, as (line, status) pairs, and the pid and offset fields
/// of each; a fresh log's `0 start` line is checked and left out.
struct LogEntry {
  std::size_t line;
  std::string status, pid, offset;
};
std::vector<LogEntry> log_entries(const std::string& path) {
  std::istringstream in{contents(path)};
  std::vector<LogEntry> entries;
  std::string text;
  std::getline(in, text);
  // The header of this version, or of one before the offset column (a test writes such a log).
  EXPECT_TRUE(text == "line\tstatus\tpid\tseconds\toffset" || text == "line\tstatus\tpid\tseconds") << text;
  while (std::getline(in, text)) {
    std::istringstream fields{text};
    LogEntry e;
    std::string seconds;
    std::getline(fields, text, '\t');
    e.line = std::stoul(text);
    std::getline(fields, e.status, '\t');
    std::getline(fields, e.pid, '\t');
    std::getline(fields, seconds, '\t');
    std::getline(fields, e.offset, '\t');
    EXPECT_GE(std::stod(seconds), 0.0);
    if (e.line == 0) {
      EXPECT_EQ(e.status, "start");
      EXPECT_TRUE(entries.empty());
      continue;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string numbered_lines(int first, int last) {
  std::string text;
  for (int i = first; i <= last; ++i) text += "[" + std::to_string(i) + "]\n";
  return text;
}

TEST_F(JobLogResume, ResumeRunsOnlyWhatTheCutShortRunDidNot) {
  const dlpool::test::TempDir dir;
  const auto joblog = (dir.path() / "joblog").string();
  auto r = run({"map", "testkit", "square", "-j", "2", "--joblog", joblog}, numbered_lines(1, 3));  // cut short
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n4\n9\n");

  r = run({"map", "testkit", "square", "-j", "2", "--joblog", joblog, "--resume"}, numbered_lines(1, 6));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "16\n25\n36\n");  // lines 4 to 6 only
  EXPECT_TRUE(contains(r.err, "3 items, ")) << r.err;
  EXPECT_TRUE(contains(r.err, "3 skipped (done before)")) << r.err;
  const auto entries = log_entries(joblog);
  ASSERT_EQ(entries.size(), 6u);
  const char* offsets[] = {"2", "4", "6", "9", "12", "15"};  // bytes of output so far, across both runs
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(entries[i].line, i + 1);
    EXPECT_EQ(entries[i].status, "ok");
    EXPECT_EQ(entries[i].pid, "-");
    EXPECT_EQ(entries[i].offset, offsets[i]);
  }

  // Everything done: a further resume runs nothing.
  r = run({"map", "testkit", "square", "--joblog", joblog, "--resume"}, numbered_lines(1, 6));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(log_entries(joblog).size(), 6u);
}

TEST_F(JobLogResume, ResumeRetriesTheLinesThatFailed) {
  const dlpool::test::TempDir dir;
  const auto joblog = (dir.path() / "joblog").string();
  auto r = run({"map", "testkit", "fail_if_negative", "-j", "2", "--joblog", joblog}, "[1]\n[-2]\nnot json\n[4]\n");
  EXPECT_EQ(r.exit_code, 1);
  auto entries = log_entries(joblog);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[1].status, "RemoteError/std::invalid_argument");
  EXPECT_GT(std::stoi(entries[1].pid), 0);  // the worker the task threw in
  EXPECT_EQ(entries[2].status, "InvalidArguments");
  EXPECT_EQ(entries[2].pid, "-");

  // The input fixed: only lines 2 and 3 run again.
  r = run({"map", "testkit", "fail_if_negative", "-j", "2", "--joblog", joblog, "--resume"}, "[1]\n[2]\n[3]\n[4]\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2\n3\n");
  entries = log_entries(joblog);
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[4].line, 2u);
  EXPECT_EQ(entries[4].status, "ok");
  EXPECT_EQ(entries[5].line, 3u);
  EXPECT_EQ(entries[5].status, "ok");
}

TEST_F(JobLogResume, WithoutResumeTheLogStartsOver) {
  const dlpool::test::TempDir dir;
  const auto joblog = (dir.path() / "joblog").string();
  ASSERT_EQ(run({"map", "testkit", "square", "--joblog", joblog}, numbered_lines(1, 4)).exit_code, 0);
  const auto r = run({"map", "testkit", "square", "--joblog", joblog}, numbered_lines(1, 2));
  EXPECT_EQ(r.out, "1\n4\n");
  EXPECT_EQ(log_entries(joblog).size(), 2u);
}

TEST_F(JobLogResume, AnIncompleteLastLineIsDroppedAndAnythingElseMalformedRefused) {
  const dlpool::test::TempDir dir;
  const auto joblog = (dir.path() / "joblog").string();
  { std::ofstream{joblog} << "line\tstatus\tpid\tseconds\n1\tok\t-\t0.001\n2\tok\t-\t0.0"; }  // killed mid-line
  auto r = run({"map", "testkit", "square", "--joblog", joblog, "--resume"}, numbered_lines(1, 3));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "4\n9\n");  // line 2 was not known to be done
  EXPECT_TRUE(contains(r.err, "ignoring its incomplete last line")) << r.err;
  const auto entries = log_entries(joblog);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1].line, 2u);

  { std::ofstream{joblog} << "line\tstatus\tpid\tseconds\n1 ok - 0.001\n"; }
  r = run({"map", "testkit", "square", "--joblog", joblog, "--resume"}, numbered_lines(1, 3));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, joblog + ":2: not a joblog line")) << r.err;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(JobLogResume, ResumeCutsTheLineAKilledRunLeftHalfWritten) {
  const dlpool::test::TempDir dir;
  const auto joblog = (dir.path() / "joblog").string(), out = (dir.path() / "out").string();
  constexpr std::size_t big = 8u << 20;  // many times a pipe's capacity
  const std::string input = "[\"a\", 1]\n[\"x\", " + std::to_string(big) + "]\n[\"b\", 1]\n";
  std::string written;  // every byte the killed run wrote: what a file would hold
  {
    Cli cli{{"map", "testkit", "repeat", "-j", "1", "--joblog", joblog, "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}};
    cli.write(input);
    ASSERT_EQ(cli.read_line(), "\"a\"");
    // Part of line 2 has arrived; the rest waits in the CLI's write, which fills the pipe once
    // the test stops reading: the kill comes in the middle of the line.
    cli.wait_for_output(128 << 10);
    cli.send(SIGKILL);
    const auto killed = cli.finish();
    ASSERT_EQ(killed.signal, SIGKILL);
    written = "\"a\"\n" + killed.out;
  }
  ASSERT_GT(written.size(), 4u + (128 << 10));
  ASSERT_LT(written.size(), big);
  { std::ofstream{out, std::ios::binary} << written; }

  const auto r =
      run({"map", "testkit", "repeat", "-j", "1", "--joblog", joblog, "--resume"}, input, StdoutTo::file(out));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, out + ": cut from " + std::to_string(written.size()) + " to 4 bytes")) << r.err;
  const auto text = contents(out);
  EXPECT_EQ(text.back(), '\n');
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "\"a\"");
  EXPECT_EQ(lines[1], "\"" + std::string(big, 'x') + "\"");
  EXPECT_EQ(lines[2], "\"b\"");
  for (const auto& line : lines) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    EXPECT_FALSE(doc.HasParseError()) << line.substr(0, 80);
  }
  EXPECT_EQ(log_entries(joblog).back().offset, std::to_string(text.size()));
}

TEST_F(JobLogResume, ResumeCutsAWholeOutputLineTheJoblogDoesNotList) {
  const dlpool::test::TempDir dir;
  const auto joblog = (dir.path() / "joblog").string(), out = (dir.path() / "out").string();
  auto r = run({"map", "testkit", "square", "--joblog", joblog}, numbered_lines(1, 3),
               StdoutTo::file(out, O_WRONLY | O_CREAT | O_TRUNC));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  { std::ofstream{out, std::ios::app} << "16\n"; }  // line 4 written, its log line never came

  r = run({"map", "testkit", "square", "--joblog", joblog, "--resume"}, numbered_lines(1, 5), StdoutTo::file(out));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "cut from 9 to 6 bytes")) << r.err;
  EXPECT_EQ(contents(out), "1\n4\n9\n16\n25\n");
}

TEST_F(JobLogResume, ResumeRefusesAnOutputShorterThanTheJoblogSays) {
  const dlpool::test::TempDir dir;
  const auto joblog = (dir.path() / "joblog").string(), out = (dir.path() / "out").string();
  auto r = run({"map", "testkit", "square", "--joblog", joblog}, numbered_lines(1, 3),
               StdoutTo::file(out, O_WRONLY | O_CREAT | O_TRUNC));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto log = contents(joblog);

  // `> out` instead of `>> out`: what the log describes is gone.
  r = run({"map", "testkit", "square", "--joblog", joblog, "--resume"}, numbered_lines(1, 5),
          StdoutTo::file(out, O_WRONLY | O_TRUNC));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "--resume: standard output (" + out +
                                  ") has 0 bytes, but the joblog says the output "
                                  "had 6 after its last line"))
      << r.err;
  EXPECT_EQ(contents(out), "");  // nothing run
  EXPECT_EQ(contents(joblog), log);
}

/// A tmux server on a private socket, killed with its sessions when this goes.
class Tmux {
 public:
  explicit Tmux(const fs::path& dir) : socket_{(dir / "tmux.sock").string()} {}
  ~Tmux() { (void)run({"kill-server"}); }
  Tmux(const Tmux&) = delete;
  Tmux& operator=(const Tmux&) = delete;

  Finished run(std::vector<std::string> args) const {
    args.insert(args.begin(), {"-S", socket_});
    return Cli{tmux_path, args}.finish();
  }
  /// Types `command` in the session's shell, then blocks until it has run to its end.
  void run_in_terminal(const std::string& session, const std::string& command) const {
    ASSERT_EQ(run({"send-keys", "-t", session, command + "; tmux -S " + socket_ + " wait-for -S finished", "Enter"})
                  .exit_code,
              0);
    ASSERT_EQ(run({"wait-for", "finished"}).exit_code, 0);
  }

  static constexpr const char* tmux_path = "/usr/bin/tmux";

 private:
  std::string socket_;
};

TEST_F(Progress, DrawsABarWithRateAndEtaInATerminal) {
  ASSERT_TRUE(fs::exists(Tmux::tmux_path)) << "tmux is needed: scripts/install-deps.sh installs it";
  const dlpool::test::TempDir dir;
  const Tmux tmux{dir.path()};
  ASSERT_EQ(tmux.run({"new-session", "-d", "-s", "bar", "-x", "200", "-y", "50", "/bin/sh"}).exit_code, 0);
  { std::ofstream{dir.path() / "in"} << numbered_lines(1, 40); }
  const std::string dlpool =
      std::string{DLPOOL_BIN_DIR} + "/dlpool map testkit square -j 2 --plugin-path " + DLPOOL_TEST_PLUGIN_DIR;
  const auto in = (dir.path() / "in").string(), out = (dir.path() / "out").string();
  tmux.run_in_terminal("bar", "cd " + dir.path().string() + " && " + dlpool + " < in > out");

  auto screen = tmux.run({"capture-pane", "-p", "-t", "bar"}).out;
  // The input is a file: the total is known, so the last drawing is a full bar.
  EXPECT_TRUE(contains(screen, "[==============================] 40/40 100%  ")) << screen;
  EXPECT_TRUE(contains(screen, "/s  ETA 0:00")) << screen;
  EXPECT_TRUE(contains(screen, "dlpool: 40 items, 2 workers, ")) << screen;
  // and stdout has the results alone.
  std::string expected;
  for (int i = 1; i <= 40; ++i) expected += std::to_string(i * i) + "\n";
  EXPECT_EQ(contents(out), expected);

  // stdout on the terminal too, input from a pipe (no total): every result keeps its own line.
  tmux.run_in_terminal("bar", "clear; printf '[5]\\n[6]\\n[7]\\n' | " + dlpool);
  screen = tmux.run({"capture-pane", "-p", "-t", "bar"}).out;
  std::istringstream rows{screen};
  std::vector<std::string> lines;
  for (std::string row; std::getline(rows, row);)
    if (!row.empty()) lines.push_back(row);
  ASSERT_GE(lines.size(), 5u) << screen;
  const auto results = std::ranges::find(lines, "25");
  ASSERT_NE(results, lines.end()) << screen;
  ASSERT_GE(lines.end() - results, 5) << screen;
  EXPECT_EQ(results[1], "36") << screen;
  EXPECT_EQ(results[2], "49") << screen;
  EXPECT_TRUE(results[3].starts_with("3 done  ")) << screen;  // no total: a count, a rate, the time
  EXPECT_TRUE(contains(results[3], "/s  ")) << screen;
  EXPECT_TRUE(results[4].starts_with("dlpool: 3 items")) << screen;
}

}  // namespace
