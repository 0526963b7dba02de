// Test-only plugin with a manifest but no SDK ABI marker (as an SDK older than the marker would
// build it), and a static constructor that aborts: a worker must refuse it without loading it.

#include <dlpool/wire/abi.hpp>

#include <cstdlib>

namespace {
const bool aborted = [] {
  std::abort();
  return true;
}();
const dlpool_manifest manifest{DLPOOL_SDK_ABI_VERSION, "nomarker", "1.0.0", 0, nullptr};
}  // namespace

extern "C" __attribute__((visibility("default"))) const dlpool_manifest* dlpool_plugin_manifest() {
  return aborted ? &manifest : nullptr;
}
