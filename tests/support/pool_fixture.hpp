#pragma once
// What pool tests share: options pointing at the test plugins. (Every test binary also checks,
// after each test, that no child process and no file descriptor was left behind:
// support/leak_check.cpp.)

#include "support/fifo.hpp"

#include <dlpool/pool.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace dlpool::test {

inline PoolOptions options(int processes = 2) {
  PoolOptions o;
  o.processes = processes;
  o.plugin_path = {DLPOOL_TEST_PLUGIN_DIR};
  return o;
}

/// Under a sanitizer a worker would turn SIGSEGV/SIGABRT into an exit(1) report: let the workers
/// of the next pool die by the signal itself, which is what the calling test is about. (Call
/// before any pool thread runs: setenv is not thread-safe.) atexit_sleep_ms=0: see tests/CMakeLists.txt.
inline void let_workers_die_by_signal() {
  ::setenv("ASAN_OPTIONS", "handle_segv=0:handle_abort=0", 1);
  ::setenv("TSAN_OPTIONS", "handle_segv=0:handle_abort=0:atexit_sleep_ms=0", 1);
}

class PoolTest : public ::testing::Test {};

// What the test files compiled into one executable share, defined once: an executable's files are
// compiled together (a unity build: see the top CMakeLists.txt), where two definitions of one name
// in their anonymous namespaces would clash.
inline const Task<int(int)> square{"testkit", "square"};
inline const Task<int(std::string, bool)> hang{"testkit", "hang"};
inline const Task<int()> worker_pid{"testkit", "pid"};
inline const Task<int(int)> die{"testkit", "die"};
inline const Task<int(std::string, int)> wait_fifo{"testkit", "wait_fifo"};
inline const Task<int(int, int, std::string)> lethal{"testkit", "lethal"};

inline bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace dlpool::test
