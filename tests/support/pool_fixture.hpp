#pragma once
// The fixture every pool test derives from: options pointing at the test plugins, and the leak
// check each test ends with (no child process, no file descriptor left behind).

#include "support/fifo.hpp"
#include "support/process_census.hpp"

#include <dlpool/pool.hpp>

#include <gtest/gtest.h>

namespace dlpool::test {

inline PoolOptions options(int processes = 2) {
  PoolOptions o;
  o.processes = processes;
  o.plugin_path = {DLPOOL_TEST_PLUGIN_DIR};
  return o;
}

class PoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fds_ = open_fd_count();
    children_ = child_pids().size();
  }
  void TearDown() override {
    EXPECT_EQ(child_pids().size(), children_) << "a child process was left behind";
    EXPECT_EQ(open_fd_count(), fds_) << "a file descriptor was leaked";
  }

 private:
  std::size_t fds_ = 0, children_ = 0;
};

}  // namespace dlpool::test
