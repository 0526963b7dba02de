#pragma once
// The subcommands of `dlpool`, each in its own file. A command returns the process exit status:
// 0 success, 1 a failed call or item; it throws dlpool::UsageError for misuse (status 2) and
// anything else for a failure reported as "dlpool: <what>" (status 1). A command that runs a pool
// takes the StopSignals main() set up, and stops its pool on them; main() then dies of the signal.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dlpool::cli {

class StopSignals;

/// Options every subcommand takes.
struct GlobalOptions {
  /// --plugin-path, in order; searched before $DLPOOL_PLUGIN_PATH.
  std::vector<std::string> plugin_path;
  // What the workers of a command that runs a pool (call, map, workers) run under; see
  // PoolOptions::limits, sandbox and start_timeout.
  std::optional<std::uint64_t> memory_limit, cpu_limit_seconds, open_files, max_memory_per_child;
  std::string cgroup;
  std::string sandbox;  // "", "on" or "no-network"
  std::optional<std::chrono::milliseconds> start_timeout;
};

struct TasksOptions {
  std::string plugin;  // a plugin name, or a file path (anything with a '/')
  bool json = false;
};

struct CallOptions {
  std::string plugin, task, arguments;
};

struct MapOptions {
  std::string plugin, task;
  std::optional<int> jobs;  // unset: one worker per hardware thread
  int chunksize = 1;
  bool unordered = false;                          // write results as they complete
  std::optional<std::chrono::milliseconds> timeout;  // per item
  std::optional<std::string> joblog;               // --joblog FILE
  bool resume = false;                             // skip the lines the joblog says are done
  // --mpi: workers on the agent ranks of an MPI job (this is rank 0); `jobs` is then per agent.
  bool mpi = false;
  bool ship_plugins = false;
  std::optional<std::chrono::milliseconds> heartbeat;
  std::optional<std::string> trace;  // --trace FILE: the pool's trace (docs/trace-format.md)
  bool stats = false;                // --stats: Pool::stats() as one JSON line on stderr at the end
};

struct InstallOptions {
  std::string file;
  std::string dir;  // empty: the first plugin directory
};

struct WorkersOptions {
  std::string plugin = "text", task = "repeat";
  std::string arguments = "[\"dlpool\", 2]";  // JSON array, each call's arguments
  int count = 8;                              // calls
  int jobs = 2;                               // workers
  bool json = false;
};

struct ReportOptions {
  std::string trace;                // a trace file (PoolOptions::trace.file, `dlpool map --trace`)
  std::optional<std::string> html;  // --html OUT.html
};

/// `dlpool tasks FILE-or-NAME [--json]`: the plugin's manifest, read from its file unloaded.
int run_tasks(const GlobalOptions& global, const TasksOptions& options);
/// `dlpool call PLUGIN TASK JSON-ARGS`: one call; the result or an error object on stdout.
int run_call(const GlobalOptions& global, const CallOptions& options, StopSignals& signals);
/// `dlpool map PLUGIN TASK [-j N] [--chunksize N] [--unordered] [--timeout S] [--joblog FILE
/// [--resume]]`: JSON argument lines in, result lines out.
int run_map(const GlobalOptions& global, const MapOptions& options, StopSignals& signals);
/// `dlpool install FILE [DIR]`: probe FILE in a throwaway worker, then rename() a copy into DIR.
int run_install(const GlobalOptions& global, const InstallOptions& options);
/// `dlpool workers [--plugin P --task T --args JSON --count N -j N] [--json]`: a demo pool's
/// Pool::workers() after `count` calls; status 1 if any call failed.
int run_workers(const GlobalOptions& global, const WorkersOptions& options, StopSignals& signals);
/// `dlpool report TRACE [--html OUT.html]`: the trace summarised as one JSON object on stdout
/// (with --html, also the page's file and size); throws std::runtime_error when the trace cannot
/// be read, is not a dlpool trace or has no events.
int run_report(const ReportOptions& options);

}  // namespace dlpool::cli
