#include "durations.hpp"

#include <algorithm>
#include <cmath>

namespace dlpool::cli::report {
namespace {

/// Bucket edges in nanoseconds: 1000 * 10^(k/4). Integers, so a value on an edge (100 µs,
/// 1 ms) falls in the bucket it starts, whatever the floating point of log10 would say.
const std::array<std::int64_t, Durations::edge_count>& edges() {
  static const auto table = [] {
    std::array<std::int64_t, Durations::edge_count> e{};
    for (std::size_t k = 0; k < e.size(); ++k)
      e[k] = std::llround(1000.0 * std::pow(10.0, static_cast<double>(k) / Durations::per_decade));
    return e;
  }();
  return table;
}

}  // namespace

void Durations::add(std::int64_t ns) {
  ns = std::max<std::int64_t>(ns, 0);
  values_.push_back(ns);
  const auto& e = edges();
  ++counts_[static_cast<std::size_t>(std::upper_bound(e.begin(), e.end(), ns) - e.begin())];
}

void Durations::finish() { std::sort(values_.begin(), values_.end()); }

std::int64_t Durations::percentile(unsigned p) const noexcept {
  if (values_.empty()) return 0;
  const auto n = values_.size();
  // In integers: ceil(p% of n) with doubles could land one rank off (0.9 * 10 is not 9).
  const auto rank = std::clamp<std::size_t>((p * n + 99) / 100, 1, n);
  return values_[rank - 1];
}

std::vector<Durations::Bucket> Durations::buckets() const {
  std::vector<Bucket> out;
  const auto first = std::find_if(counts_.begin(), counts_.end(), [](auto c) { return c != 0; });
  if (first == counts_.end()) return out;
  const auto last = std::find_if(counts_.rbegin(), counts_.rend(), [](auto c) { return c != 0; }).base();
  const auto& e = edges();
  for (auto it = first; it != last; ++it) {
    const auto i = static_cast<std::size_t>(it - counts_.begin());
    out.push_back({i == 0 ? 0 : e[i - 1], i < e.size() ? e[i] : -1, *it});
  }
  return out;
}

}  // namespace dlpool::cli::report
