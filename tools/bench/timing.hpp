#pragma once
// What every workload of dlpool-bench and dlpool-mpi-bench measures with and checks against.

#include <chrono>
#include <stdexcept>
#include <string>

namespace dlpool::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// The peers' `assert`s: a benchmark that got wrong answers must not print a figure.
inline void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error{"wrong result: " + what};
}

}  // namespace dlpool::bench
