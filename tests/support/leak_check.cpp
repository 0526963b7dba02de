// Linked into every test binary: after each test, no child process and no file descriptor may
// remain that were not there when it started. A leak fails the test that caused it.

#include "support/process_census.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>

#include <sys/wait.h>

namespace {

class LeakCheck final : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo&) override {
    fds_ = dlpool::test::open_fd_count();
    children_ = dlpool::test::child_pids();
  }

  // OnTestEnd runs while the test is still current, so ADD_FAILURE is charged to it; and
  // listeners get OnTestEnd in reverse order, so this one reports before the result printer.
  void OnTestEnd(const ::testing::TestInfo&) override {
    auto children = dlpool::test::child_pids();
    std::erase_if(children, [&](int pid) { return std::ranges::find(children_, pid) != children_.end(); });
    for (const int pid : children) {
      ADD_FAILURE() << "child process " << pid << " was left behind (not reaped)";
      ::kill(pid, SIGKILL);  // and kept out of the next test
      ::waitpid(pid, nullptr, 0);
    }
    if (const auto fds = dlpool::test::open_fd_count(); fds != fds_)
      ADD_FAILURE() << "open file descriptors: " << fds_ << " before the test, " << fds << " after";
  }

 private:
  std::size_t fds_ = 0;
  std::vector<int> children_;
};

const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakCheck);  // gtest owns it
  return true;
}();

}  // namespace
