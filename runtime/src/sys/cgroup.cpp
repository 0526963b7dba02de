#include "sys/cgroup.hpp"

#include "sys/io.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace dlpool::detail {
namespace {

/// Writes `text` to the cgroup file `path` in one write(), as the cgroup interface wants.
void write_file(const std::string& path, const std::string& text) {
  const UniqueFd file{::open(path.c_str(), O_WRONLY | O_CLOEXEC)};
  if (!file) throw_errno("open", path);
  if (::write(file.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) throw_errno("write", path);
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The directory of this process's own cgroup v2 (/proc/self/cgroup's "0::PATH" under the
/// cgroup2 mount in /proc/self/mountinfo), or empty.
std::string own_cgroup_dir() {
  std::string relative;
  std::istringstream groups{read_file("/proc/self/cgroup")};
  for (std::string line; std::getline(groups, line);)
    if (line.starts_with("0::")) relative = line.substr(3);
  if (relative.empty()) return {};
  std::istringstream mounts{read_file("/proc/self/mountinfo")};
  for (std::string line; std::getline(mounts, line);) {
    // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS... - FSTYPE SOURCE SUPER-OPTIONS
    std::istringstream fields{line};
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    if (line.find(" - cgroup2 ") != std::string::npos)
      return (std::filesystem::path{mount_point} / std::filesystem::path{relative}.relative_path()).lexically_normal();
  }
  return {};
}

/// The deepest directory holding both `a` and `b` (absolute, normal), or empty.
std::string common_ancestor(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return {};
  const auto pa = std::filesystem::path{a}.lexically_normal(), pb = std::filesystem::weakly_canonical(b);
  std::filesystem::path common;
  for (auto i = pa.begin(), j = pb.begin(); i != pa.end() && j != pb.end() && *i == *j; ++i, ++j) common /= *i;
  return common.string();
}

bool has_word(const std::string& text, const std::string& word) {
  std::istringstream words{text};
  for (std::string w; words >> w;)
    if (w == word) return true;
  return false;
}

}  // namespace

CgroupTree::CgroupTree(std::string dir) : dir_{std::move(dir)} {
  struct statfs fs {};
  if (::statfs(dir_.c_str(), &fs) != 0) throw std::runtime_error{dir_ + ": " + std::strerror(errno)};
  if (fs.f_type != CGROUP2_SUPER_MAGIC)
    throw std::runtime_error{dir_ + " is not in a cgroup v2 file system" +
                             (fs.f_type == CGROUP_SUPER_MAGIC ? std::string{" (it is cgroup v1)"} : "")};
  if (::access(dir_.c_str(), W_OK) != 0 || ::access((dir_ + "/cgroup.subtree_control").c_str(), W_OK) != 0)
    throw std::runtime_error{dir_ + " is not writable by this process: it was not delegated to it"};
  // Moving a worker from the host's cgroup into one in `dir` takes write access to cgroup.procs
  // of the nearest cgroup holding both (cgroup v2's containment rule).
  const auto ancestor = common_ancestor(own_cgroup_dir(), dir_);
  if (ancestor.empty() || ::access((ancestor + "/cgroup.procs").c_str(), W_OK) != 0)
    throw std::runtime_error{"this process may not move its workers into " + dir_ + ": " +
                             (ancestor.empty() ? std::string{"its own cgroup is not in the same hierarchy"}
                                               : ancestor + "/cgroup.procs is not writable")};
  if (!has_word(read_file(dir_ + "/cgroup.controllers"), "memory"))
    throw std::runtime_error{dir_ + " does not offer the memory controller (cgroup.controllers)"};
  if (!has_word(read_file(dir_ + "/cgroup.subtree_control"), "memory")) try {
      write_file(dir_ + "/cgroup.subtree_control", "+memory");
    } catch (const std::system_error& e) {
      throw std::runtime_error{"cannot enable the memory controller for the children of " + dir_ + ": " + e.what()};
    }
}

WorkerCgroup CgroupTree::create(std::uint64_t id, std::optional<std::uint64_t> memory_bytes) const {
  auto path = dir_ + "/dlpool-" + std::to_string(::getpid()) + "-" + std::to_string(id);
  // One left by an earlier host with this pid is removed first (it fails if still in use).
  if (::mkdir(path.c_str(), 0755) != 0 &&
      (errno != EEXIST || ::rmdir(path.c_str()) != 0 || ::mkdir(path.c_str(), 0755) != 0))
    throw_errno("mkdir", path);
  WorkerCgroup cgroup{std::move(path)};
  if (memory_bytes) {
    write_file(cgroup.path() + "/memory.max", std::to_string(*memory_bytes));
    // No swap to escape into: over memory.max is over, not slow.
    if (::access((cgroup.path() + "/memory.swap.max").c_str(), W_OK) == 0)
      write_file(cgroup.path() + "/memory.swap.max", "0");
  }
  return cgroup;
}

WorkerCgroup::~WorkerCgroup() {
  if (!path_.empty()) ::rmdir(path_.c_str());  // fails while a process a task left is in it: left for the operator
}

void WorkerCgroup::add(int pid) const { write_file(path_ + "/cgroup.procs", std::to_string(pid)); }

bool WorkerCgroup::oom_killed() const {
  std::istringstream events{read_file(path_ + "/memory.events")};
  for (std::string key; events >> key;) {
    std::uint64_t count = 0;
    events >> count;
    if (key == "oom_kill") return count > 0;
  }
  return false;
}

}  // namespace dlpool::detail
