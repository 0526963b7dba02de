#pragma once
// The timeline's bars: a row per worker track, a bar per chunk run, in memory bounded whatever
// the trace's size. Runs closer together than a resolution are merged into one bar (which keeps
// how many runs and how much busy time it holds); the resolution starts at nothing and doubles
// whenever the rows hold too many bars, so a trace of millions of chunks is kept as a few
// hundred thousand bars, still finer than a page can show.

#include <cstdint>
#include <vector>

namespace dlpool::cli::report {

/// A run, or adjacent runs merged. Times in nanoseconds since the pool started.
struct Bar {
  std::int64_t start = 0, end = 0;
  std::int64_t busy = 0;    // the runs' time, gaps left out
  std::uint32_t runs = 0;    // how many runs it holds
  std::uint32_t failed = 0;  // of which failed: the task's error, or lost with the worker
  std::uint32_t lost = 0;    // of which cut short by their worker's death

  /// Takes `next`, which starts after this bar does, into it.
  void absorb(const Bar& next) noexcept {
    end = end > next.end ? end : next.end;
    busy += next.busy;
    runs += next.runs;
    failed += next.failed;
    lost += next.lost;
  }
};

/// Sorts `bars` by start and merges each one into the one before when it starts less than
/// `resolution` ns after that one's end (overlapping ones always).
void merge_bars(std::vector<Bar>& bars, std::int64_t resolution);

class BarRows {
 public:
  /// At most this many bars are held; over it, the resolution doubles and rows are merged.
  explicit BarRows(std::size_t budget = std::size_t{1} << 20) : budget_{budget} {}

  /// Adds a run to row `row` (rows are made as needed).
  void add(std::size_t row, const Bar& run);

  /// The bars of each row, sorted and merged at the current resolution.
  [[nodiscard]] std::vector<std::vector<Bar>> take();

  [[nodiscard]] std::int64_t resolution() const noexcept { return resolution_; }

 private:
  void compact();

  struct Row {
    std::vector<Bar> bars;
    bool sorted = true;
  };
  std::vector<Row> rows_;
  std::size_t budget_;
  std::size_t held_ = 0;
  std::int64_t resolution_ = 0;  // ns
  std::int64_t end_ = 0;         // the latest run end seen
};

}  // namespace dlpool::cli::report
