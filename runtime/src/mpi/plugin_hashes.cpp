#include "mpi/plugin_hashes.hpp"

#include "dlpool_config.hpp"
#include "paths.hpp"

#include <dlpool/wire/plugin_files.hpp>
#include <dlpool/wire/plugin_name.hpp>

#include <nettle/sha2.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace dlpool::detail {
namespace fs = std::filesystem;

std::string sha256_hex(std::string_view bytes) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, bytes.size(), reinterpret_cast<const std::uint8_t*>(bytes.data()));
  std::uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof digest, digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (const auto byte : digest) {
    out += hex[byte >> 4];
    out += hex[byte & 15];
  }
  return out;
}

HostPlugins host_plugins(const std::vector<std::string>& dirs, const std::string& worker_path, bool ship) {
  auto search = dirs;
  std::error_code ec;
  try {  // the worker appends its own installed plugin directory (worker/main.cpp)
    search.push_back(
        (fs::path{worker_executable(worker_path)}.parent_path() / config::bin_to_plugins).lexically_normal().string());
  } catch (const std::system_error&) {  // no worker here: the agents find theirs
  }
  HostPlugins plugins;
  for (const auto& dir : search)
    for (const auto& entry : fs::directory_iterator{dir, ec}) {
      auto name = entry.path().filename().string();
      if (!name.ends_with(".so")) continue;
      name.resize(name.size() - 3);
      if (name.starts_with("lib")) name.erase(0, 3);
      if (!wire::valid_plugin_name(name) || plugins.sha256.contains(name)) continue;
      const auto file = wire::find_plugin_file(name, search);  // the one a worker would load
      std::ifstream in{file, std::ios::binary};
      std::ostringstream bytes;
      bytes << in.rdbuf();
      if (!in) continue;
      plugins.sha256.emplace(name, sha256_hex(bytes.view()));
      if (ship) plugins.files.emplace(fs::path{file}.filename().string(), std::move(bytes).str());
    }
  return plugins;
}

}  // namespace dlpool::detail
