#pragma once

#include <cstddef>

namespace dlpool::detail {

/// The most bytes of a fork-server request (the names of plugins to inspect ahead, each followed
/// by '\0'): the server reads no more, and the host sends no more.
inline constexpr std::size_t fork_request_max = 4096;

}  // namespace dlpool::detail
