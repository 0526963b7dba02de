#pragma once
// Where the command line finds plugins and the worker, the same way the runtime does.

#include "commands.hpp"

#include <dlpool/pool.hpp>

#include <string>
#include <vector>

namespace dlpool::cli {

/// PoolOptions with the --plugin-path directories; the runtime adds $DLPOOL_PLUGIN_PATH.
[[nodiscard]] PoolOptions pool_options(const GlobalOptions& global);

/// The directories a worker searches for plugins, in order: --plugin-path, $DLPOOL_PLUGIN_PATH,
/// then the plugin dir of the installation the worker belongs to (<prefix>/lib/dlpool/plugins).
[[nodiscard]] std::vector<std::string> plugin_dirs(const GlobalOptions& global);

/// $DLPOOL_WORKER, else the dlpool-worker beside this executable. Throws std::runtime_error
/// naming what it tried when there is none.
[[nodiscard]] std::string worker_executable();

}  // namespace dlpool::cli
