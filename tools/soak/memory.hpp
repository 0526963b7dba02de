#pragma once

#include <cstdint>

namespace dlpool::soak {

/// This process's resident set size in KiB, from /proc/self/statm; 0 if it cannot be read.
std::uint64_t resident_kib() noexcept;

}  // namespace dlpool::soak
