#pragma once
// Helpers shared by the pool tests: options pointing at the test plugins, fifos to hold a task
// until the test lets it go, and the leak checks every pool test ends with.

#include <dlpool/pool.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::test {

inline PoolOptions options(int processes = 2) {
  PoolOptions o;
  o.processes = processes;
  o.plugin_path = {DLPOOL_TEST_PLUGIN_DIR};
  return o;
}

/// Open file descriptors of this process.
inline int count_fds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator{"/proc/self/fd"}) ++n;
  return n;
}

/// Direct children of this process that still exist (running or zombie).
inline int count_children() {
  int n = 0;
  const std::string me = std::to_string(::getpid());
  for (const auto& e : std::filesystem::directory_iterator{"/proc"}) {
    std::ifstream stat{e.path() / "stat"};
    std::string pid, comm, state, ppid;
    if (!(stat >> pid >> comm >> state >> ppid)) continue;
    if (ppid == me) ++n;
  }
  return n;
}

/// A temp dir with fifos: a task blocked in testkit.wait_fifo(path) returns once release() is called.
class Fifos {
 public:
  Fifos() {
    char tmpl[] = "/tmp/dlpool-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~Fifos() { std::filesystem::remove_all(dir_); }
  std::string make(const std::string& name) {
    const auto path = dir_ + "/" + name;
    ::mkfifo(path.c_str(), 0600);
    return path;
  }
  [[nodiscard]] std::string path(const std::string& name) const { return dir_ + "/" + name; }
  /// Unblocks one reader of the fifo (opening for writing waits for the reader to open).
  static void release(const std::string& path) { std::ofstream{path} << "go\n"; }

 private:
  std::string dir_;
};

/// Fails a test that leaves a child process or a file descriptor behind.
class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fds_ = count_fds();
    children_ = count_children();
  }
  void TearDown() override {
    EXPECT_EQ(count_children(), children_) << "a child process was left behind";
    EXPECT_EQ(count_fds(), fds_) << "a file descriptor was leaked";
  }

 private:
  int fds_ = 0, children_ = 0;
};

}  // namespace dlpool::test
