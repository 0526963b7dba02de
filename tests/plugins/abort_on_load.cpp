// Test-only plugin whose static constructor aborts: any process that loads it dies. `dlpool
// tasks` must still list its tasks, from the manifest section alone. Its signatures exercise the
// compile-time type names: user structs and templates, nested containers, a noexcept function,
// a function named with its namespace.

#include "abort_on_load_types.hpp"

#include <dlpool/plugin.hpp>

#include <array>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

DLPOOL_PLUGIN(abort_on_load, "2.5.0-rc1")

namespace {

const bool aborted = [] {
  std::abort();
  return true;
}();

geo::Box grow(geo::Box box, std::map<std::string, std::vector<long>> by) {
  box.width += static_cast<double>(by.size()) + (aborted ? 1 : 0);
  return box;
}
DLPOOL_TASK(grow)

std::optional<std::tuple<unsigned long, double>> stats(std::array<int, 3>, const std::pair<char, bool>&) { return {}; }
DLPOOL_TASK(stats)

int value() noexcept { return 1; }
DLPOOL_TASK(value)

}  // namespace

namespace geo {
Tagged<long> tag(Tagged<long> t) { return t; }
}  // namespace geo
DLPOOL_TASK(geo::tag)
