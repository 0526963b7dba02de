#pragma once
// Where a plugin name leads on disk: one rule for the worker that loads plugins and for the
// command line that reads or installs them without loading them.

#include <dlpool/wire/plugin_name.hpp>

#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace dlpool::wire {

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
