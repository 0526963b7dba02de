#pragma once

#include "plugin_loader.hpp"

#include <string_view>

namespace dlpool::worker {

/// `dlpool-worker --describe NAME`: loads plugin `name` with `loader` and writes its manifest on
/// stdout as one line of JSON:
///   {"plugin":"testkit","version":"1.0.0","abi":1,"path":"/.../libtestkit.so",
///    "tasks":[{"name":"square","signature":"int(int)"},...]}
/// Tasks come in the order the plugin exported them. Returns the exit status: 0, or 1 after
/// printing the RequestError's message on stderr. The host's `dlpool tasks` runs this so that
/// it never dlopens a plugin itself.
int describe_plugin(PluginLoader& loader, std::string_view name);

}  // namespace dlpool::worker
