#pragma once
// How much worker time was busy running chunks, per slice of the run, in fixed memory: the run
// is cut into at most `slots` buckets from the pool's start, whose width doubles (merging them
// in pairs) whenever a run ends past the last one. Exact: each run's time is split between the
// buckets it overlaps, so coarsening loses nothing but resolution.

#include <cstdint>
#include <vector>

namespace dlpool::cli::report {

class BusyTime {
 public:
  static constexpr std::size_t slots = 4096;

  /// Adds a run from `start` to `end` (ns since the pool started).
  void add(std::int64_t start, std::int64_t end);

  struct Buckets {
    std::int64_t width = 0;             // ns; bucket i covers [i * width, (i + 1) * width)
    std::vector<std::int64_t> busy;     // busy ns in each
  };
  /// The buckets merged k at a time, for the smallest k that leaves at most `at_most` of them,
  /// up to the last run's end.
  [[nodiscard]] Buckets coarsened(std::size_t at_most) const;

 private:
  std::int64_t width_ = 1000;  // 1 µs to start with
  std::int64_t end_ = 0;
  std::vector<std::int64_t> busy_ = std::vector<std::int64_t>(slots, 0);
};

}  // namespace dlpool::cli::report
