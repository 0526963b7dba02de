#pragma once
// Every error the pool raises. Catch dlpool::Error for all of them; OS failures (a pipe or spawn
// that fails) are std::system_error. Messages name the thing and the cause, e.g.
// "worker 4121 killed by SIGKILL while running text.word_count (job 7, chunk 3)".

#include <dlpool/export.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace dlpool {

class DLPOOL_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Misuse of the API, CPython's ValueError: "Pool not running", "Number of processes must be at
/// least 1", "Chunksize must be 1+, not 0", ...
class DLPOOL_API UsageError : public Error {
 public:
  using Error::Error;
};

/// AsyncResult::get(timeout) or IMapIterator::next(timeout) gave up waiting. The task goes on.
class DLPOOL_API TimeoutError : public Error {
 public:
  using Error::Error;
};

/// A task threw. Carries the exception's demangled type name and what() as the plugin saw them.
class DLPOOL_API RemoteError : public Error {
 public:
  RemoteError(std::string remote_type, std::string remote_message, std::string plugin, std::string task, int pid);
  [[nodiscard]] const std::string& remote_type() const noexcept { return remote_type_; }
  [[nodiscard]] const std::string& remote_message() const noexcept { return remote_message_; }
  [[nodiscard]] const std::string& plugin() const noexcept { return plugin_; }
  [[nodiscard]] const std::string& task() const noexcept { return task_; }
  [[nodiscard]] int pid() const noexcept { return pid_; }

 private:
  std::string remote_type_, remote_message_, plugin_, task_;
  int pid_;
};

/// The arguments or the result of a task could not be encoded or decoded (CPython's
/// MaybeEncodingError). The worker survives.
class DLPOOL_API EncodingError : public Error {
 public:
  using Error::Error;
};

/// The arguments of an item do not fit the task's parameters, as the plugin decodes them: JSON
/// that is not an array of as many values, a value that does not fit its type exactly (a number
/// out of range, 2.5 for an int, a string for a number), or binary arguments that do not decode.
/// what() says which argument and why: "... argument 1: 300 is out of range for unsigned char
/// (0 to 255)". Only that item fails; the worker carries on. It is an EncodingError, so code that
/// catches those still catches it.
class DLPOOL_API InvalidArguments : public EncodingError {
 public:
  using EncodingError::EncodingError;
};

/// The worker running a chunk died: killed by a signal or exited. Only that chunk fails; the
/// worker is replaced.
class DLPOOL_API WorkerLostError : public Error {
 public:
  WorkerLostError(int pid, int wait_status, std::string plugin, std::string task, std::uint64_t job,
                  std::uint32_t chunk);
  /// `who` ended as `how`: "worker 4121 on node7 (MPI rank 3)", "was lost with its agent (...)".
  /// `wait_status` is -1 when no exit status is known (a remote worker whose agent was lost).
  WorkerLostError(const std::string& who, int pid, int wait_status, const std::string& how, const std::string& plugin,
                  const std::string& task, std::uint64_t job, std::uint32_t chunk);
  [[nodiscard]] int pid() const noexcept { return pid_; }
  /// The raw waitpid() status: use WIFSIGNALED/WTERMSIG/WEXITSTATUS.
  [[nodiscard]] int wait_status() const noexcept { return wait_status_; }
  [[nodiscard]] std::uint64_t job() const noexcept { return job_; }
  [[nodiscard]] std::uint32_t chunk() const noexcept { return chunk_; }

 private:
  int pid_, wait_status_;
  std::uint64_t job_;
  std::uint32_t chunk_;
};

/// A chunk ran past its task timeout (PoolOptions::task_timeout or Task::with_timeout, times the
/// chunk's item count): its worker was stopped (SIGTERM, then SIGKILL after the grace period) and
/// replaced. Every item of the chunk fails with this.
class DLPOOL_API TaskTimeout : public Error {
 public:
  TaskTimeout(int pid, std::chrono::milliseconds limit, std::string plugin, std::string task, std::uint64_t job,
              std::uint32_t chunk);
  [[nodiscard]] int pid() const noexcept { return pid_; }
  /// The time the chunk was allowed.
  [[nodiscard]] std::chrono::milliseconds limit() const noexcept { return limit_; }
  [[nodiscard]] std::uint64_t job() const noexcept { return job_; }
  [[nodiscard]] std::uint32_t chunk() const noexcept { return chunk_; }

 private:
  int pid_;
  std::chrono::milliseconds limit_;
  std::uint64_t job_;
  std::uint32_t chunk_;
};

/// The call was cancelled (AsyncResult::cancel, IMapIterator::cancel) before it completed.
class DLPOOL_API Cancelled : public Error {
 public:
  using Error::Error;
};

/// Workers keep dying before they are ready (the worker executable cannot run, or crashes while
/// starting): rather than respawn them forever, the pool fails its work with this.
class DLPOOL_API WorkerStartError : public Error {
 public:
  using Error::Error;
};

/// A worker went over one of its resource limits (PoolOptions::limits) while running this chunk:
/// its task ran out of memory under the memory limit, or used up its CPU time. The message names
/// the limit. The worker is replaced; the other chunks are not affected.
class DLPOOL_API ResourceLimitError : public Error {
 public:
  using Error::Error;
};

/// The pool was terminated before this work completed.
class DLPOOL_API PoolTerminated : public Error {
 public:
  using Error::Error;
};

/// A worker sent something that is not the protocol. That worker is ended; the host carries on.
class DLPOOL_API ProtocolError : public Error {
 public:
  using Error::Error;
};

/// The plugin or task could not be used: base of the errors below.
class DLPOOL_API PluginError : public Error {
 public:
  PluginError(const std::string& message, std::string plugin, std::string task);
  [[nodiscard]] const std::string& plugin() const noexcept { return plugin_; }
  [[nodiscard]] const std::string& task() const noexcept { return task_; }

 private:
  std::string plugin_, task_;
};

/// No lib<name>.so or <name>.so on the plugin search path, or an invalid plugin name.
class DLPOOL_API PluginNotFound : public PluginError {
 public:
  using PluginError::PluginError;
};

/// The file exists but does not load: dlopen's message, a missing manifest, another SDK ABI.
class DLPOOL_API PluginLoadError : public PluginError {
 public:
  using PluginError::PluginError;
};

/// The plugin loaded but exports no task of that name.
class DLPOOL_API TaskNotFound : public PluginError {
 public:
  using PluginError::PluginError;
};

/// The caller's Task<R(Args...)> does not match the signature the plugin exported.
class DLPOOL_API SignatureMismatch : public PluginError {
 public:
  using PluginError::PluginError;
};

/// The pool's initializer failed in a worker; the pool stops taking work rather than respawning
/// workers that can only fail again.
class DLPOOL_API InitializerError : public PluginError {
 public:
  using PluginError::PluginError;
};

}  // namespace dlpool
