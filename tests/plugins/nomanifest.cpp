// Test-only shared object with no dlpool manifest and a static constructor that aborts: a worker
// must refuse it without loading it.

#include <cstdlib>

namespace {
const bool aborted = [] {
  std::abort();
  return true;
}();
}  // namespace

extern "C" __attribute__((visibility("default"))) int nomanifest_answer() { return aborted ? 42 : 0; }
