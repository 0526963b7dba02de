#include "plugin_manifest.hpp"

#include "pool_setup.hpp"

#include "plugin_file/elf_reader.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/plugin_files.hpp>
#include <dlpool/wire/plugin_name.hpp>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fcntl.h>

namespace dlpool::cli {

std::string locate_plugin(const GlobalOptions& global, const std::string& plugin) {
  namespace fs = std::filesystem;
  if (plugin.find('/') != std::string::npos) {
    std::error_code ec;
    if (!fs::exists(plugin, ec)) throw std::runtime_error{plugin + ": no such file"};
    if (!fs::is_regular_file(plugin, ec)) throw std::runtime_error{plugin + ": not a regular file"};
    return plugin;
  }
  if (!wire::valid_plugin_name(plugin))
    throw std::runtime_error{"invalid plugin name '" + plugin +
                             "': a name is [A-Za-z0-9_.-]+ without '..'; give a file as a path containing '/'"};
  const auto dirs = plugin_dirs(global);
  if (auto found = wire::find_plugin_file(plugin, dirs); !found.empty()) return found;
  std::string searched;
  for (const auto& dir : dirs) searched += (searched.empty() ? "" : ", ") + dir;
  const auto files = wire::plugin_file_names(plugin);
  throw std::runtime_error{"plugin '" + plugin + "' not found: no " + files[0] + " or " + files[1] + " in " +
                           (searched.empty() ? "an empty search path" : searched) +
                           " (for a file in the current directory, write ./" + plugin + ")"};
}

PluginManifest read_manifest(const std::string& path) {
  const detail::UniqueFd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!file) detail::throw_errno("open", path);
  std::optional<std::string> section;
  try {
    const detail::ElfReader reader{file.get()};
    reader.require_loadable_here();
    section = reader.section(DLPOOL_MANIFEST_SECTION, wire::max_manifest_section);
  } catch (const detail::ElfError& e) {  // says what the file is
    throw std::runtime_error{path + ": " + e.what()};
  }
  if (!section)
    throw std::runtime_error{path +
                             ": no " DLPOOL_MANIFEST_SECTION
                             " section: not a dlpool plugin, or built with an SDK from before manifest sections"};
  try {
    return {wire::parse_manifest_section(*section), path};
  } catch (const wire::DecodeError& e) {
    throw std::runtime_error{path + ": malformed " DLPOOL_MANIFEST_SECTION " section: " + e.what()};
  }
}

}  // namespace dlpool::cli
