#pragma once
// A short busy-wait before a caller blocks on a result (see src/spin.cpp for why).

#include <dlpool/export.hpp>

#include <atomic>
#include <cstdint>

namespace dlpool::detail {

/// Busy-waits, for at most 100 microseconds, until `word` no longer holds `seen`.
/// Returns whether it changed; the caller then checks its condition under its lock as usual, and
/// blocks if it must. Never a substitute for that lock: only a way to skip a futex sleep.
DLPOOL_API bool spin_until_changed(const std::atomic<std::uint32_t>& word, std::uint32_t seen) noexcept;

}  // namespace dlpool::detail
