#include "settings.hpp"

#include <algorithm>
#include <stdexcept>

namespace dlpool::bench {

bool Settings::wants(std::string_view workload) const {
  return only.empty() || std::ranges::find(only, workload) != only.end();
}

const std::vector<std::string>& workload_names() {
  static const std::vector<std::string> names{"startup",    "apply_latency",   "async_throughput", "map_tiny",
                                              "imap_tiny",  "payload",         "payload_view",     "payload_64m",
                                              "error_path", "cpu_speedup",     "sigkill_recovery", "imap_endless_rss",
                                              "worker_rss", "map_tiny_traced", "imap_tiny_traced"};
  return names;
}

std::vector<std::string> parse_only(std::string_view list) {
  std::vector<std::string> chosen;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto name = std::string{list.substr(0, comma)};
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (name.empty()) continue;
    const auto& known = workload_names();
    if (std::ranges::find(known, name) == known.end()) {
      std::string all;
      for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
      throw std::invalid_argument{"unknown workload '" + name + "' in --only (known: " + all + ")"};
    }
    if (std::ranges::find(chosen, name) == chosen.end()) chosen.push_back(name);
  }
  return chosen;
}

Sizes sizes_for(const Settings& settings) {
  const bool q = settings.quick;
  Sizes s;
  s.startup = q ? 5 : 20;
  s.apply = q ? 500 : 5000;
  s.asyncn = q ? 5000 : 100'000;
  s.mapm = q ? 50'000 : 1'000'000;
  s.imapk = q ? 5000 : 100'000;
  s.payload = q ? 20 : 200;
  s.payload_64m = q ? 1 : 8;
  s.cpu_items = 4 * settings.processes;
  // One worker needs ~1.1 s for all the items (CPython's peer needs ~1.4 s for its 100,000): a
  // run that short of a second is at the mercy of one late wake-up or one tick of migration.
  s.cpu_limit = q ? 20'000 : 800'000;
  s.errn = q ? 1000 : 20'000;
  s.kill_reps = q ? 3 : 21;
  s.endless_items = q ? 20'000 : 500'000;
  return s;
}

}  // namespace dlpool::bench
