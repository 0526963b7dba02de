#include <dlpool/errors.hpp>

#include "errors_internal.hpp"

#include <string>

namespace dlpool {

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
    : WorkerLostError{"worker " + std::to_string(pid),
                      pid,
                      wait_status,
                      detail::describe_exit(wait_status),
                      plugin,
                      task,
                      job,
                      chunk} {}

WorkerLostError::WorkerLostError(const std::string& who, int pid, int wait_status, const std::string& how,
                                 const std::string& plugin, const std::string& task, std::uint64_t job,
                                 std::uint32_t chunk)
    : Error{who + " " + how + " while running " + plugin + "." + task + " (job " + std::to_string(job) + ", chunk " +
            std::to_string(chunk) + ")"},
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

}  // namespace dlpool
