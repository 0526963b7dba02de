// Test-only plugin whose static destructor never returns (and ignores SIGTERM): a worker that
// loaded it cannot exit by itself. The pool must kill it kill_grace after asking it to exit.

#include <dlpool/plugin.hpp>

#include <csignal>

#include <unistd.h>

DLPOOL_PLUGIN(stuck_exit, "1.0.0")

namespace {

struct NeverLetsGo {
  ~NeverLetsGo() {
    std::signal(SIGTERM, SIG_IGN);
    for (;;) ::pause();
  }
};
NeverLetsGo never_lets_go;

int value() { return 42; }
DLPOOL_TASK(value)

}  // namespace
