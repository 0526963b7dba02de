#pragma once

#include "plugin_loader.hpp"
#include "shared_payloads.hpp"

#include <dlpool/wire/frame.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dlpool::worker {

/// The RESULT frame that answers `header`'s request with `error` (item 0).
void error_answer(const wire::FrameHeader& header, const RequestError& error, std::string& out);

/// Runs one INIT or TASK frame and builds the RESULT frame that answers it.
class TaskRunner {
 public:
  /// `memory_limit`: the worker's, if it has one (see ran_out_of_memory). `shared`: the worker's
  /// arena, where a large result is written as the task hands it over (see SharedPayloads::append).
  TaskRunner(PluginLoader& loader, std::uint32_t max_frame, std::optional<std::uint64_t> memory_limit = {},
             SharedPayloads* shared = nullptr)
      : loader_{loader}, max_frame_{max_frame}, memory_limit_{memory_limit}, shared_{shared} {}

  /// Fills `out` with the answer to the request, part of whose payload may be in the arena
  /// already: SharedPayloads::answer finishes it. Returns false when the request failed (its
  /// answer is an error record).
  bool run(const wire::FrameHeader& header, std::string_view payload, std::string& out);

  /// Whether a task threw std::bad_alloc under the worker's memory limit: its item was answered
  /// with a resource_limit error naming the limit, and the worker must retire (the plugin's heap
  /// may be left in any state).
  [[nodiscard]] bool ran_out_of_memory() const noexcept { return ran_out_of_memory_; }

 private:
  /// A failed chunk: the plugin's error record (u32 item, str type, str message), encoded.
  struct Failure {
    wire::ErrorKind kind;
    std::string record;
  };
  /// Returned rather than thrown: a failing task has already cost one exception, and the error
  /// path is a workload of its own.
  std::optional<Failure> run_items(const dlpool_task_info& task, wire::Codec codec, std::string_view items,
                                   std::string& out);

  /// Turns a task's std::bad_alloc into the resource_limit error it is under a memory limit.
  void blame_memory_limit(Failure& failure);

  PluginLoader& loader_;
  std::uint32_t max_frame_;  // the host refuses larger frames: answer with an error instead
  std::optional<std::uint64_t> memory_limit_;
  SharedPayloads* shared_;
  bool ran_out_of_memory_ = false;
};

}  // namespace dlpool::worker
