#pragma once
// Per-worker cgroups inside a cgroup v2 directory an operator delegated to the pool
// (PoolLimits::cgroup): where it can be used, a worker's memory limit is its cgroup's memory.max
// (counting everything the worker and its children use, page cache included, and enforced by
// the kernel's OOM killer within the cgroup) instead of RLIMIT_DATA. Nothing here creates a cgroup
// anywhere else, or moves any process but a worker.

#include <cstdint>
#include <optional>
#include <string>

namespace dlpool::detail {

/// A worker's own cgroup, removed (rmdir) when this is destroyed, once the worker is gone.
class WorkerCgroup {
 public:
  explicit WorkerCgroup(std::string path) : path_{std::move(path)} {}
  WorkerCgroup(WorkerCgroup&& other) noexcept : path_{std::move(other.path_)} { other.path_.clear(); }
  WorkerCgroup& operator=(WorkerCgroup&&) = delete;
  WorkerCgroup(const WorkerCgroup&) = delete;
  ~WorkerCgroup();

  /// Moves process `pid` into it (cgroup.procs). Throws std::system_error.
  void add(int pid) const;
  /// Whether the kernel's OOM killer killed a process in it (memory.events: oom_kill).
  [[nodiscard]] bool oom_killed() const;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// The delegated directory.
class CgroupTree {
 public:
  /// Checks that `dir` is a writable cgroup v2 directory whose children can have the memory
  /// controller (enabling it in its cgroup.subtree_control if need be). Throws
  /// std::runtime_error saying why it cannot be used.
  explicit CgroupTree(std::string dir);

  /// Creates `<dir>/dlpool-<host pid>-<id>` with memory.max = `memory_bytes` (if set).
  /// Throws std::system_error.
  [[nodiscard]] WorkerCgroup create(std::uint64_t id, std::optional<std::uint64_t> memory_bytes) const;

  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

 private:
  std::string dir_;
};

}  // namespace dlpool::detail
