// The `dlpool` command line, run as a child process with pipes on its stdin, stdout and stderr.

#include "abort_on_load_types.hpp"
#include "support/fifo.hpp"
#include "support/process_census.hpp"

#include <dlpool/pool.hpp>
#include <dlpool/wire/signature.hpp>

// Cereal first: it configures rapidjson for the whole program (see tools/cli/rapidjson.hpp).
#include <cereal/archives/json.hpp>
#include <rapidjson/document.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using namespace std::chrono_literals;

// Nothing here waits on time, but a broken build must fail rather than hang the suite.
constexpr auto hang_limit = 60s;

struct Finished {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out, err;

  [[nodiscard]] std::vector<std::string> out_lines() const {
    std::vector<std::string> lines;
    std::istringstream in{out};
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

/// A running `dlpool` with its stdin, stdout and stderr on pipes. The destructor kills and reaps
/// a child still running, so a failed assertion leaves no process behind.
class Cli {
 public:
  explicit Cli(const std::vector<std::string>& args) : Cli{DLPOOL_BIN_DIR "/dlpool", args} {}

  /// Any program, run the same way.
  Cli(const std::string& program, const std::vector<std::string>& args) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      throw std::system_error{errno, std::generic_category(), "pipe2"};
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
    // A child that exits before reading all its input must not kill the test with SIGPIPE.
    ::fcntl(stdin_, F_SETFL, O_NONBLOCK);
    std::signal(SIGPIPE, SIG_IGN);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // an ignored signal stays ignored across exec: undo ours
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> argv{program};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, raw[0], &actions, &attr, raw.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    for (const int fd : {in[0], out[1], err[1]}) ::close(fd);
    if (rc != 0) {
      pid_ = -1;
      close_all();
      throw std::system_error{rc, std::generic_category(), "posix_spawn " + argv[0]};
    }
  }
  Cli(const Cli&) = delete;
  Cli& operator=(const Cli&) = delete;

  ~Cli() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    close_all();
  }

  /// Queues `text` for the child's stdin; it is written as the child reads.
  void write(std::string_view text) {
    pending_input_.append(text);
    pump(false);
  }

  /// Blocks until the child printed a whole line on stdout; returns it without the newline.
  std::string read_line() {
    std::size_t newline;
    while ((newline = out_.find('\n')) == std::string::npos) {
      if (stdout_ < 0) {
        ADD_FAILURE() << "stdout ended without a newline; got: " << out_;
        return {};
      }
      if (!pump(true)) return {};
    }
    auto line = out_.substr(0, newline);
    out_.erase(0, newline + 1);
    return line;
  }

  /// Writes `input` and the rest of what was queued, closes stdin, collects the rest of the
  /// output and reaps the child.
  Finished finish(std::string_view input = {}) {
    pending_input_.append(input);
    input_done_ = true;
    while (stdout_ >= 0 || stderr_ >= 0)
      if (!pump(true)) {
        ::kill(pid_, SIGKILL);  // hung: reported by pump(); do not hang the suite too
        break;
      }
    Finished done;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    done.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    done.out = std::move(out_);
    done.err = std::move(err_);
    return done;
  }

