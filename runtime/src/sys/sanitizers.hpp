#pragma once

namespace dlpool::detail {

/// Whether this code is built with AddressSanitizer or ThreadSanitizer, whose runtimes keep
/// threads and state that a raw clone() does not carry over (see sys/fork_server.hpp).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)  // GCC's -fsanitize
inline constexpr bool built_with_sanitizer = true;
#elif defined(__has_feature)  // Clang's
inline constexpr bool built_with_sanitizer = __has_feature(address_sanitizer) || __has_feature(thread_sanitizer);
#else
inline constexpr bool built_with_sanitizer = false;
#endif

}  // namespace dlpool::detail
