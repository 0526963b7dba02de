#pragma once
// The benchmark's output: one JSON line per workload in the CPython peer's format,
//   {"peer": "dlpool", "build": "Release", "workload": "apply_latency", "value": 12.3, "unit": "us", ...}
// so that scripts/bench.sh can put each dlpool figure beside the peer's.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace dlpool::bench {

/// One measurement: the workload, its headline value and unit, then extra fields in the order
/// they were added (a field set twice keeps its first place and takes the new value).
class Row {
 public:
  Row(std::string workload, double value, std::string unit);

  [[nodiscard]] const std::string& workload() const noexcept { return workload_; }
  [[nodiscard]] double value() const noexcept { return value_; }
  [[nodiscard]] const std::string& unit() const noexcept { return unit_; }
  void set_value(double value) noexcept { value_ = value; }

  Row& number(const std::string& key, double value);
  Row& integer(const std::string& key, std::int64_t value);
  Row& text(const std::string& key, std::string value);
  Row& numbers(const std::string& key, std::vector<double> values);
  /// `json` (valid JSON text, such as an array of Row::json() objects) is embedded as it is.
  Row& raw_json(const std::string& key, std::string json);

  /// The JSON line, without a newline. Numbers are rounded to 3 decimals, as the peer's
  /// round(value, 3). Throws std::logic_error for a value that is not finite (no JSON for it).
  [[nodiscard]] std::string json() const;

 private:
  struct Raw {
    std::string json;
  };
  using Field = std::variant<double, std::int64_t, std::string, std::vector<double>, Raw>;
  Row& put(const std::string& key, Field value);

  std::string workload_;
  double value_;
  std::string unit_;
  std::vector<std::pair<std::string, Field>> extras_;
};

/// The median, as Python's statistics.median (the mean of the middle two for an even count).
/// Throws std::logic_error for an empty list.
[[nodiscard]] double median(std::vector<double> values);

/// The value at fraction `q` of the sorted values, indexed as the peer does: sorted[int(q * (n - 1))].
[[nodiscard]] double quantile(std::vector<double> values, double q);

/// Runs `measure` once untimed ("warm_up" in the row: the first run on a pool pays for growing its
/// pipes and for the allocator's first large blocks, which a long-running host pays once), then
/// `repeat` times (at least once), and returns the median run's row, its value replaced by the
/// median of those runs and "runs" listing them in the order they ran. The other fields (a p99,
/// say) are the median run's: the run whose value ranks in the middle, the lower middle for an
/// even count.
[[nodiscard]] Row median_of_runs(int repeat, const std::function<Row()>& measure);

/// Prints the row's JSON line on stdout and flushes it, as the peer's print(..., flush=True):
/// a reader sees each workload as soon as it is done.
void emit(const Row& row);

}  // namespace dlpool::bench
