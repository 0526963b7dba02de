#pragma once
// The `plugin` frame's payload: which file a worker loaded for a plugin name, so the host can
// tell which version each worker runs (Pool::workers) and a probe can vouch for a file.

#include <dlpool/wire/bytes.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace dlpool::wire {

struct PluginReport {
  std::string name, path, version;
  std::uint64_t inode = 0;
  std::string sha256;  // of the bytes loaded, lowercase hex

  void encode(std::string& out) const {
    put_string(out, name);
    put_string(out, path);
    put_string(out, version);
    put(out, inode);
    put_string(out, sha256);
  }

  /// Throws DecodeError for a malformed payload.
  static PluginReport decode(std::string_view payload) {
    ByteReader in{payload};
    PluginReport r;
    r.name = in.get_string("plugin name");
    r.path = in.get_string("plugin path");
    r.version = in.get_string("plugin version");
    r.inode = in.get<std::uint64_t>("plugin inode");
    r.sha256 = in.get_string("plugin sha256");
    if (in.remaining() != 0) throw DecodeError{"trailing bytes after the plugin report"};
    return r;
  }
};

}  // namespace dlpool::wire
