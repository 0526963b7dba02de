#pragma once
// A plugin's manifest, read from the manifest section of its file: the host never dlopens a
// plugin, and `dlpool tasks` runs none of its code.

#include "commands.hpp"

#include <dlpool/wire/manifest_record.hpp>

#include <string>

namespace dlpool::cli {

/// What the manifest section of the plugin file at `path` says.
struct PluginManifest : wire::SectionManifest {
  std::string path;
};

/// The file `plugin` names: a path if it contains a '/', else a plugin name (refused unless it
/// is a valid one) looked up as the worker does, in --plugin-path, $DLPOOL_PLUGIN_PATH and the
/// installation's plugin dir. Throws std::runtime_error naming the name and where it looked.
[[nodiscard]] std::string locate_plugin(const GlobalOptions& global, const std::string& plugin);

/// Reads the manifest section of the plugin file at `path` (with the worker's reader of plugin
/// files, detail::ElfReader). Loads nothing. Throws std::runtime_error naming the file and the
/// problem: not an ELF file, truncated, no manifest section (not a dlpool plugin, or built with
/// an SDK before manifest sections), a malformed section.
[[nodiscard]] PluginManifest read_manifest(const std::string& path);

}  // namespace dlpool::cli
