#include "paths.hpp"

#include "dlpool_config.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace dlpool::detail {

std::string worker_executable(const std::string& configured) {
  namespace fs = std::filesystem;
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("DLPOOL_WORKER"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  std::vector<fs::path> candidates;
  if (const auto self = fs::read_symlink("/proc/self/exe", ec); !ec)
    candidates.push_back(self.parent_path() / "dlpool-worker");
  candidates.emplace_back(config::installed_worker);
  candidates.emplace_back(config::build_worker);
  std::string tried;
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c, ec)) return c.string();
    tried += (tried.empty() ? "" : ", ") + c.string();
  }
  throw std::system_error{std::make_error_code(std::errc::no_such_file_or_directory),
                          "dlpool-worker not found (tried " + tried + "; set PoolOptions::worker_path or $DLPOOL_WORKER)"};
}

std::string plugin_search_path(const std::vector<std::string>& configured) {
  std::string path;
  for (const auto& dir : configured) path += (path.empty() ? "" : ":") + dir;
  if (const char* env = std::getenv("DLPOOL_PLUGIN_PATH"); env != nullptr && *env != '\0')
    path += (path.empty() ? "" : ":") + std::string{env};
  return path;
}

}  // namespace dlpool::detail
