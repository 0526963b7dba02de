#include "plugin_manifest.hpp"

#include "pool_setup.hpp"
#include "rapidjson.hpp"
#include "subprocess.hpp"

#include <cstdio>
#include <stdexcept>

#include <sys/wait.h>

namespace dlpool::cli {
namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string string_member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) throw std::runtime_error{std::string{"no string \""} + name + "\""};
  return {it->value.GetString(), it->value.GetStringLength()};
}

PluginManifest parse(std::string json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) throw std::runtime_error{rapidjson::GetParseError_En(doc.GetParseError())};
  if (!doc.IsObject()) throw std::runtime_error{"not a JSON object"};
  PluginManifest manifest;
  manifest.plugin = string_member(doc, "plugin");
  manifest.version = string_member(doc, "version");
  manifest.path = string_member(doc, "path");
  if (const auto abi = doc.FindMember("abi"); abi != doc.MemberEnd() && abi->value.IsUint())
    manifest.abi = abi->value.GetUint();
  const auto tasks = doc.FindMember("tasks");
  if (tasks == doc.MemberEnd() || !tasks->value.IsArray()) throw std::runtime_error{"no \"tasks\" array"};
  for (const auto& task : tasks->value.GetArray()) {
    if (!task.IsObject()) throw std::runtime_error{"a task that is not an object"};
    manifest.tasks.push_back({string_member(task, "name"), string_member(task, "signature")});
  }
  manifest.json = trimmed(std::move(json));
  return manifest;
}

}  // namespace

PluginManifest read_manifest(const GlobalOptions& global, const std::string& plugin) {
  const auto worker = worker_executable();
  // --describe=NAME: a name that starts with '-' must not be taken for an option.
  std::vector<std::string> argv{worker, "--describe=" + plugin};
  if (const auto path = plugin_search_path(global); !path.empty()) {
    argv.emplace_back("--plugin-path");
    argv.push_back(path);
  }
  auto captured = run_captured(argv);
  const auto status = captured.wait_status;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && !trimmed(captured.err).empty())
    throw std::runtime_error{trimmed(std::move(captured.err))};  // the worker's RequestError
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    auto message = worker + " --describe " + plugin + " " + describe_wait_status(status);
    if (auto err = trimmed(std::move(captured.err)); !err.empty()) message += ": " + err;
    throw std::runtime_error{message};
  }
  // What the plugin printed while it loaded, like a task's output, belongs on our stderr.
  std::fwrite(captured.err.data(), 1, captured.err.size(), stderr);
  try {
    return parse(std::move(captured.out));
  } catch (const std::exception& e) {
    throw std::runtime_error{worker + " --describe " + plugin + " printed an unexpected manifest (" + e.what() + ")"};
  }
}

}  // namespace dlpool::cli
