#include "memory.hpp"

#include "bench_tasks.hpp"

#include <dlpool/pool.hpp>

// Cereal first: it configures rapidjson for the whole program (see report.cpp).
#include <cereal/archives/json.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <malloc.h>
#include <unistd.h>

namespace dlpool::bench {
namespace {

constexpr double mib = 1024.0 * 1024.0;

}  // namespace

std::uint64_t host_rss_bytes() {
  // statm: size resident shared text lib data dt, in pages.
  std::ifstream statm{"/proc/self/statm"};
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) throw std::runtime_error{"cannot read /proc/self/statm"};
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

Row imap_endless_rss(Pool& pool, std::int64_t items) {
  using Clock = std::chrono::steady_clock;
  const std::string item(1024, 'x');
  const std::int64_t every = std::max<std::int64_t>(items / 100, 1);
  std::vector<double> samples;
  // Earlier workloads (a million-item map) leave megabytes of freed heap resident, which growth
  // here would reuse without raising the RSS: hand it back first, so the samples show growth.
  ::malloc_trim(0);
  const double before = static_cast<double>(host_rss_bytes()) / mib;
  const auto t0 = Clock::now();
  {
    // Endless: the generator never says std::nullopt; only the window keeps it from running ahead.
    auto results = pool.imap(tasks::echo, [&item]() -> std::optional<std::string> { return item; });
    for (std::int64_t taken = 1; taken <= items; ++taken) {
      const auto back = results.next();
      if (!back || back->size() != item.size())
        throw std::runtime_error{"wrong result: imap(echo) over an endless input"};
      if (taken % every == 0) samples.push_back(static_cast<double>(host_rss_bytes()) / mib);
    }
  }  // abandoned: no more input is pulled
  const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  const double peak = *std::ranges::max_element(samples);
  Row row{"imap_endless_rss", peak, "MiB"};
  row.integer("processes", pool.processes())
      .integer("items", items)
      .integer("item_bytes", static_cast<std::int64_t>(item.size()))
      .number("before_mib", before)
      .number("first_mib", samples.front())
      .number("last_mib", samples.back())
      .number("max_mib", peak)
      .integer("samples", static_cast<std::int64_t>(samples.size()))
      .number("items_per_s", static_cast<double>(items) / dt);
  return row;
}

Row worker_rss(Pool& pool) {
  const auto workers = pool.workers();
  if (workers.empty()) throw std::runtime_error{"Pool::workers() lists no worker"};
  rapidjson::StringBuffer list;
  rapidjson::Writer<rapidjson::StringBuffer> writer{list};
  writer.SetMaxDecimalPlaces(3);
  writer.StartArray();
  double largest = 0;
  for (const auto& w : workers) {
    if (w.rss_bytes == 0) throw std::runtime_error{"worker " + std::to_string(w.pid) + " reports no RSS"};
    const double rss = static_cast<double>(w.rss_bytes) / mib;
    largest = std::max(largest, rss);
    writer.StartObject();
    writer.Key("pid");
    writer.Int(w.pid);
    writer.Key("rss_mib");
    writer.Double(rss);
    writer.Key("tasks_done");
    writer.Uint64(w.tasks_done);
    writer.EndObject();
  }
  writer.EndArray();
  Row row{"worker_rss", largest, "MiB"};
  row.integer("processes", pool.processes())
      .integer("workers_listed", static_cast<std::int64_t>(workers.size()))
      .raw_json("workers", {list.GetString(), list.GetSize()})
      .number("host_rss_mib", static_cast<double>(host_rss_bytes()) / mib);
  return row;
}

}  // namespace dlpool::bench
