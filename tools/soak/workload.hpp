#pragma once

#include <dlpool/pool.hpp>

#include <cstdint>

namespace dlpool::soak {

/// What rounds of the workload have done so far.
struct Tally {
  std::uint64_t tasks = 0;     // calls answered, failures included
  std::uint64_t failures = 0;  // calls that failed as they were meant to
  std::uint64_t wrong = 0;     // results or errors that were not what they should be
};

/// One round of the soak workload through `pool`, with the bundled text plugin's repeat task:
/// apply_async calls, a map, an imap and a few calls that fail on purpose (a negative count),
/// every result checked. Runs about `size` tasks; adds what it did to `tally`.
void run_round(Pool& pool, std::uint64_t round, std::uint64_t size, Tally& tally);

}  // namespace dlpool::soak
