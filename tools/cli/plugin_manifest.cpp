#include "plugin_manifest.hpp"

#include "elf_section.hpp"
#include "pool_setup.hpp"
#include "rapidjson.hpp"

#include <dlpool/wire/manifest_record.hpp>
#include <dlpool/wire/plugin_files.hpp>
#include <dlpool/wire/plugin_name.hpp>

// Boost 1.74's library_info uses both without including them.
#include <string>
#include <vector>

#include <boost/dll/library_info.hpp>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace dlpool::cli {
namespace {

std::string manifest_json(const PluginManifest& manifest) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json{buffer};
  const auto string = [&](const std::string& s) { json.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  json.StartObject();
  json.Key("plugin");
  string(manifest.plugin);
  json.Key("version");
  string(manifest.version);
  json.Key("abi");
  json.Uint(manifest.abi);
  json.Key("path");
  string(manifest.path);
  json.Key("tasks");
  json.StartArray();
  for (const auto& task : manifest.tasks) {
    json.StartObject();
    json.Key("name");
    string(task.name);
    json.Key("signature");
    string(task.signature);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace

std::string locate_plugin(const GlobalOptions& global, const std::string& plugin) {
  namespace fs = std::filesystem;
  if (plugin.find('/') != std::string::npos) {
    std::error_code ec;
    if (!fs::exists(plugin, ec)) throw std::runtime_error{plugin + ": no such file"};
    if (!fs::is_regular_file(plugin, ec)) throw std::runtime_error{plugin + ": not a regular file"};
    return plugin;
  }
  if (!wire::valid_plugin_name(plugin))
    throw std::runtime_error{"invalid plugin name '" + plugin +
                             "': a name is [A-Za-z0-9_.-]+ without '..'; give a file as a path containing '/'"};
  const auto dirs = plugin_dirs(global);
  if (auto found = wire::find_plugin_file(plugin, dirs); !found.empty()) return found;
  std::string searched;
  for (const auto& dir : dirs) searched += (searched.empty() ? "" : ", ") + dir;
  const auto files = wire::plugin_file_names(plugin);
  throw std::runtime_error{"plugin '" + plugin + "' not found: no " + files[0] + " or " + files[1] + " in " +
                           (searched.empty() ? "an empty search path" : searched) +
                           " (for a file in the current directory, write ./" + plugin + ")"};
}

PluginManifest read_manifest(const std::string& path) {
  // Our reader first: it checks every offset against the file, which Boost 1.74's ELF reader
  // does not (it trusts the section-name table to be terminated), so library_info only ever sees
  // a file whose section table is sound.
  auto section = read_elf_section(path, DLPOOL_MANIFEST_SECTION, wire::max_manifest_section);
  std::vector<std::string> sections;
  try {
    boost::dll::library_info info{path};
    sections = info.sections();
  } catch (const std::exception& e) {
    throw std::runtime_error{path + ": not a shared library this system can load (" + e.what() + ")"};
  }
  if (std::ranges::find(sections, DLPOOL_MANIFEST_SECTION) == sections.end() || !section)
    throw std::runtime_error{path + ": no " DLPOOL_MANIFEST_SECTION
                             " section: not a dlpool plugin, or built with an SDK from before manifest sections"};
  wire::SectionManifest parsed;
  try {
    parsed = wire::parse_manifest_section(*section);
  } catch (const wire::DecodeError& e) {
    throw std::runtime_error{path + ": malformed " DLPOOL_MANIFEST_SECTION " section: " + e.what()};
  }
  PluginManifest manifest;
  manifest.plugin = std::move(parsed.plugin);
  manifest.version = std::move(parsed.version);
  manifest.path = path;
  manifest.abi = parsed.abi;
  for (auto& task : parsed.tasks) manifest.tasks.push_back({std::move(task.name), std::move(task.signature)});
  manifest.json = manifest_json(manifest);
  return manifest;
}

}  // namespace dlpool::cli
