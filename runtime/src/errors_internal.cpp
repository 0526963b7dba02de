#include "errors_internal.hpp"

#include <dlpool/errors.hpp>

#include <csignal>
#include <cstring>
#include <string>

#include <sys/wait.h>

namespace dlpool::detail {

std::string describe_exit(int status) {
  if (status < 0) return "was lost";
  if (WIFSIGNALED(status)) {
    const char* abbrev = sigabbrev_np(WTERMSIG(status));
    return std::string{"was killed by "} +
           (abbrev ? std::string{"SIG"} + abbrev : "signal " + std::to_string(WTERMSIG(status)));
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "stopped (status " + std::to_string(status) + ")";
}

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
                                                   "." + task.task + " cannot be encoded: " + std::string{type} + ": " +
                                                   msg});
    case wire::ErrorKind::plugin_not_found: return std::make_exception_ptr(PluginNotFound{msg, task.plugin, task.task});
    case wire::ErrorKind::plugin_load_failed:
      return std::make_exception_ptr(PluginLoadError{msg, task.plugin, task.task});
    case wire::ErrorKind::task_not_found: return std::make_exception_ptr(TaskNotFound{msg, task.plugin, task.task});
    case wire::ErrorKind::signature_mismatch:
      return std::make_exception_ptr(SignatureMismatch{msg, task.plugin, task.task});
    case wire::ErrorKind::resource_limit:
      return std::make_exception_ptr(ResourceLimitError{task.plugin + "." + task.task + " (item " +
                                                        std::to_string(item) + ", worker " + std::to_string(pid) +
                                                        ") " + msg});
    case wire::ErrorKind::bad_request: break;
  }
  return std::make_exception_ptr(ProtocolError{"worker " + std::to_string(pid) + " rejected the request for " +
                                               task.plugin + "." + task.task + ": " + msg});
}

}  // namespace dlpool::detail
