#include "pool_setup.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace dlpool::cli {

PoolOptions pool_options(const GlobalOptions& global) {
  PoolOptions options;
  options.plugin_path = global.plugin_path;
  return options;
}

std::string plugin_search_path(const GlobalOptions& global) {
  std::string path;
  for (const auto& dir : global.plugin_path) path += (path.empty() ? "" : ":") + dir;
  if (const char* env = std::getenv("DLPOOL_PLUGIN_PATH"); env != nullptr && *env != '\0')
    path += (path.empty() ? "" : ":") + std::string{env};
  return path;
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
