#pragma once
// The plugin files the host sees, which its agents' workers must load: by name, each file the
// host's worker would find first on its plugin path, with its SHA-256 (and, to ship them, its
// bytes).

#include <map>
#include <string>
#include <vector>

namespace dlpool::detail {

struct HostPlugins {
  std::map<std::string, std::string> sha256;  // name -> lowercase hex
  std::map<std::string, std::string> files;   // with `ship`: file name -> bytes
};

/// Lists the plugins on `dirs` and on the installed plugin directory of the worker of
/// `worker_path` (as PoolOptions::worker_path, "" for the default), in the worker's order.
/// Unreadable files are left out: the worker reports them when a task needs them.
HostPlugins host_plugins(const std::vector<std::string>& dirs, const std::string& worker_path, bool ship);

/// SHA-256 of `bytes`, lowercase hex.
std::string sha256_hex(std::string_view bytes);

}  // namespace dlpool::detail