 private:
  /// One round of I/O: writes what it can of the queued input, reads what is there. With
  /// `block`, waits (up to hang_limit) for something to happen. False after a failure.
  bool pump(bool block) {
    if (input_done_ && pending_input_.empty() && stdin_ >= 0) close_fd(stdin_);
    std::array<pollfd, 3> fds{{{stdin_ >= 0 && !pending_input_.empty() ? stdin_ : -1, POLLOUT, 0},
                               {stdout_, POLLIN, 0},
                               {stderr_, POLLIN, 0}}};
    const int timeout = block ? static_cast<int>(std::chrono::milliseconds{hang_limit}.count()) : 0;
    const int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno == EINTR) return true;
    if (n == 0 && block) {
      ADD_FAILURE() << "dlpool did nothing for " << hang_limit.count() << " s; stdout: " << out_ << "; stderr: " << err_;
      return false;
    }
    if (fds[0].revents != 0) {
      const auto written = ::write(stdin_, pending_input_.data(), pending_input_.size());
      if (written > 0)
        pending_input_.erase(0, static_cast<std::size_t>(written));
      else if (written < 0 && errno != EAGAIN && errno != EINTR) {  // EPIPE: the child stopped reading
        pending_input_.clear();
        close_fd(stdin_);
      }
    }
    read_into(fds[1], stdout_, out_);
    read_into(fds[2], stderr_, err_);
    if (input_done_ && pending_input_.empty() && stdin_ >= 0) close_fd(stdin_);
    return true;
  }

  static void read_into(const pollfd& p, int& fd, std::string& sink) {
    if (fd < 0 || p.revents == 0) return;
    char buffer[65536];
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n > 0)
      sink.append(buffer, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR)
      close_fd(fd);
  }

  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  void close_all() {
    close_fd(stdin_);
    close_fd(stdout_);
    close_fd(stderr_);
  }

  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
  std::string pending_input_, out_, err_;
  bool input_done_ = false;
};

/// `dlpool ARGS... --plugin-path <test plugins>` with `input` on stdin, run to the end.
Finished run(std::vector<std::string> args, std::string_view input = {}) {
  args.push_back("--plugin-path");
  args.push_back(DLPOOL_TEST_PLUGIN_DIR);
  return Cli{args}.finish(input);
}

struct ErrorObject {
  std::string type, message;
};

/// The {"error": {"type": ..., "message": ...}} in `line`, or nothing if it is not one.
std::optional<ErrorObject> error_in(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("error")) return std::nullopt;
  const auto& e = doc["error"];
  if (!e.IsObject() || !e.HasMember("type") || !e.HasMember("message") || !e["type"].IsString() ||
      !e["message"].IsString())
    return std::nullopt;
  return ErrorObject{e["type"].GetString(), e["message"].GetString()};
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

namespace fs = std::filesystem;

std::string contents(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}


/// Every test checks it leaves no child of ours behind, running or zombie.
class CliTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_TRUE(dlpool::test::child_pids().empty()); }
};

