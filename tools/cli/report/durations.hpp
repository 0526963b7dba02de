#pragma once
// A set of durations (chunks' run times, queue waits): every value is kept, so percentiles are
// exact, and counted in log-scale buckets for the report's histograms.

#include <array>
#include <cstdint>
#include <vector>

namespace dlpool::cli::report {

class Durations {
 public:
  /// A bucket of the histogram: [low, high) nanoseconds; `high` is -1 for the last, unbounded one.
  struct Bucket {
    std::int64_t low = 0, high = 0;
    std::uint64_t count = 0;
  };

  /// Four buckets a decade from 1 µs (1, 1.78, 3.16, 5.62, 10 µs, ...) up to 10^7 s, one below
  /// and one above: fine enough to tell a 2x change, coarse enough to stay a handful of bars.
  static constexpr std::size_t per_decade = 4;
  static constexpr std::size_t edge_count = 13 * per_decade + 1;

  void add(std::int64_t ns);
  /// Sorts the values: percentile() and max() need it.
  void finish();

  [[nodiscard]] std::uint64_t count() const noexcept { return values_.size(); }
  /// The nearest-rank percentile (the smallest value at least `p`% of values are at or under),
  /// 0 < p <= 100; 0 when there are none. After finish().
  [[nodiscard]] std::int64_t percentile(unsigned p) const noexcept;
  [[nodiscard]] std::int64_t max() const noexcept { return values_.empty() ? 0 : values_.back(); }
  /// The buckets from the first non-empty one to the last, empty ones between included.
  [[nodiscard]] std::vector<Bucket> buckets() const;

 private:
  std::vector<std::int64_t> values_;
  std::array<std::uint64_t, edge_count + 1> counts_{};
};

}  // namespace dlpool::cli::report
