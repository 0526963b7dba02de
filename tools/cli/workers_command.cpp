// `dlpool workers`: starts a small demo pool, runs a few calls of one task, and shows what
// Pool::workers() reports of each worker (pid, generation, items done and failed, resident
// memory, and the plugin files it loaded: path, version, inode, SHA-256), as a table or JSON,
// then the pool's statistics (Pool::stats).
// A signal stops the pool; nothing is reported then.

#include "commands.hpp"
#include "failure.hpp"
#include "json_text.hpp"
#include "pool_setup.hpp"
#include "rapidjson.hpp"
#include "stats_json.hpp"
#include "stop_signals.hpp"

#include <dlpool/pool.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace dlpool::cli {
namespace {

std::string mebibytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

/// Rows of cells printed with each column as wide as its widest cell, two spaces apart.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

void print_text(const std::vector<WorkerInfo>& workers) {
  std::vector<std::vector<std::string>> rows{
      {"PID", "GEN", "DONE", "FAILED", "RSS", "PLUGIN", "VERSION", "INODE", "SHA256", "PATH"}};
  for (const auto& w : workers) {
    std::vector<std::string> row{std::to_string(w.pid), std::to_string(w.generation), std::to_string(w.tasks_done),
                                 std::to_string(w.failures), w.rss_bytes != 0 ? mebibytes(w.rss_bytes) : "?"};
    if (w.plugins.empty()) {
      row.insert(row.end(), {"-", "-", "-", "-", "-"});
      rows.push_back(std::move(row));
      continue;
    }
    for (std::size_t i = 0; i < w.plugins.size(); ++i) {
      const auto& p = w.plugins[i];
      if (i > 0) row.assign(5, "");  // a further plugin of the same worker
      // 12 hex digits tell files apart at a glance; --json has all 64.
      row.insert(row.end(), {p.name, p.version, std::to_string(p.inode), p.sha256.substr(0, 12), p.path});
      rows.push_back(std::move(row));
    }
  }
  print_table(rows);
  // What enforces the workers' limits, when they have any (--json always says).
  if (!workers.empty() && workers.front().limits != "none") std::printf("limits: %s\n", workers.front().limits.c_str());
}

void print_json(const std::vector<WorkerInfo>& workers, const PoolStats& stats, const WorkersOptions& options,
                std::size_t failed) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json{buffer};
  const auto string = [&](const std::string& s) { json.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  json.StartObject();
  json.Key("plugin");
  string(options.plugin);
  json.Key("task");
  string(options.task);
  json.Key("calls");
  json.Uint64(static_cast<std::uint64_t>(options.count));
  json.Key("failed");
  json.Uint64(failed);
  json.Key("workers");
  json.StartArray();
  for (const auto& w : workers) {
    json.StartObject();
    json.Key("pid");
    json.Int(w.pid);
    json.Key("generation");
    json.Uint(w.generation);
    json.Key("tasks_done");
    json.Uint64(w.tasks_done);
    json.Key("failures");
    json.Uint64(w.failures);
    json.Key("rss_bytes");
    json.Uint64(w.rss_bytes);
    json.Key("limits");
    string(w.limits);
    json.Key("plugins");
    json.StartArray();
    for (const auto& p : w.plugins) {
      json.StartObject();
      json.Key("name");
      string(p.name);
      json.Key("path");
      string(p.path);
      json.Key("version");
      string(p.version);
      json.Key("inode");
      json.Uint64(p.inode);
      json.Key("sha256");
      string(p.sha256);
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
  }
  json.EndArray();
  json.Key("stats");
  write_stats(json, stats);
  json.EndObject();
  std::printf("%s\n", buffer.GetString());
}

}  // namespace

int run_workers(const GlobalOptions& global, const WorkersOptions& options, StopSignals& signals) {
  if (const auto problem = arguments_problem(options.arguments)) throw UsageError{"--args: " + *problem};
  auto pool_options = cli::pool_options(global);
  pool_options.processes = options.jobs;
  Pool pool{std::move(pool_options)};
  // One call per chunk, so that every worker free at the time takes some.
  auto results = pool.imap(JsonTask{options.plugin, options.task},
                           std::vector<std::string>(static_cast<std::size_t>(options.count), options.arguments), 1);
  const auto watch = signals.watch([&pool] { pool.terminate(); });  // once the work is in: it then fails
  std::size_t failed = 0;
  std::string first_failure;
  for (;;) {
    try {
      if (!results.next()) break;
    } catch (...) {
      if (failed++ == 0) first_failure = failure_of(std::current_exception()).message;
    }
  }
  // Before close(): the workers are still alive to be reported.
  const auto workers = pool.workers();
  pool.close();
  pool.join();
  const auto stats = pool.stats();
  if (signals.received() != 0) return 1;  // the workers were stopped: nothing true to report

  if (options.json) {
    print_json(workers, stats, options, failed);
  } else {
    print_text(workers);
    std::printf("%s", stats_text(stats).c_str());
  }
  std::fprintf(stderr, "dlpool: %d call%s of %s.%s, %zu failed%s%s\n", options.count, options.count == 1 ? "" : "s",
               options.plugin.c_str(), options.task.c_str(), failed, failed != 0 ? "; the first: " : "",
               first_failure.c_str());
  return failed == 0 ? 0 : 1;
}

}  // namespace dlpool::cli
