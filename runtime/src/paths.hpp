#pragma once

#include <string>
#include <vector>

namespace dlpool::detail {

/// The dlpool-worker to spawn: `configured` if set, else $DLPOOL_WORKER, else the one of the
/// installation (or build tree) the shared libdlpool_runtime was loaded from, found relative to
/// the library file; else the one beside the running executable; else, for a static runtime only,
/// the one of the configured install prefix. Throws std::system_error naming every place tried
/// when none exists.
std::string worker_executable(const std::string& configured);

/// This machine's name, for WorkerInfo::node and an MPI agent's messages ("unknown" if unreadable).
std::string host_name();

/// The plugin search path handed to workers, ':'-separated: PoolOptions::plugin_path, then
/// $DLPOOL_PLUGIN_PATH. The worker appends its own installed plugin dir.
std::string plugin_search_path(const std::vector<std::string>& configured);

}  // namespace dlpool::detail
