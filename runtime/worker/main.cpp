// dlpool-worker: the generic worker process. It is never linked with user code: it loads task
// plugins by name and runs the chunks the host sends on fd 3, answering on fd 4.
//
//   dlpool-worker --plugin-path DIR[:DIR...] [--max-tasks N] [--max-frame BYTES] [--batch-scheduling]
//                 [--doorbell] [--ledger] [--arena] [--memory-limit BYTES] [--cpu-limit SECONDS] [--open-files N]
//                 [--max-rss BYTES] [--sandbox on|no-network]
//   dlpool-worker --describe NAME [--plugin-path DIR[:DIR...]]   (prints the manifest as JSON)
//   dlpool-worker --fork-server [worker options]   (a pool's zygote: see fork_server.hpp)

#include "describe.hpp"
#include "fork_server.hpp"
#include "frame_input.hpp"
#include "isolation.hpp"
#include "limits.hpp"
#include "log/log.hpp"
#include "plugin_loader.hpp"
#include "sandbox.hpp"
#include "shared_payloads.hpp"
#include "task_runner.hpp"

#include "dlpool_config.hpp"
#include "sys/io.hpp"
#include "sys/ledger.hpp"
#include "sys/pipe_capacity.hpp"

#include <dlpool/wire/bytes.hpp>
#include <dlpool/wire/frame.hpp>
#include <dlpool/wire/plugin_files.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

namespace {

constexpr int tasks_fd = 3;
constexpr int results_fd = 4;

/// The host's steady_clock, which is CLOCK_MONOTONIC: a chunk's run times are on it.
std::uint64_t monotonic_ns() noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(now.tv_nsec);
}
constexpr int doorbell_fd = 5;  // with --doorbell
// With --ledger: the fd after the pipes and the doorbell (see sys/ledger.hpp).
constexpr int ledger_fd(bool doorbell) { return doorbell ? doorbell_fd + 1 : doorbell_fd; }
// With --arena: the fd after the ledger's (see sys/shared_arena.hpp).
constexpr int arena_fd(bool doorbell, bool ledger) { return ledger ? ledger_fd(doorbell) + 1 : ledger_fd(doorbell); }

/// The ':'-separated directories, made absolute now: a task that calls chdir() must not move
/// where later plugins are looked for.
std::vector<std::string> absolute_dirs(const std::string& path) {
  auto dirs = dlpool::wire::split_search_path(path);
  for (auto& dir : dirs) {
    std::error_code ec;
    dir = std::filesystem::absolute(dir, ec).lexically_normal().string();
  }
  return dirs;
}

/// The plugin dir of the installation (or build tree) this executable belongs to, relative to
/// the executable so that a moved prefix still works:
/// <prefix>/bin/dlpool-worker -> <prefix>/lib/dlpool/plugins.
std::string own_plugin_dir() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return (self.parent_path() / dlpool::detail::config::bin_to_plugins).lexically_normal().string();
}

/// SCHED_BATCH for this process and what it forks (see PoolOptions::batch_scheduling), unless
/// the host runs under a policy of its own choosing (real-time, idle): that one is kept. Always
/// permitted for one's own process; should a sandbox refuse it, the worker runs as it was.
void use_batch_scheduling() {
  if (::sched_getscheduler(0) != SCHED_OTHER) return;
  const sched_param param{};
  if (::sched_setscheduler(0, SCHED_BATCH, &param) != 0)
    dlpool::detail::log(dlpool::detail::LogLevel::debug, "SCHED_BATCH refused ({}): running under the inherited policy",
                        std::strerror(errno));
}

void send(const std::string& frame) {
  static dlpool::detail::PipeCapacity results{results_fd};
  results.fit(frame.size());
  // The host is gone if this fails: nothing left to do but exit.
  if (!dlpool::detail::write_all(results_fd, frame)) std::exit(0);
}

void append_report(std::string& out, const dlpool::worker::LoadedPlugin& plugin) {
  const auto start = dlpool::wire::append_frame(out, dlpool::wire::FrameKind::plugin);
  plugin.report.encode(out);
  dlpool::wire::finish_frame(out, start);
}

/// Sends `answer`, preceded by a `plugin` frame for each plugin loaded to produce it: the host
/// learns which file a worker runs before any result that file computed. One write for all.
void send_answer(dlpool::worker::PluginLoader& loader, const std::string& answer, std::string& scratch) {
  const auto fresh = loader.take_fresh();
  if (fresh.empty()) return send(answer);
  scratch.clear();
  for (const auto* plugin : fresh) append_report(scratch, *plugin);
  scratch += answer;
  send(scratch);
}

/// The item count of a TASK payload (u8 codec, str plugin, str task, str signature, u32 count);
/// 1 if it does not parse (the runner reports that).
std::uint32_t item_count(std::string_view payload) {
  try {
    dlpool::wire::ByteReader in{payload};
    in.get<std::uint8_t>("codec");
    for (const char* field : {"plugin name", "task name", "signature"}) in.get_string(field);
    return in.get<std::uint32_t>("item count");
  } catch (const dlpool::wire::DecodeError&) {
    return 1;
  }
}

