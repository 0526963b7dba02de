#include "plugin_file/manifest_json.hpp"

#include <dlpool/wire/json_string.hpp>

namespace dlpool::detail {

std::string manifest_json(const wire::SectionManifest& manifest, std::string_view path) {
  std::string json = "{\"plugin\":";
  wire::append_json_string(json, manifest.plugin);
  json += ",\"version\":";
  wire::append_json_string(json, manifest.version);
  json += ",\"abi\":" + std::to_string(manifest.abi) + ",\"path\":";
  wire::append_json_string(json, path);
  json += ",\"tasks\":[";
  for (const auto& task : manifest.tasks) {
    json += &task == manifest.tasks.data() ? "{\"name\":" : ",{\"name\":";
    wire::append_json_string(json, task.name);
    json += ",\"signature\":";
    wire::append_json_string(json, task.signature);
    json += '}';
  }
  json += "]}";
  return json;
}

}  // namespace dlpool::detail
