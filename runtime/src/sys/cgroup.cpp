#include "sys/cgroup.hpp"

#include "sys/io.hpp"

#include <cerrno>
#include <cstring>
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

bool has_word(const std::string& text, const std::string& word) {
  std::istringstream words{text};
  for (std::string w; words >> w;)
    if (w == word) return true;
  return false;
}

}  // namespace

CgroupTree::CgroupTree(std::string dir) : dir_{std::move(dir)} {
  struct statfs fs {};
  if (::statfs(dir_.c_str(), &fs) != 0)
    throw std::runtime_error{dir_ + ": " + std::strerror(errno)};
  if (fs.f_type != CGROUP2_SUPER_MAGIC)
    throw std::runtime_error{dir_ + " is not in a cgroup v2 file system" +
                             (fs.f_type == CGROUP_SUPER_MAGIC ? std::string{" (it is cgroup v1)"} : "")};
  if (::access(dir_.c_str(), W_OK) != 0 || ::access((dir_ + "/cgroup.subtree_control").c_str(), W_OK) != 0)
    throw std::runtime_error{dir_ + " is not writable by this process: it was not delegated to it"};
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
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir", path);
  WorkerCgroup cgroup{std::move(path)};
  if (memory_bytes) {
    write_file(cgroup.path() + "/memory.max", std::to_string(*memory_bytes));
    // No swap to escape into: over memory.max is over, not slow.
    if (::access((cgroup.path() + "/memory.swap.max").c_str(), W_OK) == 0) write_file(cgroup.path() + "/memory.swap.max", "0");
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
