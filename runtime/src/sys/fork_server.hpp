#pragma once

#include "sys/child_process.hpp"
#include "sys/unique_fd.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dlpool::detail {

/// A pool's zygote (`dlpool-worker --fork-server`, see worker/fork_server.hpp): it makes workers
/// by cloning an already started worker process instead of executing a new one, which costs a
/// fraction of an exec plus dynamic linking of the C++ runtime. Workers it makes are children of
/// this process, like spawned ones.
///
/// Started by the first spawn(); thread-safe. When the server cannot make a worker (it could not
/// start, cannot clone here, died, or was stopped), spawn() returns nothing and the caller
/// spawns the worker itself, so a pool never depends on it.
class ForkServer {
 public:
  /// `answer_timeout`: how long a spawn() waits for the server's answer (its first one includes
  /// the server's own start) before giving it up as wedged.
  explicit ForkServer(std::chrono::milliseconds answer_timeout) : answer_timeout_{answer_timeout} {}
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;
  ~ForkServer() { stop(); }

  /// A worker of `worker_argv` (the arguments every worker of the pool gets) with `fds` (2 to 4)
  /// placed at fd 3 on, as ChildProcess::spawn would; nothing if the server cannot.
  /// `plugins`: names the pool's workers have loaded, whose files the server inspects ahead for
  /// this worker and the ones after it (PluginLoader::inspect_ahead).
  std::optional<ChildProcess> spawn(const std::vector<std::string>& worker_argv, const std::vector<int>& fds,
                                    std::span<const std::string> plugins = {});

  /// Tells the server to exit (EOF on its socket) without waiting for it: spawn() returns nothing
  /// from then on. A pool shutting down lets it exit while its workers do.
  void close() noexcept;
  /// Ends the server and reaps it; spawn() returns nothing from then on. The workers it made
  /// are not affected.
  void stop() noexcept;

 private:
  void close_socket() noexcept;  // with mutex_ held
  void disable() noexcept;       // with mutex_ held

  const std::chrono::milliseconds answer_timeout_;
  std::mutex mutex_;
  bool started_ = false;
  bool disabled_ = false;
  UniqueFd socket_;
  std::optional<ChildProcess> server_;
};

}  // namespace dlpool::detail
