#include "pool_setup.hpp"

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace dlpool::cli {

PoolOptions pool_options(const GlobalOptions& global) {
  PoolOptions options;
  options.plugin_path = global.plugin_path;
  return options;
}

std::vector<std::string> plugin_dirs(const GlobalOptions& global) {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs;
  const auto add = [&dirs](const std::string& path) {  // an entry may itself hold ':'-separated dirs
    std::stringstream entries{path};
    for (std::string dir; std::getline(entries, dir, ':');)
      if (!dir.empty()) dirs.push_back(dir);
  };
  for (const auto& entry : global.plugin_path) add(entry);
  if (const char* env = std::getenv("DLPOOL_PLUGIN_PATH"); env != nullptr) add(env);
  // The worker derives its own from /proc/self/exe, which names the resolved file.
  try {
    std::error_code ec;
    const auto worker = fs::canonical(worker_executable(), ec);
    if (!ec) dirs.push_back((worker.parent_path().parent_path() / "lib" / "dlpool" / "plugins").string());
  } catch (const std::runtime_error&) {  // no worker: no installation dir to add
  }
  return dirs;
}

std::string worker_executable() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("DLPOOL_WORKER"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error{"cannot locate dlpool-worker: /proc/self/exe: " + ec.message() + " (set $DLPOOL_WORKER)"};
  const auto worker = self.parent_path() / "dlpool-worker";
  if (!fs::is_regular_file(worker, ec))
    throw std::runtime_error{"dlpool-worker not found at " + worker.string() + " (set $DLPOOL_WORKER)"};
  return worker.string();
}

}  // namespace dlpool::cli
