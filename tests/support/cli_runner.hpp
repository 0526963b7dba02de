#pragma once
// Runs the `dlpool` command line as a child process with pipes on its stdin, stdout and stderr,
// for the CLI tests (cli_test.cpp, cli_plugin_files_test.cpp, cli_operations_test.cpp).

#include "support/fifo.hpp"
#include "support/process_census.hpp"

#include <dlpool/pool.hpp>
#include <dlpool/wire/signature.hpp>

// Cereal first: it configures rapidjson for the whole program (see tools/cli/rapidjson.hpp).
#include <rapidjson/document.h>
#include <cereal/archives/json.hpp>

#include <gtest/gtest.h>

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

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dlpool::test::cli {

using namespace std::chrono_literals;

// Nothing here waits on time, but a broken build must fail rather than hang the suite.
inline constexpr auto hang_limit = 60s;

struct Finished {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that killed it, if one did
  std::string out, err;

  [[nodiscard]] std::vector<std::string> out_lines() const {
    std::vector<std::string> lines;
    std::istringstream in{out};
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

/// Where a child's stdout goes: a pipe the test reads (the default), a file opened with `flags`
/// (as a shell's `>` or `>>` would), or nowhere: fd 1 closed (`>&-`).
struct StdoutTo {
  enum class Kind { pipe, file, closed };
  Kind kind = Kind::pipe;
  std::string path;
  int flags = 0;

  static StdoutTo file(std::string path, int flags = O_WRONLY | O_APPEND) {
    return {Kind::file, std::move(path), flags};
  }
  static StdoutTo closed() { return {Kind::closed, {}, 0}; }
};

/// Whether the child gets a process group of its own. A program that starts helpers of its own
/// (a browser) goes in its own group, so that its helpers are killed with it: finish() and the
/// destructor then kill the whole group once the child is gone, and reap those of its members
/// that are this process's children (all of them, with ChildSubreaper).
enum class ProcessGroup { shared, own };

/// A running `dlpool` with its stdin, stdout and stderr on pipes. The destructor kills and reaps
/// a child still running, so a failed assertion leaves no process behind.
class Cli {
 public:
  explicit Cli(const std::vector<std::string>& args, const StdoutTo& to = {})
      : Cli{DLPOOL_BIN_DIR "/dlpool", args, to} {}

  /// Any program, run the same way.
  Cli(const std::string& program, const std::vector<std::string>& args, const StdoutTo& to = {},
      ProcessGroup group = ProcessGroup::shared)
      : own_group_{group == ProcessGroup::own} {
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
    if (to.kind == StdoutTo::Kind::pipe)
      posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    else if (to.kind == StdoutTo::Kind::file)
      posix_spawn_file_actions_addopen(&actions, 1, to.path.c_str(), to.flags, 0644);
    else
      posix_spawn_file_actions_addclose(&actions, 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // an ignored signal stays ignored across exec: undo ours
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | (own_group_ ? POSIX_SPAWN_SETPGROUP : 0));
    if (own_group_) posix_spawnattr_setpgroup(&attr, 0);  // a group named after the child's pid

    std::vector<std::string> argv{program};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, raw[0], &actions, &attr, raw.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    for (const int fd : {in[0], out[1], err[1]}) ::close(fd);
    if (to.kind != StdoutTo::Kind::pipe) close_fd(stdout_);  // nothing will come
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
      reap();
    }
    close_all();
  }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  /// Sends `signal` to the child.
  void send(int signal) const { ::kill(pid_, signal); }

  /// Closes the test's end of the child's stdout pipe: the child's next write fails with EPIPE.
  void close_stdout() { close_fd(stdout_); }

  /// Blocks until the child has printed at least `bytes` on stdout (what read_line() has not
  /// taken); returns what it has printed so far, without taking it.
  const std::string& wait_for_output(std::size_t bytes) {
    while (out_.size() < bytes && stdout_ >= 0)
      if (!pump(true)) break;
    return out_;
  }

  /// Blocks until the child's stderr contains `text`; returns whether it came.
  bool wait_for_error(std::string_view text) {
    while (err_.find(text) == std::string::npos)
      if (stderr_ < 0 || !pump(true)) return false;
    return true;
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

  /// Sends `signal` to the child and reaps it, with what it had printed.
  Finished kill_and_reap(int signal) {
    ::kill(pid_, signal);
    close_fd(stdin_);
    input_done_ = true;
    return finish();
  }

  /// Writes `input` and the rest of what was queued, closes stdin, collects the rest of the
  /// output and reaps the child.
  Finished finish(std::string_view input = {}) {
    pending_input_.append(input);
    input_done_ = true;
    while (stdout_ >= 0 || stderr_ >= 0)
      if (!pump(true)) {
        ::kill(own_group_ ? -pid_ : pid_, SIGKILL);  // hung: reported by pump(); do not hang the suite too
        break;
      }
    Finished done;
    const int status = reap();
    done.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    done.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
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
      ADD_FAILURE() << "dlpool did nothing for " << hang_limit.count() << " s; stdout: " << out_
                    << "; stderr: " << err_;
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

  /// Waits for the child to end and reaps it; returns its wait status. With its own group, the
  /// group is killed first, while the child's zombie still holds the group's id (so it cannot
  /// name anyone else's processes yet), and its members that are our children are reaped.
  int reap() {
    int status = 0;
    if (own_group_) {
      siginfo_t info{};
      while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
      }
      ::kill(-pid_, SIGKILL);
    }
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    if (own_group_)
      while (::waitpid(-pid_, nullptr, 0) > 0 || errno == EINTR) {
      }
    pid_ = -1;
    return status;
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

  bool own_group_ = false;
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
  std::string pending_input_, out_, err_;
  bool input_done_ = false;
};

/// `dlpool ARGS... --plugin-path <test plugins>` with `input` on stdin, run to the end.
inline Finished run(std::vector<std::string> args, std::string_view input = {}, const StdoutTo& to = {}) {
  args.push_back("--plugin-path");
  args.push_back(DLPOOL_TEST_PLUGIN_DIR);
  return Cli{args, to}.finish(input);
}

struct ErrorObject {
  std::string type, message;
};

/// The {"error": {"type": ..., "message": ...}} in `line`, or nothing if it is not one.
inline std::optional<ErrorObject> error_in(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("error")) return std::nullopt;
  const auto& e = doc["error"];
  if (!e.IsObject() || !e.HasMember("type") || !e.HasMember("message") || !e["type"].IsString() ||
      !e["message"].IsString())
    return std::nullopt;
  return ErrorObject{e["type"].GetString(), e["message"].GetString()};
}

inline bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

namespace fs = std::filesystem;

inline std::string contents(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

inline struct stat stat_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) ADD_FAILURE() << "stat " << path << ": " << std::strerror(errno);
  return st;
}

/// Every test checks it leaves no child of ours behind, running or zombie.
class CliTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_TRUE(dlpool::test::child_pids().empty()); }
};

}  // namespace dlpool::test::cli
