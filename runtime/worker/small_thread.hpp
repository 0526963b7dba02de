#pragma once

#include <cstddef>

namespace dlpool::worker {

/// Starts a detached thread running `body(argument)` on a stack of `stack_bytes`: the worker's
/// own threads (the host watchdog, the sandbox supervisor) only wait and read /proc, and a
/// default 8 MiB stack would count against the worker's memory limit (RLIMIT_DATA). Returns
/// false if the thread could not be started.
bool start_small_thread(void* (*body)(void*), void* argument, std::size_t stack_bytes = 64 * 1024);

}  // namespace dlpool::worker
