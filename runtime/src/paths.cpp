#include "paths.hpp"

#include "dlpool_config.hpp"

#include <dlpool/wire/plugin_files.hpp>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <dlfcn.h>
#include <unistd.h>

namespace dlpool::detail {
namespace {

namespace fs = std::filesystem;

/// The file of the shared libdlpool_runtime this code is part of, or empty when the runtime is
/// linked statically (then dladdr would name the executable, as argv[0] gives it).
fs::path runtime_library_file() {
  if constexpr (!config::runtime_is_shared) return {};
  static const char anchor = 0;  // any object of this library: dladdr maps it to our file
  Dl_info info{};
  if (::dladdr(&anchor, &info) == 0 || info.dli_fname == nullptr || *info.dli_fname == '\0') return {};
  // The loader reports the name it opened, which is relative when $LD_LIBRARY_PATH is.
  std::error_code ec;
  auto file = fs::weakly_canonical(fs::absolute(info.dli_fname, ec), ec);
  return ec ? fs::path{} : file;
}

}  // namespace

std::string worker_executable(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("DLPOOL_WORKER"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  std::vector<fs::path> candidates;
  // The worker of this library's own installation (or build tree, which has the same layout):
  // it matches the library's version, and follows the prefix wherever it is moved.
  if (const auto library = runtime_library_file(); !library.empty())
    candidates.push_back((library.parent_path() / config::lib_to_bin / "dlpool-worker").lexically_normal());
  if (const auto self = fs::read_symlink("/proc/self/exe", ec); !ec)
    candidates.push_back(self.parent_path() / "dlpool-worker");
  // Never the build tree: an installed library must not run a worker it happened to be built beside.
  if constexpr (!config::runtime_is_shared) candidates.emplace_back(config::installed_worker);
  std::string tried;
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c, ec)) return c.string();
    tried += (tried.empty() ? "" : ", ") + c.string();
  }
  throw std::system_error{
      std::make_error_code(std::errc::no_such_file_or_directory),
      "dlpool-worker not found (tried " + tried + "; set PoolOptions::worker_path or $DLPOOL_WORKER)"};
}

std::string plugin_search_path(const std::vector<std::string>& configured) {
  std::string path;
  // Each directory made absolute now, against the host's working directory when the pool
  // starts: a later chdir() (by the host, or by a task in a worker) must not change where
  // plugins are found.
  const auto add = [&path](const std::string& dirs) {
    for (const auto& dir : wire::split_search_path(dirs)) {  // an entry may itself hold several
      std::error_code ec;
      if (!path.empty()) path += ':';
      path += fs::absolute(dir, ec).lexically_normal().string();
    }
  };
  for (const auto& dir : configured) add(dir);
  if (const char* env = std::getenv("DLPOOL_PLUGIN_PATH"); env != nullptr) add(env);
  return path;
}

std::string host_name() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 ? name : "unknown";
}

}  // namespace dlpool::detail
