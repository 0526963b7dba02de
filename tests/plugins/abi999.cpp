// Test-only plugin as an SDK of ABI 999 would build it: its ABI marker and its manifest both say
// 999. Its static constructor aborts, so a worker that loaded it would die: it must be refused
// from its symbol table alone.

#include <dlpool/wire/abi.hpp>

#include <cstdlib>

namespace {
const bool aborted = [] {
  std::abort();
  return true;
}();
const dlpool_manifest manifest{999, "abi999", "1.0.0", 0, nullptr};
}  // namespace

extern "C" __attribute__((visibility("default"))) unsigned dlpool_sdk_abi_999() { return 999; }
extern "C" __attribute__((visibility("default"))) const dlpool_manifest* dlpool_plugin_manifest() {
  return aborted ? &manifest : nullptr;
}
