#include <dlpool/errors.hpp>

#include "errors_internal.hpp"

#include <csignal>
#include <cstring>
#include <string>

#include <sys/wait.h>

namespace dlpool {
namespace detail {

std::string describe_exit(int status) {
  if (status < 0) return "was lost";
  if (WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    return std::string{"was killed by "} + (abbrev ? std::string{"SIG"} + abbrev : "signal " + std::to_string(WTERMSIG(status)));
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "stopped (status " + std::to_string(status) + ")";
}

}  // namespace detail

RemoteError::RemoteError(std::string remote_type, std::string remote_message, std::string plugin, std::string task,
                         int pid)
    : Error{plugin + "." + task + " raised " + remote_type + ": " + remote_message + " (worker " + std::to_string(pid) +
            ")"},
      remote_type_{std::move(remote_type)},
      remote_message_{std::move(remote_message)},
      plugin_{std::move(plugin)},
      task_{std::move(task)},
      pid_{pid} {}

WorkerLostError::WorkerLostError(int pid, int wait_status, std::string plugin, std::string task, std::uint64_t job,
                                 std::uint32_t chunk)
    : Error{"worker " + std::to_string(pid) + " " + detail::describe_exit(wait_status) + " while running " + plugin + "." +
            task + " (job " + std::to_string(job) + ", chunk " + std::to_string(chunk) + ")"},
      pid_{pid},
      wait_status_{wait_status},
      job_{job},
      chunk_{chunk} {}

TaskTimeout::TaskTimeout(int pid, std::chrono::milliseconds limit, std::string plugin, std::string task,
                         std::uint64_t job, std::uint32_t chunk)
    : Error{plugin + "." + task + " ran past its timeout of " + std::to_string(limit.count()) + " ms in worker " +
            std::to_string(pid) + ", which was stopped (job " + std::to_string(job) + ", chunk " +
            std::to_string(chunk) + ")"},
      pid_{pid},
      limit_{limit},
      job_{job},
      chunk_{chunk} {}

PluginError::PluginError(const std::string& message, std::string plugin, std::string task)
    : Error{message}, plugin_{std::move(plugin)}, task_{std::move(task)} {}

namespace detail {

std::exception_ptr remote_error(wire::ErrorKind kind, std::string_view type, std::string_view message,
                                const TaskRef& task, std::size_t item, int pid) {
  const std::string msg{message};
  switch (kind) {
    case wire::ErrorKind::task_exception:
      return std::make_exception_ptr(RemoteError{std::string{type}, msg, task.plugin, task.task, pid});
    case wire::ErrorKind::bad_arguments:
      return std::make_exception_ptr(InvalidArguments{"arguments of item " + std::to_string(item) + " do not match " +
                                                      task.plugin + "." + task.task + ": " + msg});
    case wire::ErrorKind::bad_result:
      return std::make_exception_ptr(EncodingError{"result of item " + std::to_string(item) + " of " + task.plugin +
                                                   "." + task.task + " cannot be encoded: " + std::string{type} +
                                                   ": " + msg});
    case wire::ErrorKind::plugin_not_found:
      return std::make_exception_ptr(PluginNotFound{msg, task.plugin, task.task});
    case wire::ErrorKind::plugin_load_failed:
      return std::make_exception_ptr(PluginLoadError{msg, task.plugin, task.task});
    case wire::ErrorKind::task_not_found:
      return std::make_exception_ptr(TaskNotFound{msg, task.plugin, task.task});
    case wire::ErrorKind::signature_mismatch:
      return std::make_exception_ptr(SignatureMismatch{msg, task.plugin, task.task});
    case wire::ErrorKind::resource_limit:
      return std::make_exception_ptr(ResourceLimitError{task.plugin + "." + task.task + " (item " +
                                                        std::to_string(item) + ", worker " + std::to_string(pid) +
                                                        ") " + msg});
    case wire::ErrorKind::bad_request:
      break;
  }
  return std::make_exception_ptr(ProtocolError{"worker " + std::to_string(pid) + " rejected the request for " +
                                               task.plugin + "." + task.task + ": " + msg});
}

}  // namespace detail
}  // namespace dlpool
