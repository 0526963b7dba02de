#include "describe.hpp"

#include "plugin_file/manifest_json.hpp"
#include "sys/io.hpp"

#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

namespace dlpool::worker {

int describe_plugin(PluginLoader& loader, std::string_view name) {
  // A plugin may print from a static constructor while it loads. Keep our stdout for the JSON
  // alone and send anything else to stderr, as a worker does with a task's output.
  detail::UniqueFd out{::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)};
  if (!out || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::fprintf(stderr, "dlpool-worker --describe: cannot set stdout aside\n");
    return 1;
  }

  const LoadedPlugin* plugin = nullptr;
  try {
    plugin = &loader.get(name);
  } catch (const RequestError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  const dlpool_manifest& manifest = *plugin->manifest;

  wire::SectionManifest listed{
      manifest.abi_version, manifest.plugin, manifest.version != nullptr ? manifest.version : "", {}};
  for (std::size_t i = 0; i < manifest.task_count; ++i)
    listed.tasks.push_back({manifest.tasks[i].name, manifest.tasks[i].signature});
  const auto text = detail::manifest_json(listed, plugin->path);
  if (!detail::write_all(out.get(), text) || !detail::write_all(out.get(), "\n")) return 1;  // nobody reads
  return 0;
}

}  // namespace dlpool::worker
