// The plugin the task fuzzer loads: pure tasks over every kind of argument the SDK carries, none
// of which may crash, hang or allocate more than its input suggests, whatever the fuzzer sends.
// (testkit would not do: its tasks kill their worker, block on fifos, or grow without bound.)

#include "fuzzkit_types.hpp"

#include <dlpool/plugin.hpp>

#include <algorithm>
#include <array>
#include <numeric>
#include <set>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <utility>

DLPOOL_PLUGIN(fuzzkit, "1.0.0")

namespace {

int square(int x) { return static_cast<int>(static_cast<unsigned>(x) * static_cast<unsigned>(x)); }
DLPOOL_TASK(square)

std::string echo(std::string bytes) { return bytes; }
DLPOOL_TASK(echo)

/// Throws std::invalid_argument for a negative x: the error-record path.
int checked(int x) {
  if (x < 0) throw std::invalid_argument{"negative input " + std::to_string(x)};
  return x;
}
DLPOOL_TASK(checked)

std::uint64_t sum(std::vector<std::uint64_t> values) {
  return std::accumulate(values.begin(), values.end(), std::uint64_t{0});
}
DLPOOL_TASK(sum)

std::map<std::string, int> count_words(std::vector<std::string> words) {
  std::map<std::string, int> counts;
  for (const auto& w : words) ++counts[w];
  return counts;
}
DLPOOL_TASK(count_words)

fuzzkit::Point mirror(fuzzkit::Point p) { return {p.y, p.x}; }
DLPOOL_TASK(mirror)

/// (Not sorted: a NaN from the fuzzer would break std::sort's ordering, a bug of the task's own.)
fuzzkit::Record reverse_values(fuzzkit::Record r) {
  std::reverse(r.values.begin(), r.values.end());
  return r;
}
DLPOOL_TASK(reverse_values)

std::set<std::string> keys(std::unordered_map<std::string, std::vector<int>> table) {
  std::set<std::string> out;
  for (const auto& entry : table) out.insert(entry.first);
  return out;
}
DLPOOL_TASK(keys)

unsigned long count_true(std::vector<bool> flags) {
  return static_cast<unsigned long>(std::count(flags.begin(), flags.end(), true));
}
DLPOOL_TASK(count_true)

std::optional<std::string> first(std::vector<std::vector<std::string>> rows) {
  for (const auto& row : rows)
    if (!row.empty()) return row.front();
  return std::nullopt;
}
DLPOOL_TASK(first)

std::tuple<int, std::string, double> rotate(std::pair<std::string, int> p, double d) { return {p.second, p.first, d}; }
DLPOOL_TASK(rotate)

std::array<char, 4> reverse4(std::array<char, 4> a) { return {a[3], a[2], a[1], a[0]}; }
DLPOOL_TASK(reverse4)

void nothing(std::string) {}
DLPOOL_TASK(nothing)

}  // namespace