class Call : public CliTest {};
class Map : public CliTest {};
class Tasks : public CliTest {};
class Install : public CliTest {};
class Workers : public CliTest {};
class JobLogResume : public CliTest {};
class Progress : public CliTest {};
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
  // Valid JSON of the wrong types is the plugin's to reject.
  const auto r = run({"call", "testkit", "square", R"(["seven"])"});
  EXPECT_EQ(r.exit_code, 1);
  const auto error = error_in(r.out);
  ASSERT_TRUE(error) << r.out;
  EXPECT_EQ(error->type, "EncodingError");
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
  Cli cli{{"map", "testkit", "wait_fifo", "-j", "2", "--unordered", "--joblog", joblog, "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}};
  cli.write("[\"" + first.path() + "\", 1]\n[\"" + second.path() + "\", 2]\n");
  EXPECT_EQ(cli.read_line(), "2");
  first.release();
  const auto r = cli.finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  // The joblog follows the output's order, so its k-th line describes the k-th result.
  std::istringstream log{contents(joblog)};
  std::string header, a, b;
  std::getline(log, header);
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

TEST_F(Tasks, ListsEachTaskWithItsSignature) {
  const auto r = run({"tasks", "testkit"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "testkit 1.0.0")) << r.out;
  // One row per task: two spaces, the name, padding, the signature.
  const auto row = [&](const std::string& name, const std::string& signature) {
    std::istringstream lines{r.out};
    for (std::string line; std::getline(lines, line);)
      if (line.starts_with("  " + name + " ") && line.ends_with(" " + signature) &&
          line.find_first_not_of(' ', 2 + name.size()) == line.size() - signature.size())
        return true;
    return false;
  };
  EXPECT_TRUE(row("square", "int(int)")) << r.out;
  EXPECT_TRUE(row("repeat", "std::string(std::string, int)")) << r.out;
}

TEST_F(Tasks, PrintsTheManifestAsJson) {
  const auto r = run({"tasks", "testkit", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.out;
  ASSERT_TRUE(doc.IsObject()) << r.out;
  EXPECT_STREQ(doc["plugin"].GetString(), "testkit");
  EXPECT_STREQ(doc["version"].GetString(), "1.0.0");
  EXPECT_TRUE(doc["abi"].IsUint());
  bool found = false;
  for (const auto& task : doc["tasks"].GetArray())
    if (std::string_view{task["name"].GetString()} == "square") {
      EXPECT_STREQ(task["signature"].GetString(), "int(int)");
      found = true;
    }
  EXPECT_TRUE(found) << r.out;
}

/// The tasks of a `dlpool tasks --json` or `dlpool-worker --describe` line, as name -> signature.
std::map<std::string, std::string> tasks_in(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  std::map<std::string, std::string> tasks;
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("tasks") || !doc["tasks"].IsArray()) {
    ADD_FAILURE() << "not a manifest: " << json;
    return tasks;
  }
  for (const auto& task : doc["tasks"].GetArray()) tasks[task["name"].GetString()] = task["signature"].GetString();
  return tasks;
}

TEST_F(Tasks, ListsAPluginWhoseStaticConstructorAbortsWithoutRunningIt) {
  // Loading libabort_on_load.so kills the process that loads it: only a listing that runs none
  // of its code can succeed, and the signatures can only come from the compile-time manifest.
  const auto r = run({"tasks", "abort_on_load"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "abort_on_load 2.5.0-rc1 (SDK ABI 1)")) << r.out;
  EXPECT_TRUE(contains(r.out, std::string{DLPOOL_TEST_PLUGIN_DIR} + "/libabort_on_load.so")) << r.out;
  EXPECT_TRUE(contains(r.out, "4 tasks:")) << r.out;

  const auto json = run({"tasks", "abort_on_load", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const std::map<std::string, std::string> expected{
      {"grow", "geo::Box(geo::Box, std::map<std::string, std::vector<long>>)"},
      {"stats", "std::optional<std::tuple<unsigned long, double>>(std::array<int, 3>, std::pair<char, bool>)"},
      {"value", "int()"},
      {"tag", "geo::Tagged<long>(geo::Tagged<long>)"},  // DLPOOL_TASK(geo::tag): the name without its scope
  };
  EXPECT_EQ(tasks_in(json.out), expected);
  // The host builds the same text for the same types, so a typed Task<> would match.
  EXPECT_EQ(expected.at("grow"), (dlpool::wire::signature<geo::Box, geo::Box, std::map<std::string, std::vector<long>>>()));
  EXPECT_EQ(expected.at("tag"), (dlpool::wire::signature<geo::Tagged<long>, geo::Tagged<long>>()));
}

TEST_F(Tasks, TheSectionSaysWhatTheLoadedPluginSays) {
  // The worker reads the manifest the plugin's code builds at run time; `dlpool tasks` reads the
  // section the compiler wrote. Both must carry the same tasks and the same signature text.
  const auto listed = run({"tasks", "testkit", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto loaded = Cli{DLPOOL_BIN_DIR "/dlpool-worker", {"--describe=testkit", "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}}.finish();
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  const auto from_section = tasks_in(listed.out);
  EXPECT_EQ(from_section, tasks_in(loaded.out));
  EXPECT_EQ(from_section.size(), 19u) << listed.out;
  EXPECT_EQ(from_section.at("mirror"), "testkit::Point(testkit::Point)");
  EXPECT_EQ(from_section.at("count_words"), "std::map<std::string, int>(std::vector<std::string>)");
}

TEST_F(Tasks, AcceptsAFilePath) {
  const auto path = std::string{DLPOOL_TEST_PLUGIN_DIR} + "/versions/v2/libversioned.so";
  const auto r = Cli{{"tasks", path, "--json"}}.finish();  // no plugin path: the file alone
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_TRUE(doc.IsObject()) << r.out;
  EXPECT_STREQ(doc["plugin"].GetString(), "versioned");
  EXPECT_STREQ(doc["version"].GetString(), "2.0.0");
  EXPECT_EQ(doc["path"].GetString(), path);
  EXPECT_EQ(tasks_in(r.out).at("gated_version"), "std::string(std::string, std::string)");
}

TEST_F(Tasks, RefusesHostileNamesBeforeTouchingTheFileSystem) {
  for (const char* name : {"..", "a b", "x;rm", "$(id)", ""}) {
    const auto r = run({"tasks", name});
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_TRUE(contains(r.err, "invalid plugin name")) << name << ": " << r.err;
    EXPECT_EQ(r.out, "") << name;
  }
}

TEST_F(Tasks, FilesThatAreNotPluginsAreClearErrors) {
  const std::string dir = DLPOOL_TEST_PLUGIN_DIR;
  auto r = run({"tasks", dir + "/libnotaplugin.so"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no dlpool_manifest section: not a dlpool plugin")) << r.err;

  const dlpool::test::TempDir tmp;
  const auto text = (tmp.path() / "libtext.so").string();
  { std::ofstream{text} << "not an ELF file\n"; }
  r = run({"tasks", text});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, text + ": not an ELF file")) << r.err;

  // The section headers sit at the end of the file: a truncated copy says so instead of reading
  // past its end.
  const auto truncated = (tmp.path() / "libtruncated.so").string();
  {
    std::ifstream in{dir + "/libtestkit.so", std::ios::binary};
    std::string head(8192, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream{truncated, std::ios::binary}.write(head.data(), in.gcount());
  }
  r = run({"tasks", truncated});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "lie beyond the end of the file")) << r.err;

  r = run({"tasks", (tmp.path() / "missing.so").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no such file")) << r.err;
}

/// Where section `name` of a (trusted, 64-bit) ELF image lies: offset and size; and where the
/// section-name table does.
struct SectionPlace {
  std::size_t offset = 0, size = 0;
};
std::pair<SectionPlace, SectionPlace> find_section(const std::string& image, const std::string& name) {
  Elf64_Ehdr header;
  std::memcpy(&header, image.data(), sizeof header);
  const auto section = [&](std::size_t i) {
    Elf64_Shdr s;
    std::memcpy(&s, image.data() + header.e_shoff + i * sizeof s, sizeof s);
    return s;
  };
  const auto names = section(header.e_shstrndx);
  SectionPlace found;
  for (std::size_t i = 0; i < header.e_shnum; ++i)
    if (image.compare(names.sh_offset + section(i).sh_name, name.size() + 1, name.c_str(), name.size() + 1) == 0)
      found = {section(i).sh_offset, section(i).sh_size};
  return {found, {names.sh_offset, names.sh_size}};
}

TEST_F(Tasks, CorruptSectionsAreRefusedBeforeAnythingReadsPastThem) {
  const dlpool::test::TempDir tmp;
  const auto image = contents(DLPOOL_TEST_PLUGIN_DIR "/libtestkit.so");
  const auto [manifest, names] = find_section(image, "dlpool_manifest");
  ASSERT_NE(manifest.size, 0u);

  // A section-name table without its final NUL: Boost.DLL's reader would walk off its end.
  auto unterminated = image;
  unterminated[names.offset + names.size - 1] = 'X';
  const auto path = (tmp.path() / "libunterminated.so").string();
  std::ofstream{path, std::ios::binary} << unterminated;
  auto r = run({"tasks", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "the section-name table does not end with a NUL")) << r.err;

  // Records that are not records.
  auto garbled = image;
  garbled.replace(manifest.offset, 4, "JUNK");
  const auto garbled_path = (tmp.path() / "libgarbled.so").string();
  std::ofstream{garbled_path, std::ios::binary} << garbled;
  r = run({"tasks", garbled_path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "malformed dlpool_manifest section: no manifest record at offset 0")) << r.err;

  // A record claiming more bytes than the section has.
  auto oversized = image;
  oversized[manifest.offset + 10] = 0x7f;  // the size field's third byte: megabytes
  const auto oversized_path = (tmp.path() / "liboversized.so").string();
  std::ofstream{oversized_path, std::ios::binary} << oversized;
  r = run({"tasks", oversized_path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "left in the section")) << r.err;
}

TEST_F(Tasks, AMissingPluginIsAClearErrorOnStderr) {
  const auto r = run({"tasks", "nosuchplugin"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "plugin 'nosuchplugin' not found")) << r.err;
  EXPECT_TRUE(contains(r.err, DLPOOL_TEST_PLUGIN_DIR)) << r.err;  // says where it looked
}

std::string versioned(int v) { return DLPOOL_TEST_PLUGIN_DIR "/versions/v" + std::to_string(v) + "/libversioned.so"; }

struct stat stat_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) ADD_FAILURE() << "stat " << path << ": " << std::strerror(errno);
  return st;
}

/// Every entry of `dir`: an install must leave nothing else behind (no staging directory).
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator{dir}) names.push_back(e.path().filename().string());
  std::ranges::sort(names);
  return names;
}

TEST_F(Install, ReplacesTheFileByRenameSoAnOpenCopyKeepsItsBytes) {
  const dlpool::test::TempDir dir;
  const auto live = dir.path() / "libversioned.so";
  fs::copy_file(versioned(1), live);
  const auto before = stat_of(live);
  // What a running worker holds: the old inode, open.
  const int old_fd = ::open(live.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(old_fd, 0);

  const auto r = Cli{{"install", versioned(2), dir.path().string()}}.finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "installed versioned 2.0.0 as " + live.string())) << r.out;

  const auto after = stat_of(live);
  EXPECT_NE(after.st_ino, before.st_ino);  // a new inode: never written over in place
  EXPECT_TRUE(contains(r.out, "inode " + std::to_string(after.st_ino))) << r.out;
  EXPECT_TRUE(contains(r.out, "replaced inode " + std::to_string(before.st_ino))) << r.out;
  EXPECT_EQ(contents(live.string()), contents(versioned(2)));
  EXPECT_EQ(after.st_mode & 07777, before.st_mode & 07777);

  struct stat held {};
  ASSERT_EQ(::fstat(old_fd, &held), 0);
  EXPECT_EQ(held.st_ino, before.st_ino);
  EXPECT_EQ(held.st_nlink, 0u);  // unlinked by the rename, alive through the fd
  std::string old_bytes;
  char buffer[65536];
  for (ssize_t n; (n = ::read(old_fd, buffer, sizeof buffer)) > 0;) old_bytes.append(buffer, static_cast<std::size_t>(n));
  ::close(old_fd);
  EXPECT_EQ(old_bytes, contents(versioned(1)));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"libversioned.so"});
}

/// Under a sanitizer, the probe worker that aborts must die by the signal rather than exit with
/// a report. Appended, so that a suppressions file in the options stays. (Before any thread.)
void let_probes_die_by_signal() {
  for (const char* name : {"ASAN_OPTIONS", "TSAN_OPTIONS"}) {
    const char* now = std::getenv(name);
    ::setenv(name, ((now != nullptr ? std::string{now} + ":" : std::string{}) + "handle_abort=0").c_str(), 1);
  }
}

TEST_F(Install, AFileThatCannotLoadLeavesTheOldOneAndSaysWhy) {
  let_probes_die_by_signal();
  const dlpool::test::TempDir dir;
  const auto live = dir.path() / "libversioned.so";
  fs::copy_file(versioned(1), live);
  const auto before = stat_of(live);

  auto r = Cli{{"install", versioned(3), dir.path().string()}}.finish();  // an unresolved symbol
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "install aborted, " + live.string() + " left untouched")) << r.err;
  EXPECT_TRUE(contains(r.err, "undefined symbol: dlpool_test_symbol_that_does_not_exist")) << r.err;
  EXPECT_TRUE(contains(r.err, versioned(3))) << r.err;  // the file given, not the staged copy

  // A file whose static constructor kills the probe: the probe's death is the reason.
  r = Cli{{"install", DLPOOL_TEST_PLUGIN_DIR "/libabort_on_load.so", dir.path().string()}}.finish();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "libabort_on_load.so not created: probe worker ")) << r.err;
  EXPECT_TRUE(contains(r.err, "was killed by SIGABRT while loading plugin 'abort_on_load'")) << r.err;

  r = Cli{{"install", DLPOOL_TEST_PLUGIN_DIR "/libnotaplugin.so", dir.path().string()}}.finish();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no dlpool_manifest section")) << r.err;

  const auto after = stat_of(live);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(contents(live.string()), contents(versioned(1)));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"libversioned.so"});
}

