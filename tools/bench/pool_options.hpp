#pragma once
// The options of every pool the benchmark starts: only the worker count differs from the
// defaults, as in the peer's Pool(P). (A function rather than designated initializers, which
// -Wextra flags for every member left out.)

#include <dlpool/pool.hpp>

namespace dlpool::bench {

[[nodiscard]] inline PoolOptions pool_options(int processes) {
  PoolOptions options;
  options.processes = processes;
  return options;
}

}  // namespace dlpool::bench
