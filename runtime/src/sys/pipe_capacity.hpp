#pragma once

#include "sys/io.hpp"

#include <algorithm>
#include <cstddef>

namespace dlpool::detail {

/// A protocol pipe grown, by its writer, to hold a whole frame the first time one does not fit,
/// up to 1 MiB (Linux's default pipe-max-size): a large payload then crosses in a few writes and
/// reads instead of one per 64 KiB, each a context switch between host and worker. Pipes that
/// never carry large frames keep the default size, and so do not count against the user's pipe
/// memory limit. Used by one thread at a time.
class PipeCapacity {
 public:
  explicit PipeCapacity(int fd) noexcept : fd_{fd} {}

  /// Before writing `bytes` in one go.
  void fit(std::size_t bytes) noexcept {
    if (bytes <= capacity_ || capacity_ >= limit) return;
    const auto grown = grow_pipe(fd_, std::min(bytes, limit));
    capacity_ = grown != 0 ? grown : limit;  // could not grow: stay as it is, and stop asking
  }

 private:
  static constexpr std::size_t limit = 1 << 20;
  int fd_;
  std::size_t capacity_ = 64 * 1024;  // a new pipe's
};

}  // namespace dlpool::detail