/// Tells the host this worker exits, and why, after the answer it has just sent; returns the
/// exit status.
int retire(const std::string& why, std::string& frame) {
  dlpool::wire::begin_frame(frame, dlpool::wire::FrameKind::retire);
  dlpool::wire::put_string(frame, why);
  dlpool::wire::finish_frame(frame);
  send(frame);
  return 0;
}

/// A probe's request: load `name` now. Answered with its report, or an error result.
void load_plugin(dlpool::worker::PluginLoader& loader, const dlpool::wire::FrameHeader& header,
                 std::string_view payload, std::string& out) {
  out.clear();
  try {
    dlpool::wire::ByteReader in{payload};
    const auto name = in.get_string("plugin name");
    append_report(out, loader.get(name));
    loader.take_fresh();  // reported just now
  } catch (const dlpool::worker::RequestError& e) {
    dlpool::worker::error_answer(header, e, out);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dlpool worker: runs plugin tasks for a dlpool::Pool (fd 3: tasks, fd 4: results)"};
  std::string plugin_path;
  unsigned long max_tasks = 0;
  std::uint32_t max_frame = dlpool::wire::default_max_frame;
  app.add_option("--plugin-path", plugin_path, "':'-separated plugin directories, searched in order");
  app.add_option("--max-tasks", max_tasks, "exit after this many chunks (0: never)");
  app.add_option("--max-frame", max_frame, "largest frame payload accepted");
  std::string describe;
  const auto* describe_option =
      app.add_option("--describe", describe, "print plugin NAME's manifest as JSON on stdout, then exit");
  bool doorbell = false;
  app.add_flag("--doorbell", doorbell, "fd 5 is an eventfd the host signals before writing after long chunks");
  bool ledger_given = false;
  app.add_flag("--ledger", ledger_given,
               "the fd after the doorbell's (or fd 5) is a memfd page: count chunks started there");
  bool arena_given = false;
  app.add_flag("--arena", arena_given,
               "the fd after the ledger's is the shared arena large payloads travel through (a memfd)");
  bool fork_server = false;
  app.add_flag("--fork-server", fork_server, "make the pool's workers by cloning this process (socket on fd 3)");
  bool batch = false;
  app.add_flag("--batch-scheduling", batch, "run under SCHED_BATCH: woken with work, never preempt the host");
  dlpool::worker::LimitSettings limit_settings;
  app.add_option("--memory-limit", limit_settings.memory_bytes, "bytes of data memory (RLIMIT_DATA)");
  app.add_option("--cpu-limit", limit_settings.cpu_seconds, "CPU seconds per item (RLIMIT_CPU, per chunk)");
  app.add_option("--open-files", limit_settings.open_files, "open file descriptors (RLIMIT_NOFILE)");
  app.add_option("--max-rss", limit_settings.max_rss_bytes, "retire once resident memory is over this after a chunk");
  std::string sandbox;
  app.add_option("--sandbox", sandbox, "run tasks under the seccomp sandbox: 'on' or 'no-network'")
      ->check(CLI::IsMember({"on", "no-network"}));
  std::vector<std::string> expected;
  app.add_option("--expect-sha256", expected,
                 "NAME=HEX: load plugin NAME only from a file of this SHA-256 (an MPI "
                 "agent's workers: what the host saw); given once, every plugin needs one");
  bool die_with_parent = false;
  app.add_flag("--die-with-parent", die_with_parent,
               "SIGKILL when the process that started it dies (an MPI agent's workers: nothing outlives the agent)");
  CLI11_PARSE(app, argc, argv);
  dlpool::detail::configure_log(std::getenv("DLPOOL_LOG"), "dlpool-worker");
  if (batch) use_batch_scheduling();  // before the fork server, whose workers inherit it
  auto search_path = absolute_dirs(plugin_path);
  if (auto own = own_plugin_dir(); !own.empty()) search_path.push_back(std::move(own));
  dlpool::worker::PluginLoader loader{std::move(search_path)};
  if (!expected.empty()) {
    std::map<std::string, std::string, std::less<>> sha256;
    for (const auto& pair : expected)
      if (const auto eq = pair.find('='); eq != std::string::npos)
        sha256.emplace(pair.substr(0, eq), pair.substr(eq + 1));
    loader.expect(std::move(sha256));
  }
  // Returns in each worker the server makes; everything above is done once for all of them,
  // including what the server learns of the pool's plugin files (see inspect_ahead).
  if (fork_server) dlpool::worker::serve_forks(loader);
  if (die_with_parent) {
    // Armed in each worker (a clone does not inherit it). The agent is single-threaded, so its
    // thread's death is its process's; the parent is checked again after arming, in case it
    // died before.
    const auto parent = ::getppid();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return 1;
  }

  // A process a plugin starts must not inherit the protocol pipes: holding the task pipe open
  // would keep a write from the host blocking after this worker died, instead of failing.
  ::fcntl(tasks_fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(results_fd, F_SETFD, FD_CLOEXEC);
  if (doorbell) ::fcntl(doorbell_fd, F_SETFD, FD_CLOEXEC);
  // The host gone: the next read sees EOF, the next write EPIPE, and the worker exits. (Not
  // PR_SET_PDEATHSIG: it follows the host *thread* that spawned us, not the host process.)
  std::signal(SIGPIPE, SIG_IGN);

  if (*describe_option) return dlpool::worker::describe_plugin(loader, describe);
  auto ledger = ledger_given ? dlpool::detail::Ledger::open(ledger_fd(doorbell)) : dlpool::detail::Ledger{};
  if (ledger_given && !ledger) {
    // The host reads the page as "nothing started": a chunk this worker ran could run twice.
    std::fprintf(stderr, "dlpool-worker %d: cannot map its ledger (fd %d)\n", static_cast<int>(::getpid()),
                 ledger_fd(doorbell));
    return 2;
  }
  // Without its arena (it could not be mapped: an address-space limit) the worker says so in its
  // hello, and every payload goes through the pipes.
  dlpool::worker::SharedPayloads shared{arena_given
                                            ? dlpool::detail::SharedArena::open(arena_fd(doorbell, ledger_given))
                                            : dlpool::detail::SharedArena{}};
  dlpool::worker::isolate_from_host({tasks_fd, results_fd, doorbell ? doorbell_fd : -1}, ledger);
  dlpool::worker::watch_host(results_fd);
  const dlpool::worker::Limits limits{limit_settings};
  try {
    limits.apply();  // before any plugin's code runs here
    if (!sandbox.empty()) dlpool::worker::enter_sandbox(sandbox == "no-network");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlpool-worker %d: %s\n", static_cast<int>(::getpid()), e.what());
    return 2;
  }
  std::uint64_t tasks_started = 0;
  dlpool::worker::TaskRunner runner{loader, max_frame, limit_settings.memory_bytes, shared ? &shared : nullptr};

  std::string frame;
  dlpool::wire::begin_frame(frame, dlpool::wire::FrameKind::hello);
  dlpool::wire::put(frame, dlpool::wire::protocol_version);
  dlpool::wire::put(frame, static_cast<std::uint32_t>(::getpid()));
  dlpool::wire::set_frame_flag(frame, dlpool::wire::flag_arena, static_cast<bool>(shared));
  dlpool::wire::finish_frame(frame);
  send(frame);

  std::string scratch;
  dlpool::worker::FrameInput input{tasks_fd, max_frame, doorbell ? doorbell_fd : -1};
  unsigned long tasks_done = 0;
  try {
    for (;;) {
      dlpool::wire::FrameHeader header;
      std::string_view payload;
      if (!input.next(header, payload)) return 0;  // EOF: the host's sentinel
      payload = shared.payload_of(header, payload);
      switch (header.kind) {
        case dlpool::wire::FrameKind::stop: return 0;
        case dlpool::wire::FrameKind::init: {
          const bool ok = runner.run(header, payload, frame);
          shared.answer(frame);
          send_answer(loader, frame, scratch);
          if (!ok) return 3;  // a worker whose initializer failed must not take work
          break;
        }
        case dlpool::wire::FrameKind::task: {
          // Parsing the item count costs a pass over the frame's names: only with a CPU limit.
          if (limit_settings.cpu_seconds) limits.before_chunk(item_count(payload));
          ledger.started(++tasks_started);
          const auto started = monotonic_ns();
          runner.run(header, payload, frame);
          input.expect_next_soon((header.flags & dlpool::wire::flag_awaited) != 0);
          dlpool::wire::append_run_times(frame, started, monotonic_ns());
          shared.answer(frame);
          send_answer(loader, frame, scratch);
          auto why = runner.ran_out_of_memory() ? std::optional<std::string>{"a task ran out of memory under its limit"}
                                                : limits.over_rss();
          if (why) return retire(*why, frame);  // chunks queued behind are sent elsewhere
          if (max_tasks != 0 && ++tasks_done >= max_tasks) return 0;
          break;
        }
        case dlpool::wire::FrameKind::load:
          load_plugin(loader, header, payload, frame);
          send(frame);
          break;
        default:
          throw dlpool::wire::DecodeError{"unexpected frame kind " + std::to_string(static_cast<int>(header.kind))};
      }
    }
  } catch (const std::exception& e) {
    // A malformed frame or a broken pipe: the host ends this worker and fails its chunk.
    std::fprintf(stderr, "dlpool-worker %d: %s\n", static_cast<int>(::getpid()), e.what());
    return 2;
  }
}
