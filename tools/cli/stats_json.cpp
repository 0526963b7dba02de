#include "stats_json.hpp"

#include <cstdio>

namespace dlpool::cli {
namespace {

using Json = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Json& json, const char* key, std::uint64_t value) {
  json.Key(key);
  json.Uint64(value);
}

void put(Json& json, const char* key, std::chrono::nanoseconds value) {
  json.Key(key);
  json.Int64(value.count());
}

void write_items(Json& json, const ItemCounts& items) {
  json.StartObject();
  put(json, "submitted", items.submitted);
  put(json, "done", items.done);
  put(json, "failed", items.failed);
  put(json, "lost", items.lost);
  put(json, "retried", items.retried);
  put(json, "running", items.running);
  put(json, "queued", items.queued);
  json.EndObject();
}

void write_latency(Json& json, const Latency& latency) {
  json.StartObject();
  put(json, "count", latency.count);
  put(json, "p50_ns", latency.p50);
  put(json, "p90_ns", latency.p90);
  put(json, "p99_ns", latency.p99);
  put(json, "max_ns", latency.max);
  put(json, "mean_ns", latency.mean);
  json.EndObject();
}

/// "1.23 ms", "456 µs", "789 ns": three significant digits for people.
std::string readable(std::chrono::nanoseconds d) {
  const auto ns = static_cast<double>(d.count());
  char text[32];
  if (ns >= 1e9)
    std::snprintf(text, sizeof text, "%.3g s", ns / 1e9);
  else if (ns >= 1e6)
    std::snprintf(text, sizeof text, "%.3g ms", ns / 1e6);
  else if (ns >= 1e3)
    std::snprintf(text, sizeof text, "%.3g us", ns / 1e3);
  else
    std::snprintf(text, sizeof text, "%.0f ns", ns);
  return text;
}

std::string latency_text(const char* what, const Latency& l) {
  return std::string{what} + ": p50 " + readable(l.p50) + ", p90 " + readable(l.p90) + ", p99 " + readable(l.p99) +
         ", max " + readable(l.max) + " (" + std::to_string(l.count) + " items)\n";
}

}  // namespace

void write_stats(Json& json, const PoolStats& stats) {
  json.StartObject();
  json.Key("items");
  write_items(json, stats.items);
  json.Key("workers");
  json.StartObject();
  put(json, "spawned", stats.workers_spawned);
  put(json, "lost", stats.workers_lost);
  put(json, "alive", stats.workers_alive);
  json.EndObject();
  put(json, "uptime_ns", stats.uptime);
  json.Key("run_time");
  write_latency(json, stats.run_time);
  json.Key("queue_wait");
  write_latency(json, stats.queue_wait);
  json.Key("tasks");
  json.StartArray();
  for (const auto& task : stats.tasks) {
    json.StartObject();
    json.Key("task");
    json.String(task.task.data(), static_cast<rapidjson::SizeType>(task.task.size()));
    json.Key("items");
    write_items(json, task.items);
    json.Key("run_time");
    write_latency(json, task.run_time);
    json.Key("queue_wait");
    write_latency(json, task.queue_wait);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
}

std::string stats_line(const PoolStats& stats) {
  rapidjson::StringBuffer buffer;
  Json json{buffer};
  json.StartObject();
  json.Key("stats");
  write_stats(json, stats);
  json.EndObject();
  return buffer.GetString();
}

std::string stats_text(const PoolStats& stats) {
  const auto& i = stats.items;
  std::string text = "items: " + std::to_string(i.submitted) + " submitted, " + std::to_string(i.done) + " done, " +
                     std::to_string(i.failed) + " failed, " + std::to_string(i.lost) + " lost with their worker, " +
                     std::to_string(i.retried) + " sent again\n";
  text += "workers: " + std::to_string(stats.workers_spawned) + " started, " + std::to_string(stats.workers_lost) +
          " lost\n";
  text += latency_text("run time", stats.run_time);
  text += latency_text("queue wait", stats.queue_wait);
  return text;
}

}  // namespace dlpool::cli
