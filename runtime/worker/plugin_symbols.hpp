#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace dlpool::worker {

/// What a plugin file says about itself in its dynamic symbol table: read with libelf, without
/// loading the file, so none of its code (static constructors included) runs to tell us.
struct PluginSymbols {
  bool manifest = false;                   // exports DLPOOL_MANIFEST_SYMBOL
  std::vector<std::uint32_t> abi_versions;  // N of each exported dlpool_sdk_abi_N marker
};

/// Reads a file's bytes (FileImage::bytes). Throws std::runtime_error saying what is wrong when
/// they are not an ELF shared object, or their symbol table cannot be read.
PluginSymbols read_plugin_symbols(std::span<char> image);

}  // namespace dlpool::worker
