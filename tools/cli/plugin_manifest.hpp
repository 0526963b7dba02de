#pragma once
// A plugin's manifest, read from the manifest section of its file: the host never dlopens a
// plugin, and `dlpool tasks` runs none of its code.

#include "commands.hpp"

#include <string>
#include <vector>

namespace dlpool::cli {

struct PluginManifest {
  struct Entry {
    std::string name, signature;  // "square", "int(int)"
  };
  std::string plugin, version, path;  // path: the file read
  unsigned abi = 0;                   // the SDK ABI it was built against
  std::vector<Entry> tasks;           // sorted by name
  std::string json;                   // the whole manifest as one line of JSON
};

/// The file `plugin` names: a path if it contains a '/', else a plugin name (refused unless it
/// is a valid one) looked up as the worker does, in --plugin-path, $DLPOOL_PLUGIN_PATH and the
/// installation's plugin dir. Throws std::runtime_error naming the name and where it looked.
[[nodiscard]] std::string locate_plugin(const GlobalOptions& global, const std::string& plugin);

/// Reads the manifest section of the plugin file at `path` (boost::dll::library_info lists the
/// sections, the bytes are read from the file). Loads nothing. Throws std::runtime_error naming
/// the file and the problem: not an ELF file, no manifest section (not a dlpool plugin, or built
/// with an SDK before manifest sections), a malformed section.
[[nodiscard]] PluginManifest read_manifest(const std::string& path);

}  // namespace dlpool::cli
