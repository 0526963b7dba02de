// Test-only plugin: tasks that do what a careless or hostile plugin does to its worker and to
// the host around it (the hardening tests: reliability_test, hostile_test, cli_test).

#include <dlpool/plugin.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

DLPOOL_PLUGIN(rogue, "1.0.0")

namespace {

/// Returns `x` at once, but leaves a thread behind that ends the worker `ms` milliseconds later:
/// the worker dies while the host believes it idle, or while chunks wait behind the one it runs.
int exit_soon(int x, int ms) {
  std::thread{[ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    ::_exit(1);
  }}.detach();
  return x;
}
DLPOOL_TASK(exit_soon)

/// Returns `x`, except that item `at` first waits for a line on the fifo `gate`, then ends its
/// worker: the test decides when, e.g. once chunks are queued behind it.
int gate_then_exit(int x, int at, std::string gate) {
  if (x == at) {
    std::ifstream fifo{gate};
    std::string line;
    std::getline(fifo, line);
    ::_exit(1);
  }
  return x;
}
DLPOOL_TASK(gate_then_exit)

/// Allocates `bytes` and touches every page of them, then frees them: what a task that eats
/// memory does. Returns `bytes`.
std::uint64_t eat_memory(std::uint64_t bytes) {
  std::vector<char> eaten(bytes);
  for (std::size_t at = 0; at < eaten.size(); at += 4096) eaten[at] = 1;
  return eaten.size();
}
DLPOOL_TASK(eat_memory)

/// Allocates `bytes`, touches them and keeps them for the life of the worker: its resident
/// memory grows. Returns the worker's pid.
int hold_memory(std::uint64_t bytes) {
  static std::vector<std::vector<char>> held;
  auto& block = held.emplace_back(bytes);
  for (std::size_t at = 0; at < block.size(); at += 4096) block[at] = 1;
  return static_cast<int>(::getpid());
}
DLPOOL_TASK(hold_memory)

/// Opens /dev/null up to `n` times, then closes what it opened: how many it could open.
int open_files(int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    fds.push_back(fd);
  }
  for (const int fd : fds) ::close(fd);
  return static_cast<int>(fds.size());
}
DLPOOL_TASK(open_files)

/// Moves the worker to `dir` (chdir); 0, or errno.
int chdir_to(std::string dir) { return ::chdir(dir.c_str()) == 0 ? 0 : errno; }
DLPOOL_TASK(chdir_to)

}  // namespace
