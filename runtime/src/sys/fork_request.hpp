#pragma once

#include <cstddef>

namespace dlpool::detail {

/// The most bytes of a fork-server request (the names of plugins to inspect ahead, each followed
/// by '\0'): the server reads no more, and the host sends no more.
inline constexpr std::size_t fork_request_max = 4096;

/// The descriptors a request carries, placed at fd 3 on in the worker: the task and result
/// pipes, then the worker's doorbell, ledger and shared arena if it has them.
inline constexpr std::size_t fork_request_min_fds = 2;
inline constexpr std::size_t fork_request_max_fds = 5;

}  // namespace dlpool::detail
