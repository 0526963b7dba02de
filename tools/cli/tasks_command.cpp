// `dlpool tasks FILE-or-NAME [--json]`: what a plugin exports, read from its manifest section
// without loading it.

#include "commands.hpp"
#include "plugin_manifest.hpp"

#include "plugin_file/manifest_json.hpp"

#include <dlpool/wire/abi.hpp>

#include <algorithm>
#include <cstdio>

namespace dlpool::cli {

int run_tasks(const GlobalOptions& global, const TasksOptions& options) {
  const auto manifest = read_manifest(locate_plugin(global, options.plugin));
  if (options.json) {
    std::printf("%s\n", detail::manifest_json(manifest, manifest.path).c_str());
    return 0;
  }
  std::printf("%s %s (SDK ABI %u)\n  %s\n", manifest.plugin.c_str(), manifest.version.c_str(), manifest.abi,
              manifest.path.c_str());
  if (manifest.abi != DLPOOL_SDK_ABI_VERSION)
    std::printf("  (workers speak SDK ABI %u: they will refuse to load it until it is rebuilt)\n",
                DLPOOL_SDK_ABI_VERSION);
  std::printf("%zu task%s%s\n", manifest.tasks.size(), manifest.tasks.size() == 1 ? "" : "s",
              manifest.tasks.empty() ? "" : ":");
  std::size_t width = 0;
  for (const auto& task : manifest.tasks) width = std::max(width, task.name.size());
  for (const auto& task : manifest.tasks)
    std::printf("  %-*s  %s\n", static_cast<int>(width), task.name.c_str(), task.signature.c_str());
  return 0;
}

}  // namespace dlpool::cli
