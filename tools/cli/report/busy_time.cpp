#include "busy_time.hpp"

#include <algorithm>

namespace dlpool::cli::report {

void BusyTime::add(std::int64_t start, std::int64_t end) {
  start = std::max<std::int64_t>(start, 0);
  if (end <= start) return;
  while (end > width_ * static_cast<std::int64_t>(slots)) {
    for (std::size_t i = 0; i < slots / 2; ++i) busy_[i] = busy_[2 * i] + busy_[2 * i + 1];
    std::fill(busy_.begin() + slots / 2, busy_.end(), 0);
    width_ *= 2;
  }
  end_ = std::max(end_, end);
  for (auto i = start / width_; i * width_ < end; ++i) {
    const auto from = std::max(start, i * width_), to = std::min(end, (i + 1) * width_);
    busy_[static_cast<std::size_t>(i)] += to - from;
  }
}

BusyTime::Buckets BusyTime::coarsened(std::size_t at_most) const {
  Buckets out;
  const auto used = static_cast<std::size_t>((end_ + width_ - 1) / width_);
  if (used == 0 || at_most == 0) return out;
  const auto k = (used + at_most - 1) / at_most;
  out.width = width_ * static_cast<std::int64_t>(k);
  out.busy.assign((used + k - 1) / k, 0);
  for (std::size_t i = 0; i < used; ++i) out.busy[i / k] += busy_[i];
  return out;
}

}  // namespace dlpool::cli::report
