#pragma once
// Where the command line finds plugins and the worker, the same way the runtime does.

#include "commands.hpp"

#include <dlpool/pool.hpp>

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace dlpool::cli {

/// Adds the options of GlobalOptions that set up a pool's workers (limits, sandbox, start
/// timeout) to `app`, whose subcommands they then apply to.
void add_pool_settings(CLI::App& app, GlobalOptions& global);

/// PoolOptions with the --plugin-path directories (the runtime adds $DLPOOL_PLUGIN_PATH), the
/// limits, the sandbox and the start timeout.
[[nodiscard]] PoolOptions pool_options(const GlobalOptions& global);

/// The directories a worker searches for plugins, in order: --plugin-path, $DLPOOL_PLUGIN_PATH,
/// then the plugin dir of the installation the worker belongs to (<prefix>/lib/dlpool/plugins).
[[nodiscard]] std::vector<std::string> plugin_dirs(const GlobalOptions& global);

/// $DLPOOL_WORKER, else the dlpool-worker beside this executable. Throws std::runtime_error
/// naming what it tried when there is none.
[[nodiscard]] std::string worker_executable();

}  // namespace dlpool::cli
