#pragma once
// How a failed call or item is reported: an exception type and a message.

#include <exception>
#include <string>

namespace dlpool::cli {

struct Failure {
  /// "RemoteError/std::invalid_argument" for a task that threw (the pool's exception, then the
  /// task's), else the dlpool exception ("PluginNotFound", "WorkerLostError", "EncodingError",
  /// ...) or the C++ type of any other exception ("std::system_error").
  std::string type;
  /// What the task threw for a RemoteError (without the pool's decoration), else what().
  std::string message;
  /// The worker it happened in, when the error says (a task that threw, a worker lost or timed
  /// out); 0 otherwise.
  int pid = 0;
};

/// What `error` is, for an error object. Never throws for a non-null `error`.
[[nodiscard]] Failure failure_of(std::exception_ptr error);

/// The type used for a line or argument string that is not a JSON array, rejected before it
/// reaches a worker, and for the pool's InvalidArguments: the same mistake, found by the plugin.
inline constexpr const char* invalid_arguments_type = "InvalidArguments";

}  // namespace dlpool::cli
