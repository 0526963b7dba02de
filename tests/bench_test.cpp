// dlpool-bench (tools/bench) as a smoke test: run as a child process with --quick, it must report
// every workload, each with a number. No timing is asserted: figures depend on the machine.

#include "support/process_census.hpp"

// Cereal first: it configures rapidjson for the whole program (see tools/cli/rapidjson.hpp).
#include <rapidjson/document.h>
#include <cereal/archives/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using namespace std::chrono_literals;

// Only bounds a broken build (quick takes seconds); below ctest's own timeout, so a hang is
// reported with what the bench printed instead of the test being killed.
constexpr auto hang_limit = 100s;

struct Finished {
  int wait_status = -1;
  std::string out, err;
  bool timed_out = false;
};

/// Runs build/bin/dlpool-bench with `args`, stdin on /dev/null, and collects its stdout and
/// stderr. A child still running at hang_limit is killed; the child is always reaped.
Finished run_bench(const std::vector<std::string>& args) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::system_error{errno, std::generic_category(), "pipe2"};
  if (::pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(out[0]);
    ::close(out[1]);
    throw std::system_error{e, std::generic_category(), "pipe2"};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<std::string> argv{DLPOOL_BIN_DIR "/dlpool-bench"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, raw[0], &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  Finished done;
  if (rc == 0) {
    // Both pipes at once: a child that fills one while we block on the other would never end.
    std::array<pollfd, 2> fds{{{out[0], POLLIN, 0}, {err[0], POLLIN, 0}}};
    std::array<std::string*, 2> sinks{&done.out, &done.err};
    const auto deadline = std::chrono::steady_clock::now() + hang_limit;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      const int n = left.count() > 0 ? ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) : 0;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        done.timed_out = true;
        ::kill(pid, SIGKILL);
        break;
      }
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        char buffer[16384];
        const auto got = ::read(fds[i].fd, buffer, sizeof buffer);
        if (got > 0)
          sinks[i]->append(buffer, static_cast<std::size_t>(got));
        else if (got == 0 || errno != EINTR)
          fds[i].fd = -1;  // EOF: poll() skips a negative fd
      }
    }
    while (::waitpid(pid, &done.wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  if (rc != 0) throw std::system_error{rc, std::generic_category(), "posix_spawn " + argv[0]};
  return done;
}

int exit_code(const Finished& f) { return WIFEXITED(f.wait_status) ? WEXITSTATUS(f.wait_status) : -1; }

/// Each stdout line parsed as JSON, by workload. Fails the test for a line that is not a JSON
/// object naming a workload.
std::map<std::string, std::vector<rapidjson::Document>> rows_by_workload(const std::string& out) {
  std::map<std::string, std::vector<rapidjson::Document>> rows;
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);) {
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("workload") || !doc["workload"].IsString()) {
      ADD_FAILURE() << "not a JSON line with a workload: " << line;
      continue;
    }
    rows[doc["workload"].GetString()].push_back(std::move(doc));
  }
  return rows;
}

/// The workloads the CPython peer runs: each `want("name")` in its script.
std::vector<std::string> peer_workloads() {
  std::ifstream script{DLPOOL_SOURCE_DIR "/tools/bench/peer/mp_pool_bench.py"};
  std::stringstream text;
  text << script.rdbuf();
  const auto s = text.str();
  // Plain find, not std::regex: GCC's regex warns under -O2 with ASan (see cli_test.cpp).
  std::vector<std::string> names;
  constexpr std::string_view open = "want(\"";
  for (auto at = s.find(open); at != std::string::npos; at = s.find(open, at)) {
    at += open.size();
    const auto close = s.find('"', at);
    if (close == std::string::npos) break;
    names.push_back(s.substr(at, close - at));
  }
  return names;
}

void expect_number_row(const std::string& workload, const rapidjson::Document& row) {
  SCOPED_TRACE(workload);
  ASSERT_TRUE(row.HasMember("peer") && row["peer"].IsString());
  EXPECT_STREQ(row["peer"].GetString(), "dlpool");
  ASSERT_TRUE(row.HasMember("value") && row["value"].IsNumber()) << "no numeric value";
  const double value = row["value"].GetDouble();
  EXPECT_TRUE(std::isfinite(value) && value > 0) << "value " << value;
  ASSERT_TRUE(row.HasMember("unit") && row["unit"].IsString());
  EXPECT_NE(std::string{row["unit"].GetString()}, "");
}

