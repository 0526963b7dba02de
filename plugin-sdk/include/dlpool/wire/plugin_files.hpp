#pragma once
// Where a plugin name leads on disk: one rule for the worker that loads plugins and for the
// command line that reads or installs them without loading them.

#include <dlpool/wire/plugin_name.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace dlpool::wire {

/// The directories of a search path written as --plugin-path and $DLPOOL_PLUGIN_PATH are,
/// "DIR[:DIR...]", in order. Empty entries ("a::b", a ':' at either end) name no directory and
/// are left out.
inline std::vector<std::string> split_search_path(std::string_view path) {
  std::vector<std::string> dirs;
  for (std::size_t at = 0; at <= path.size();) {
    const auto end = std::min(path.find(':', at), path.size());
    if (end > at) dirs.emplace_back(path.substr(at, end - at));
    at = end + 1;
  }
  return dirs;
}

/// The file names plugin `name` may have, in the order each directory is tried.
inline std::array<std::string, 2> plugin_file_names(std::string_view name) {
  return {"lib" + std::string{name} + ".so", std::string{name} + ".so"};
}

/// The first `dir/file` that is a regular file, trying each of `dirs` in order with each of
/// plugin_file_names(name); empty when there is none. `name` must be a valid_plugin_name(): it is
/// joined to directories as it is.
inline std::string find_plugin_file(std::string_view name, const std::vector<std::string>& dirs) {
  for (const auto& dir : dirs)
    for (const auto& file : plugin_file_names(name)) {
      const auto candidate = std::filesystem::path{dir} / file;
      std::error_code ec;
      if (std::filesystem::is_regular_file(candidate, ec)) return candidate.string();
    }
  return {};
}

}  // namespace dlpool::wire
