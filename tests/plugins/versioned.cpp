// Test-only plugin built three times (tests/plugins/CMakeLists.txt): v1 and v2 differ only in the
// version they report; v3 cannot load (an unresolved symbol). The hot-swap tests install one over
// the other and restart the pool.

#include <dlpool/plugin.hpp>

#include <fstream>
#include <string>

#ifdef VERSIONED_BROKEN
extern "C" int dlpool_test_symbol_that_does_not_exist();
#endif

DLPOOL_PLUGIN(versioned, VERSIONED_VERSION)

namespace {

/// The version of the file this worker loaded.
std::string version(int) {
#ifdef VERSIONED_BROKEN
  return std::to_string(dlpool_test_symbol_that_does_not_exist());
#else
  return VERSIONED_VERSION;
#endif
}
DLPOOL_TASK(version)

/// As version, after appending a line to `started` and once a line can be read from the fifo
/// `gate`: holds a worker busy until the test lets it go.
std::string gated_version(std::string started, std::string gate) {
  { std::ofstream{started, std::ios::app} << "started\n"; }
  std::ifstream fifo{gate};
  std::string line;
  std::getline(fifo, line);
  return version(0);
}
DLPOOL_TASK(gated_version)

}  // namespace
