// Test-only plugin: tasks that do what a careless or hostile plugin does to its worker and to
// the host around it (the hardening tests: reliability_test, hostile_test, cli_test).

#include <dlpool/plugin.hpp>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

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

/// Moves the worker to `dir` (chdir); 0, or errno.
int chdir_to(std::string dir) { return ::chdir(dir.c_str()) == 0 ? 0 : errno; }
DLPOOL_TASK(chdir_to)

}  // namespace
