#pragma once
// A plugin's manifest, as a dlpool-worker reads it: the host never dlopens a plugin.

#include "commands.hpp"

#include <string>
#include <vector>

namespace dlpool::cli {

struct PluginManifest {
  struct Entry {
    std::string name, signature;  // "square", "int(int)"
  };
  std::string plugin, version, path;  // path: the file the worker loaded
  unsigned abi = 0;                   // the SDK ABI it was built against
  std::vector<Entry> tasks;           // in the order the plugin exports them
  std::string json;                   // the worker's JSON text, one line
};

/// Runs `dlpool-worker --describe NAME` with the command line's plugin search path and reads
/// its answer. Blocks until the worker exits. Throws std::runtime_error with the worker's own
/// message ("plugin 'x' not found: no libx.so or x.so in ...") when the plugin cannot be loaded,
/// std::system_error when the worker cannot be started.
[[nodiscard]] PluginManifest read_manifest(const GlobalOptions& global, const std::string& plugin);

}  // namespace dlpool::cli
