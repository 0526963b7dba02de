// Test-only plugin whose static constructor crashes: the worker dies while loading it.

#include <dlpool/plugin.hpp>

#include <csignal>

DLPOOL_PLUGIN(crash_on_load, "1.0.0")

namespace {

const bool crashed = [] {
  std::raise(SIGSEGV);
  return true;
}();

int value() { return crashed ? 1 : 0; }
DLPOOL_TASK(value)

}  // namespace
