#pragma once
// An HDR-style histogram of durations: log-linear buckets (64 per power of two), so that a
// recorded value is known to within 1/64 of itself whatever its size, in fixed memory and with
// a record that costs a few instructions. Percentiles are read off the buckets; count, max and
// mean are exact. Header-only: it is small, and its tests need no access to the runtime's symbols.

#include <dlpool/observe.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace dlpool::detail {

class Histogram {
 public:
  static constexpr int sub_bits = 6;        // 2^6 buckets per power of two
  static constexpr int top_exponent = 44;   // 2^45 ns (9.8 hours) and above share the last bucket
  static constexpr std::size_t buckets = (top_exponent - sub_bits + 2) << sub_bits;

  /// Records `count` occurrences of `value` (nanoseconds).
  void record(std::uint64_t value, std::uint64_t count = 1) noexcept {
    counts_[index(value)] += count;
    total_ += count;
    sum_ += static_cast<long double>(value) * static_cast<long double>(count);
    if (value > max_) max_ = value;
  }
  void merge(const Histogram& other) noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept { return total_; }
  /// The value at quantile `q` (0..1]: the middle of the bucket holding it, at most max.
  [[nodiscard]] std::uint64_t quantile(double q) const noexcept;
  [[nodiscard]] Latency latency() const noexcept;

  /// The bucket of `value`, and the smallest value of a bucket (exposed for tests).
  static std::size_t index(std::uint64_t value) noexcept;
  static std::uint64_t lowest(std::size_t index) noexcept;

 private:
  std::array<std::uint64_t, buckets> counts_{};
  std::uint64_t total_ = 0, max_ = 0;
  long double sum_ = 0;
};

inline std::size_t Histogram::index(std::uint64_t value) noexcept {
  constexpr std::uint64_t sub = std::uint64_t{1} << sub_bits;
  if (value < sub) return static_cast<std::size_t>(value);  // exact below 64 ns
  const int exponent = static_cast<int>(std::bit_width(value)) - 1;
  if (exponent > top_exponent) return buckets - 1;
  const int shift = exponent - sub_bits;
  // The top sub_bits + 1 bits of the value: 64..127, numbered from 0 within its power of two.
  return static_cast<std::size_t>((shift + 1) << sub_bits) + static_cast<std::size_t>((value >> shift) - sub);
}

inline std::uint64_t Histogram::lowest(std::size_t index) noexcept {
  constexpr std::size_t sub = std::size_t{1} << sub_bits;
  if (index < sub) return index;
  const auto shift = index / sub - 1;
  return (sub + index % sub) << shift;
}

inline void Histogram::merge(const Histogram& other) noexcept {
  for (std::size_t i = 0; i < buckets; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

inline std::uint64_t Histogram::quantile(double q) const noexcept {
  if (total_ == 0) return 0;
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets; ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    const auto low = lowest(i);
    const auto width = (i + 1 < buckets ? lowest(i + 1) : low + 1) - low;
    return std::min(low + (width - 1) / 2, max_);
  }
  return max_;
}

inline Latency Histogram::latency() const noexcept {
  Latency out;
  out.count = total_;
  if (total_ == 0) return out;
  out.p50 = std::chrono::nanoseconds{quantile(0.50)};
  out.p90 = std::chrono::nanoseconds{quantile(0.90)};
  out.p99 = std::chrono::nanoseconds{quantile(0.99)};
  out.max = std::chrono::nanoseconds{max_};
  out.mean = std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(sum_ / static_cast<long double>(total_)))};
  return out;
}

}  // namespace dlpool::detail
