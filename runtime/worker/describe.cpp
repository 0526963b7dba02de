#include "describe.hpp"

#include "sys/io.hpp"

// Cereal first: it configures rapidjson (asserts that throw, default flags), and every user of
// rapidjson in a program must see the same configuration.
#include <cereal/archives/json.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json{buffer};
  json.StartObject();
  json.Key("plugin");
  json.String(manifest.plugin);
  json.Key("version");
  json.String(manifest.version != nullptr ? manifest.version : "");
  json.Key("abi");
  json.Uint(manifest.abi_version);
  json.Key("path");
  json.String(plugin->path.c_str(), static_cast<rapidjson::SizeType>(plugin->path.size()));
  json.Key("tasks");
  json.StartArray();
  for (std::size_t i = 0; i < manifest.task_count; ++i) {
    json.StartObject();
    json.Key("name");
    json.String(manifest.tasks[i].name);
    json.Key("signature");
    json.String(manifest.tasks[i].signature);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();

  const std::string_view text{buffer.GetString(), buffer.GetSize()};
  if (!detail::write_all(out.get(), text) || !detail::write_all(out.get(), "\n")) return 1;  // nobody reads
  return 0;
}

}  // namespace dlpool::worker
