#include "mpi/messages.hpp"

namespace dlpool::detail::mpi {
namespace {

void put_map(std::string& out, const std::map<std::string, std::string>& map) {
  wire::put(out, static_cast<std::uint32_t>(map.size()));
  for (const auto& [key, value] : map) {
    wire::put_string(out, key);
    wire::put_string(out, value);
  }
}

std::map<std::string, std::string> get_map(wire::ByteReader& in, const char* what) {
  std::map<std::string, std::string> map;
  for (auto n = in.get<std::uint32_t>(what); n > 0; --n) {
    std::string key{in.get_string(what)};
    map.emplace(std::move(key), in.get_string(what));
  }
  return map;
}

}  // namespace

void AgentConfig::encode(std::string& out) const {
  wire::put(out, static_cast<std::uint32_t>(plugin_path.size()));
  for (const auto& dir : plugin_path) wire::put_string(out, dir);
  wire::put_string(out, worker_path);
  for (const auto n : {max_frame, workers, heartbeat_ms, maxtasksperchild}) wire::put(out, n);
  wire::put(out, sandbox);
  wire::put(out, static_cast<std::uint8_t>(batch_scheduling));
  for (const auto n : {memory_bytes, cpu_seconds, open_files, max_rss}) wire::put(out, n);
  put_map(out, sha256);
  put_map(out, files);
}

AgentConfig AgentConfig::decode(std::string_view payload) {
  wire::ByteReader in{payload};
  AgentConfig c;
  for (auto n = in.get<std::uint32_t>("plugin path"); n > 0; --n)
    c.plugin_path.emplace_back(in.get_string("plugin path"));
  c.worker_path = in.get_string("worker path");
  for (auto* n : {&c.max_frame, &c.workers, &c.heartbeat_ms, &c.maxtasksperchild}) *n = in.get<std::uint32_t>("config");
  c.sandbox = in.get<std::uint8_t>("sandbox");
  c.batch_scheduling = in.get<std::uint8_t>("batch scheduling") != 0;
  for (auto* n : {&c.memory_bytes, &c.cpu_seconds, &c.open_files, &c.max_rss}) *n = in.get<std::uint64_t>("limits");
  c.sha256 = get_map(in, "plugin hashes");
  c.files = get_map(in, "plugin files");
  if (in.remaining() != 0) throw wire::DecodeError{"config: " + std::to_string(in.remaining()) + " bytes left over"};
  return c;
}

}  // namespace dlpool::detail::mpi
