// dlpool: runs plugin tasks from the shell. Exit status: 0 ok, 1 a failed call or item (or a
// failure such as a missing plugin), 2 a usage error.
//
//   dlpool tasks FILE-or-NAME [--json]
//   dlpool call PLUGIN TASK JSON-ARGS
//   dlpool map PLUGIN TASK [-j N] [--chunksize N] [--unordered] [--timeout SECONDS]
//              [--joblog FILE [--resume]] [--trace FILE] [--stats]  < arguments.jsonl > results.jsonl
//   dlpool install FILE [DIR]
//   dlpool workers [--plugin P --task T --args JSON-ARGS --count N -j N] [--json]
//   dlpool report TRACE [--html OUT.html]
//   (each with --plugin-path DIR, repeatable)
//
// Output is never lost with a success status: a write error on stdout is status 1 with a
// message (SIGPIPE is blocked, so a reader gone is EPIPE, not a silent death). SIGTERM, SIGINT
// and SIGHUP stop `call`, `map` and `workers` cleanly (see stop_signals.hpp), then the process
// dies of that signal.

#include "commands.hpp"
#include "option_checks.hpp"
#include "pool_setup.hpp"
#include "stop_signals.hpp"

#include <dlpool/errors.hpp>

#include "sys/io.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>

#include <fcntl.h>
#include <unistd.h>

namespace {

using dlpool::tools::at_least_one;

constexpr int usage_status = 2;

/// A duration option's check: a positive number of seconds.
std::string positive_seconds(std::string& value) {
  double seconds = 0;
  if (!CLI::detail::lexical_cast(value, seconds) || !(seconds > 0) || seconds > 1e9)
    return "must be a positive number of seconds, not '" + value + "'";
  return {};
}

/// A closed fd 0, 1 or 2 would be taken by the next file opened (the joblog, a pipe to a
/// worker), and results written "to stdout" would land there. Each closed one gets /dev/null,
/// opened in the other direction, so that using it still fails with EBADF: a closed stdout is a
/// write error, a closed stdin a read error.
void hold_closed_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int held = ::open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);  // the lowest free fd: this one
    if (held >= 0 && held != fd) {
      ::dup2(held, fd);
      ::close(held);
    }
  }
}

/// This process's rank in an MPI job, from what the launcher sets (Open MPI, PMIx, Slurm's PMI);
/// -1 outside one. Read before MPI starts: only rank 0 starts it here (the pool does).
int mpi_rank_from_environment() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return std::atoi(value);
  return -1;
}

