#pragma once

#include <string>
#include <vector>

namespace dlpool::detail {

/// The dlpool-worker to spawn: `configured` if set, else $DLPOOL_WORKER, else the one beside the
/// running executable, else the installed one, else the one in the build tree. Throws
/// std::system_error naming every place tried when none exists.
std::string worker_executable(const std::string& configured);

/// The plugin search path handed to workers, ':'-separated: PoolOptions::plugin_path, then
/// $DLPOOL_PLUGIN_PATH. The worker appends its own installed plugin dir.
std::string plugin_search_path(const std::vector<std::string>& configured);

}  // namespace dlpool::detail