TEST_F(Install, GoesToTheFirstPluginDirectoryByDefault) {
  const dlpool::test::TempDir first, second;
  const auto r = Cli{{"install", versioned(1), "--plugin-path", first.path().string(), "--plugin-path",
                      second.path().string()}}.finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(entries(first.path()), std::vector<std::string>{"libversioned.so"});
  EXPECT_TRUE(entries(second.path()).empty());
}

TEST_F(Install, ARunningPoolKeepsTheOldVersionUntilItRestarts) {
  const dlpool::test::TempDir dir;
  fs::copy_file(versioned(1), dir.path() / "libversioned.so");
  const dlpool::Task<std::string(int)> version{"versioned", "version"};
  dlpool::PoolOptions options;
  options.processes = 1;
  options.plugin_path = {dir.path().string()};
  dlpool::Pool pool{std::move(options)};
  EXPECT_EQ(pool.apply(version, 0), "1.0.0");

  const auto r = Cli{{"install", versioned(2), dir.path().string()}}.finish();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(pool.apply(version, 0), "1.0.0");  // the worker's mapping is the old inode, intact
  pool.restart();
  EXPECT_EQ(pool.apply(version, 0), "2.0.0");
  pool.close();
  pool.join();
}

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
  const auto r = run({"workers", "--plugin", "testkit", "--task", "square", "--args", "[3]", "-j", "2", "--count", "6", "--json"});
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
  const auto r = run({"workers", "--plugin", "testkit", "--task", "square", "--args", "[2]", "-j", "1", "--count", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = r.out_lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
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

/// The joblog's lines after its header, as (line, status) pairs, and the pid field of each.
struct LogEntry {
  std::size_t line;
  std::string status, pid;
};
std::vector<LogEntry> log_entries(const std::string& path) {
  std::istringstream in{contents(path)};
  std::vector<LogEntry> entries;
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "line\tstatus\tpid\tseconds");
  while (std::getline(in, text)) {
    std::istringstream fields{text};
    LogEntry e;
    std::string seconds;
    std::getline(fields, text, '\t');
    e.line = std::stoul(text);
    std::getline(fields, e.status, '\t');
    std::getline(fields, e.pid, '\t');
    std::getline(fields, seconds, '\t');
    EXPECT_GE(std::stod(seconds), 0.0);
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
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(entries[i].line, i + 1);
    EXPECT_EQ(entries[i].status, "ok");
    EXPECT_EQ(entries[i].pid, "-");
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
    ASSERT_EQ(run({"send-keys", "-t", session, command + "; tmux -S " + socket_ + " wait-for -S finished", "Enter"}).exit_code, 0);
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
  const std::string dlpool = std::string{DLPOOL_BIN_DIR} + "/dlpool map testkit square -j 2 --plugin-path " +
                             DLPOOL_TEST_PLUGIN_DIR;
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