TEST(BenchSmoke, QuickRunReportsEveryWorkloadWithANumber) {
  const auto peer = peer_workloads();
  ASSERT_EQ(peer.size(), 8u) << "the peer script changed: tools/bench/peer/mp_pool_bench.py";
  auto expected = peer;
  for (const char* own : {"payload_view", "payload_64m", "sigkill_recovery", "imap_endless_rss", "worker_rss",
                          "map_tiny_traced", "imap_tiny_traced"})
    expected.emplace_back(own);

  const auto run = run_bench({"--quick"});
  ASSERT_FALSE(run.timed_out) << "dlpool-bench --quick ran past " << hang_limit.count() << " s; stdout:\n"
                              << run.out << "\nstderr:\n"
                              << run.err;
  ASSERT_EQ(exit_code(run), 0) << "stderr:\n" << run.err;
  const auto rows = rows_by_workload(run.out);
  for (const auto& workload : expected) {
    const auto it = rows.find(workload);
    ASSERT_NE(it, rows.end()) << workload << " did not run; stdout:\n" << run.out;
    ASSERT_EQ(it->second.size(), 1u) << workload << " reported more than once";
    expect_number_row(workload, it->second.front());
  }
  EXPECT_EQ(rows.size(), expected.size()) << "unexpected workloads in:\n" << run.out;

  // The figures the report is about beyond the headline value.
  for (const char* traced : {"map_tiny_traced", "imap_tiny_traced"}) {
    const auto& row = rows.at(traced).front();
    ASSERT_TRUE(row.HasMember("untraced") && row["untraced"].IsNumber()) << traced;
    ASSERT_TRUE(row.HasMember("overhead_pct") && row["overhead_pct"].IsNumber()) << traced;
    EXPECT_GT(row["trace_bytes"].GetInt64(), 0) << traced;
  }
  const auto& kill = rows.at("sigkill_recovery").front();
  ASSERT_TRUE(kill.HasMember("error_ms") && kill["error_ms"].IsNumber());
  const auto& endless = rows.at("imap_endless_rss").front();
  for (const char* key : {"first_mib", "last_mib", "max_mib"})
    EXPECT_TRUE(endless.HasMember(key) && endless[key].IsNumber()) << key;
  const auto& workers = rows.at("worker_rss").front();
  ASSERT_TRUE(workers.HasMember("workers") && workers["workers"].IsArray());
  EXPECT_FALSE(workers["workers"].Empty());
  // Repeated workloads list every run.
  const auto& latency = rows.at("apply_latency").front();
  ASSERT_TRUE(latency.HasMember("runs") && latency["runs"].IsArray());
  EXPECT_EQ(latency["runs"].Size(), 3u) << "--quick repeats each workload 3 times";
  EXPECT_TRUE(latency.HasMember("warm_up") && latency["warm_up"].IsNumber()) << "the untimed first run is reported";
}

TEST(BenchCli, OnlyRunsTheNamedWorkloads) {
  const auto run = run_bench({"--quick", "--repeat", "1", "--processes", "1", "--only", "apply_latency,,worker_rss"});
  ASSERT_FALSE(run.timed_out);
  ASSERT_EQ(exit_code(run), 0) << "stderr:\n" << run.err;
  const auto rows = rows_by_workload(run.out);
  std::set<std::string> names;
  for (const auto& [name, found] : rows) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"apply_latency", "worker_rss"})) << run.out;
  ASSERT_TRUE(rows.contains("apply_latency"));
  const auto& row = rows.at("apply_latency").front();
  EXPECT_EQ(row["processes"].GetInt(), 1);
  EXPECT_EQ(row["runs"].Size(), 1u);
}

TEST(BenchCli, UnknownWorkloadIsRefusedByName) {
  const auto run = run_bench({"--only", "apply_latency,no_such_workload"});
  ASSERT_FALSE(run.timed_out);
  EXPECT_EQ(exit_code(run), 2);
  EXPECT_NE(run.err.find("unknown workload 'no_such_workload'"), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST(BenchCli, ZeroProcessesIsRefused) {
  const auto run = run_bench({"--processes", "0"});
  ASSERT_FALSE(run.timed_out);
  EXPECT_EQ(exit_code(run), 2);
  EXPECT_NE(run.err.find("--processes"), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
}

}  // namespace
