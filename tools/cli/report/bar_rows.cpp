#include "bar_rows.hpp"

#include <algorithm>

namespace dlpool::cli::report {

void merge_bars(std::vector<Bar>& bars, std::int64_t resolution) {
  std::sort(bars.begin(), bars.end(), [](const Bar& a, const Bar& b) { return a.start < b.start; });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    auto& into = bars[kept == 0 ? 0 : kept - 1];
    if (kept > 0 && (bars[i].start - into.end < resolution || bars[i].start < into.end)) {
      into.absorb(bars[i]);
    } else {
      bars[kept++] = bars[i];
    }
  }
  bars.resize(kept);
}

void BarRows::add(std::size_t row, const Bar& run) {
  if (row >= rows_.size()) rows_.resize(row + 1);
  auto& r = rows_[row];
  end_ = std::max(end_, run.end);
  // A worker runs its chunks one after the other, and they are mostly written in that order:
  // the common case merges into, or goes after, the row's last bar.
  if (!r.bars.empty()) {
    auto& last = r.bars.back();
    if (run.start >= last.start && (run.start - last.end < resolution_ || run.start < last.end)) {
      last.absorb(run);
      return;
    }
    if (run.start < last.start) r.sorted = false;
  }
  r.bars.push_back(run);
  if (++held_ > budget_) compact();
}

void BarRows::compact() {
  // Coarse enough at once that a trace with this many bars in its span leaves half the budget.
  resolution_ = std::max(resolution_ * 2, end_ / static_cast<std::int64_t>(budget_ / 2 + 1) + 1);
  for (;;) {
    held_ = 0;
    for (auto& row : rows_) {
      merge_bars(row.bars, resolution_);
      row.sorted = true;
      held_ += row.bars.size();
    }
    if (held_ <= budget_ / 2) return;
    if (resolution_ > end_) {
      // Past the span, every row is one bar: more rows than half the budget cannot be helped,
      // and the budget grows rather than every add() compacting again.
      budget_ = held_ * 2;
      return;
    }
    resolution_ *= 2;
  }
}

std::vector<std::vector<Bar>> BarRows::take() {
  std::vector<std::vector<Bar>> out;
  out.reserve(rows_.size());
  for (auto& row : rows_) {
    if (!row.sorted) merge_bars(row.bars, resolution_);
    out.push_back(std::move(row.bars));
  }
  rows_.clear();
  held_ = 0;
  return out;
}

}  // namespace dlpool::cli::report
