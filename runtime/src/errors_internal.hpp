#pragma once
// What the host makes of a worker that failed: how it ended, and the exception for an error
// record it sent (errors_internal.cpp). Shared by the runtime and the command line's probe.

#include <dlpool/detail/job.hpp>
#include <dlpool/wire/frame.hpp>

#include <exception>
#include <string>
#include <string_view>

namespace dlpool::detail {

/// "was killed by SIGKILL", "exited with status 3", "was lost" (-1: status unknown).
std::string describe_exit(int wait_status);

/// The exception for an error record a worker sent back, by its kind.
std::exception_ptr remote_error(wire::ErrorKind kind, std::string_view type, std::string_view message,
                                const TaskRef& task, std::size_t item, int pid);

}  // namespace dlpool::detail