/// A rank other than 0 of `mpiexec ... dlpool map --mpi` serves as an agent: dlpool-agent
/// beside this executable replaces it.
int become_agent(const char* argv0) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) self = argv0;
  const auto agent = (self.parent_path() / "dlpool-agent").string();
  char* const args[] = {const_cast<char*>(agent.c_str()), nullptr};
  ::execv(agent.c_str(), args);
  std::fprintf(stderr, "dlpool: cannot run %s as this rank's agent: %s\n", agent.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dlpool::cli;
  hold_closed_standard_fds();
  // Before any thread starts, so that all inherit it (workers are spawned with an empty mask).
  dlpool::detail::block_sigpipe_in_this_thread();

  CLI::App app{"dlpool: run tasks exported by dlpool plugins in a pool of worker processes"};
  app.require_subcommand(1);
  // Lets --plugin-path come after the subcommand too, as in `dlpool call ... --plugin-path DIR`.
  app.fallthrough();
  GlobalOptions global;
  app.add_option("--plugin-path", global.plugin_path,
                 "directory searched for plugins before $DLPOOL_PLUGIN_PATH (repeatable)")
      ->type_name("DIR")
      ->allow_extra_args(false);
  add_pool_settings(app, global);

  TasksOptions tasks;
  auto* tasks_command =
      app.add_subcommand("tasks", "list a plugin's tasks and their signatures, read from its file without loading it");
  tasks_command->add_option("plugin", tasks.plugin, "plugin name (e.g. text), or a file path containing '/'")
      ->required()
      ->type_name("FILE-or-NAME");
  tasks_command->add_flag("--json", tasks.json, "print the manifest as JSON");

  CallOptions call;
  auto* call_command = app.add_subcommand("call", "call a task once and print its result as JSON");
  call_command->add_option("plugin", call.plugin, "plugin name")->required();
  call_command->add_option("task", call.task, "task name")->required();
  call_command->add_option("arguments", call.arguments, "the arguments as a JSON array, e.g. '[\"ab\", 3]'")
      ->required()
      ->type_name("JSON-ARGS");

  MapOptions map;
  int jobs = 0;
  auto* map_command = app.add_subcommand(
      "map", "call a task for each line of stdin (a JSON array of arguments); one result line per input line");
  map_command->add_option("plugin", map.plugin, "plugin name")->required();
  map_command->add_option("task", map.task, "task name")->required();
  auto* jobs_option = map_command->add_option("-j,--jobs", jobs, "worker processes (default: hardware threads)")
                          ->check(CLI::Validator{at_least_one, ""});
  map_command->add_option("--chunksize", map.chunksize, "items sent to a worker at a time")
      ->capture_default_str()
      ->check(CLI::Validator{at_least_one, ""});
  map_command->add_flag("--unordered", map.unordered,
                        "write each result as soon as it is done, not in input order (the joblog's k-th line "
                        "describes the k-th output line)");
  double timeout_seconds = 0;
  auto* timeout_option =
      map_command
          ->add_option("--timeout", timeout_seconds,
                       "time limit per item, in seconds (decimals allowed): an item over it fails with "
                       "TaskTimeout and its worker is replaced")
          ->type_name("SECONDS")
          ->check(CLI::Validator{positive_seconds, ""});
  std::string joblog;
  auto* joblog_option = map_command->add_option(
      "--joblog", joblog,
      "log each input line's outcome to FILE (started over unless --resume): line, status, worker pid or '-', "
      "seconds");
  joblog_option->type_name("FILE");
  map_command
      ->add_flag("--resume", map.resume,
                 "skip the lines the joblog lists as done (status ok) and append to it; the input must be the "
                 "same")
      ->needs(joblog_option);

  map_command->add_flag("--mpi", map.mpi,
                        "run the workers on the other ranks of an MPI job: `mpiexec --bind-to none -n K+1 dlpool map "
                        "--mpi ...`; rank 0 reads and writes, the others become dlpool-agents; -j is then per agent");
  map_command->add_flag("--ship-plugins", map.ship_plugins,
                        "with --mpi: send the plugin files to every node instead of relying on a shared file system");
  double heartbeat_seconds = 0;
  auto* heartbeat_option = map_command
                               ->add_option("--heartbeat", heartbeat_seconds,
                                            "with --mpi: an agent not heard from for this long is lost (seconds, "
                                            "default 1): its started items fail, the others run elsewhere")
                               ->type_name("SECONDS")
                               ->check(CLI::Validator{positive_seconds, ""});
  std::string trace;
  auto* trace_option = map_command
                           ->add_option("--trace", trace,
                                        "write a trace of the run to FILE (Chrome Trace Event Format: open it in "
                                        "ui.perfetto.dev, or with `dlpool report FILE --html OUT.html`)")
                           ->type_name("FILE");
  map_command->add_flag("--stats", map.stats,
                        "print the pool's statistics at the end, as one JSON line on stderr: item counts, and run "
                        "time and queue wait percentiles per task (integers, nanoseconds)");

  InstallOptions install;
  auto* install_command = app.add_subcommand(
      "install", "publish a plugin file into a plugin directory atomically, once a throwaway worker has loaded it");
  install_command->add_option("file", install.file, "the plugin file (a shared library built with the SDK)")
      ->required()
      ->type_name("FILE");
  install_command->add_option("dir", install.dir, "the plugin directory (default: the first one searched)")
      ->type_name("DIR");

  WorkersOptions workers;
  auto* workers_command = app.add_subcommand(
      "workers", "start a small demo pool, run a few calls, and show each worker: pid, generation, items done and "
                 "failed, memory, and the plugin files it loaded (path, version, inode, sha256)");
  auto* plugin_option =
      workers_command->add_option("--plugin", workers.plugin, "plugin to call")->capture_default_str();
  auto* task_option = workers_command->add_option("--task", workers.task, "task to call")->capture_default_str();
  auto* args_option =
      workers_command
          ->add_option("--args", workers.arguments,
                       "each call's arguments as a JSON array (default: [\"dlpool\", 2] for text.repeat, else [])")
          ->type_name("JSON-ARGS");
  workers_command->add_option("--count", workers.count, "calls to run")
      ->capture_default_str()
      ->check(CLI::Validator{at_least_one, ""});
  workers_command->add_option("-j,--jobs", workers.jobs, "worker processes")
      ->capture_default_str()
      ->check(CLI::Validator{at_least_one, ""});
  workers_command->add_flag("--json", workers.json, "print the report as JSON");

  ReportOptions report;
  std::string report_html;
  auto* report_command = app.add_subcommand(
      "report", "summarise a pool's trace (PoolOptions::trace, dlpool map --trace) as JSON, and with --html draw it "
                "as a self-contained page: timeline per worker, utilisation, run time and queue wait histograms, "
                "slowest chunks, worker losses");
  report_command
      ->add_option("trace", report.trace, "the trace file (a run cut short is read up to its last whole line)")
      ->required()
      ->type_name("TRACE");
  auto* report_html_option =
      report_command->add_option("--html", report_html, "also write the report page to this file")
          ->type_name("OUT.html");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : usage_status;  // --help is a success
  }
  if (*jobs_option) map.jobs = jobs;
  if (*timeout_option)
    map.timeout = std::max(std::chrono::milliseconds{1},
                           std::chrono::milliseconds{static_cast<long long>(std::llround(timeout_seconds * 1000))});
  if (*joblog_option) map.joblog = joblog;
  if (*trace_option) map.trace = trace;
  if (*report_html_option) report.html = report_html;
  if (*heartbeat_option)
    map.heartbeat = std::chrono::milliseconds{static_cast<long long>(std::llround(heartbeat_seconds * 1000))};
  if ((map.ship_plugins || map.heartbeat) && !map.mpi) {
    std::fprintf(stderr, "dlpool: --ship-plugins and --heartbeat need --mpi\n");
    return usage_status;
  }
  // Every rank of `mpiexec -n K+1 dlpool map --mpi` runs this: all but rank 0 become agents.
  if (*map_command && map.mpi && mpi_rank_from_environment() > 0) return become_agent(argv[0]);
  // Arguments fit for text.repeat fit nothing else.
  if (!*args_option && (*plugin_option || *task_option)) workers.arguments = "[]";

  int status = 1;
  std::optional<StopSignals> signals;
  try {
    // Before the pool exists: its threads inherit the blocked signals.
    if (*call_command || *map_command || *workers_command) signals.emplace();
    if (*tasks_command)
      status = run_tasks(global, tasks);
    else if (*call_command)
      status = run_call(global, call, *signals);
    else if (*install_command)
      status = run_install(global, install);
    else if (*workers_command)
      status = run_workers(global, workers, *signals);
    else if (*report_command)
      status = run_report(report);
    else
      status = run_map(global, map, *signals);
  } catch (const dlpool::UsageError& e) {
    std::fprintf(stderr, "dlpool: %s\n", e.what());
    status = usage_status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlpool: %s\n", e.what());
    status = 1;
  }
  // The commands that print with stdio (tasks, install, workers): a failed write shows here.
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "dlpool: cannot write standard output: %s\n", std::strerror(errno));
    if (status == 0) status = 1;
  }
  if (const int signal = signals ? signals->received() : 0; signal != 0) {
    signals.reset();
    std::fprintf(stderr, "dlpool: stopped by %s\n", StopSignals::name(signal));
    StopSignals::die_of(signal);
  }
  return status;
}
