#pragma once
// What the test process owns right now, read from /proc: its child processes (zombies included),
// its threads and its open fds. Fixtures compare these before and after a test.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace dlpool::test {

/// The parent pid of `pid` from /proc/<pid>/stat, or -1 if it is gone.
inline int parent_of(int pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  if (!std::getline(stat, text)) return -1;
  // The command name in parentheses may contain spaces: the fields after the last ')' are fixed.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest{text.substr(close + 1)};
  char state = 0;
  int ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

/// Pids of every process whose parent is `parent`, zombies included.
inline std::vector<int> children_of(int parent) {
  std::vector<int> children;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc", ec}) {
    const auto name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); }))
      continue;
    const int pid = std::stoi(name);
    if (parent_of(pid) == parent) children.push_back(pid);
  }
  return children;
}

/// Pids of every process whose parent is this process, zombies included.
inline std::vector<int> child_pids() { return children_of(static_cast<int>(::getpid())); }

/// Whether `pid` names a process, running or zombie.
inline bool process_exists(int pid) {
  std::error_code ec;
  return std::filesystem::exists("/proc/" + std::to_string(pid), ec);
}

inline std::size_t count_entries(const char* dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator{dir, ec}; !ec && it != std::filesystem::directory_iterator{};
       it.increment(ec))
    ++n;
  return n;
}

inline std::size_t open_fd_count() { return count_entries("/proc/self/fd"); }
inline std::size_t thread_count() { return count_entries("/proc/self/task"); }

}  // namespace dlpool::test
