#pragma once
// Typed handles on the bundled `bench` plugin's tasks (plugins/bench/bench.cpp).

#include <dlpool/task.hpp>

#include <cstdint>
#include <string>

namespace dlpool::bench::tasks {

inline const Task<std::int64_t(std::int64_t)> noop{"bench", "noop"};
/// Python bytes in and out: std::string holds any bytes.
inline const Task<std::string(std::string)> echo{"bench", "echo"};
inline const Task<std::string(std::string)> echo_view{"bench", "echo_view"};  // std::string_view in the plugin
/// Always throws std::invalid_argument (the peer's ValueError).
inline const Task<std::int64_t(std::int64_t)> fail{"bench", "fail"};
inline const Task<std::int64_t(std::int64_t)> count_primes{"bench", "count_primes"};
inline const Task<std::int64_t(std::int64_t)> worker_pid{"bench", "worker_pid"};
/// Writes the worker's pid to the fifo given, then never returns.
inline const Task<std::int64_t(std::string)> hold_until_killed{"bench", "hold_until_killed"};

}  // namespace dlpool::bench::tasks
