#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dlpool::worker {

/// What a plugin file says about itself in its dynamic symbol table: read with libelf, without
/// loading the file, so none of its code (static constructors included) runs to tell us.
struct PluginSymbols {
  bool manifest = false;                   // exports DLPOOL_MANIFEST_SYMBOL
  std::vector<std::uint32_t> abi_versions;  // N of each exported dlpool_sdk_abi_N marker
};

/// Throws std::runtime_error saying what is wrong when `path` cannot be read or is not an ELF
/// shared object, and std::system_error when it cannot be opened.
PluginSymbols read_plugin_symbols(const std::string& path);

}  // namespace dlpool::worker
