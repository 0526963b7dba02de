#include "local_transport.hpp"

#include "errors_internal.hpp"
#include "log/log.hpp"
#include "paths.hpp"
#include "readable_size.hpp"
#include "result_payload.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/frame.hpp>

#include <csignal>
#include <system_error>
#include <type_traits>

#include <poll.h>
#include <sys/wait.h>

namespace dlpool::detail {
namespace {

// A probe that neither answers nor dies in this time is given up on (a plugin whose static
// constructor blocks, say): the restart fails rather than hang.
constexpr auto probe_timeout = std::chrono::seconds{30};

std::string aborted(const std::string& why) { return "restart aborted, the old workers keep serving: " + why; }

}  // namespace

LocalTransport::LocalTransport(const PoolOptions& options, TransportEvents& events,
                               const std::vector<std::string>& extra_args)
    : max_frame_{options.max_frame_bytes},
      memory_bytes_{options.limits.memory_bytes},
      cpu_time_{options.limits.cpu_time},
      argv_{worker_executable(options.worker_path),
            "--plugin-path",
            plugin_search_path(options.plugin_path),
            "--max-frame",
            std::to_string(options.max_frame_bytes),
            "--doorbell",
            "--ledger",
            "--arena"},
      fork_server_{std::min(options.start_timeout, std::chrono::milliseconds{10'000})},
      results_{events} {
  use_limits(options.limits);
  if (!options.shared_memory_payloads) without_shared_payloads();
  if (options.sandbox != Sandbox::off)
    argv_.insert(argv_.end(), {"--sandbox", options.sandbox == Sandbox::no_network ? "no-network" : "on"});
  if (options.batch_scheduling) argv_.emplace_back("--batch-scheduling");
  if (options.maxtasksperchild) {
    argv_.emplace_back("--max-tasks");
    argv_.push_back(std::to_string(*options.maxtasksperchild));
  }
  argv_.insert(argv_.end(), extra_args.begin(), extra_args.end());
}

void LocalTransport::without_shared_payloads() {
  shared_payloads_ = false;
  std::erase(argv_, "--arena");
}

SharedArena LocalTransport::make_arena() {
  if (!shared_payloads_) return {};
  try {
    return SharedArena::create(max_frame_);
  } catch (const std::system_error& e) {
    // Twice max_frame_bytes of address space a worker: a host under RLIMIT_AS may not have it.
    // Its workers then go without, as they would if they could not map it.
    log(LogLevel::warn, "no shared memory for large payloads ({}): they go through the pipes", e.what());
    shared_payloads_ = false;
    return {};
  }
}

void LocalTransport::use_limits(const WorkerLimits& limits) {
  const auto positive = [](const auto& value, const char* name) {
    if (value && *value <= std::remove_cvref_t<decltype(*value)>{})
      throw UsageError{std::string{"limits."} + name + " must be positive"};
  };
  positive(limits.memory_bytes, "memory_bytes");
  positive(limits.cpu_time, "cpu_time");
  positive(limits.max_memory_per_child, "max_memory_per_child");
  if (limits.open_files && *limits.open_files < 16) throw UsageError{"limits.open_files must be at least 16"};
  std::vector<std::string> in_force;
  std::string cgroup_refused;
  if (!limits.cgroup.empty() && !limits.memory_bytes) {
    cgroup_refused = "no memory limit to set in it";  // the only limit a cgroup enforces here
  } else if (!limits.cgroup.empty())
    try {
      cgroups_.emplace(limits.cgroup);
    } catch (const std::runtime_error& e) {
      cgroup_refused = e.what();
      log(LogLevel::warn, "limits.cgroup not used, rlimits instead: {}", cgroup_refused);
    }
  if (limits.memory_bytes) {
    if (cgroups_) {
      in_force.push_back("memory " + readable_size(*limits.memory_bytes) + " (memory.max of its cgroup in " +
                         cgroups_->dir() + ")");
    } else {
      argv_.insert(argv_.end(), {"--memory-limit", std::to_string(*limits.memory_bytes)});
      in_force.push_back("memory " + readable_size(*limits.memory_bytes) + " (RLIMIT_DATA)");
    }
  }
  if (limits.cpu_time) {
    argv_.insert(argv_.end(), {"--cpu-limit", std::to_string(limits.cpu_time->count())});
    in_force.push_back("CPU " + std::to_string(limits.cpu_time->count()) + " s per item (RLIMIT_CPU)");
  }
  if (limits.open_files) {
    argv_.insert(argv_.end(), {"--open-files", std::to_string(*limits.open_files)});
    in_force.push_back("open files " + std::to_string(*limits.open_files) + " (RLIMIT_NOFILE)");
  }
  if (limits.max_memory_per_child) {
    argv_.insert(argv_.end(), {"--max-rss", std::to_string(*limits.max_memory_per_child)});
    in_force.push_back("max_memory_per_child " + readable_size(*limits.max_memory_per_child) +
                       " (resident, after each chunk)");
  }
  for (const auto& limit : in_force) limits_in_force_ += (limits_in_force_.empty() ? "" : ", ") + limit;
  if (limits_in_force_.empty()) limits_in_force_ = "none";
  if (!cgroup_refused.empty()) limits_in_force_ += "; cgroup not used: " + cgroup_refused;
}

LossReport LocalWorker::loss_report() const {
  LossReport report;
  report.executor = name();
  report.pid = process.pid();
  report.wait_status = wait_status;
  report.broke_protocol = !protocol_error.empty();
  report.cause = report.broke_protocol ? protocol_error : describe_exit(wait_status);
  const bool signalled = wait_status >= 0 && WIFSIGNALED(wait_status);
  report.killed = signalled && WTERMSIG(wait_status) == SIGKILL && !report.broke_protocol;
  if (cpu_time_ && signalled && WTERMSIG(wait_status) == SIGXCPU) {
    report.over = LossReport::Limit::cpu_time;
    report.limit = "CPU-time limit of " + std::to_string(cpu_time_->count()) + " s per item";
    report.cpu_seconds_per_item = cpu_time_->count();
  } else if (cgroup && signalled && WTERMSIG(wait_status) == SIGKILL && cgroup->oom_killed()) {
    // The OOM killer kills with SIGKILL; it may have killed a child of the worker's before.
    report.over = LossReport::Limit::memory;
    report.limit =
        "memory limit of " + readable_size(memory_bytes_.value_or(0)) + " (memory.max of " + cgroup->path() + ")";
  }
  return report;
}

LocalWorker::Parts LocalTransport::spawn(std::uint64_t id, std::span<const std::string> plugins) {
  Pipe tasks = make_pipe();
  Pipe results = make_pipe();
  auto doorbell = make_eventfd();  // see sys/doorbell.hpp
  auto ledger = Ledger::create();   // see sys/ledger.hpp
  auto arena = make_arena();
  std::optional<WorkerCgroup> cgroup;
  if (cgroups_) cgroup.emplace(cgroups_->create(id, memory_bytes_));
  const auto worker_ends = [&] {
    std::vector<int> fds{tasks.read.get(), results.write.get(), doorbell.get(), ledger.fd()};
    if (arena) fds.push_back(arena.fd());
    return fds;
  };
  // Cloned by the pool's fork server when it can (no exec, no dynamic linking: a fraction of a
  // spawn's cost), spawned otherwise. Fresh descriptors for a spawn after the server failed: the
  // ones it was sent may be held by a clone it made but could not report.
  auto process = [&] {
    if (auto forked = fork_server_.spawn(argv_, worker_ends(), plugins)) return std::move(*forked);
    tasks = make_pipe();
    results = make_pipe();
    doorbell = make_eventfd();
    ledger = Ledger::create();
    if (arena) arena = make_arena();
    return ChildProcess::spawn(argv_, worker_ends());
  }();
  ledger.close_fd();  // the worker has its own
  arena.close_fd();
  // Before its first task (what it used starting up, before this, was a few pages).
  if (cgroup) cgroup->add(process.pid());
  set_nonblocking(results.read.get());
  log(LogLevel::debug, "worker {} started", process.pid());
  return {std::move(process), std::move(tasks.write), std::move(doorbell), std::move(results.read),
          std::move(ledger),  std::move(arena),       std::move(cgroup),   cpu_time_,
          memory_bytes_};
}

void LocalTransport::probe(const std::vector<std::string>& plugins) {
  // Spawned like any worker, but never registered: only this thread talks to it, and its
  // destructor kills and reaps it whatever happens here.
  LocalWorker worker{spawn(0), max_frame_};
  std::string frames;
  for (std::uint32_t i = 0; i < plugins.size(); ++i) {
    const auto start = wire::append_frame(frames, wire::FrameKind::load, 0, i);
    wire::put_string(frames, plugins[i]);
    wire::finish_frame(frames, start);
  }
  // A probe that died makes this write fail, not kill the host.
  worker.send_small(frames);

  const auto pid = worker.process.pid();
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + probe_timeout;
  bool hello = false;
  std::size_t answered = 0;
  while (!hello || answered < plugins.size()) {
    const auto doing =
        answered < plugins.size() ? "loading plugin '" + plugins[answered] + "'" : std::string{"starting"};
    pollfd p{worker.from_worker.get(), POLLIN, 0};
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0)
      throw WorkerStartError{aborted("probe worker " + std::to_string(pid) + " did not answer within " +
                                     std::to_string(probe_timeout.count()) + " s while " + doing)};
    const auto fill = worker.reader.fill(worker.from_worker.get());
    wire::FrameHeader header;
    std::string_view payload;
    while (worker.reader.next(header, payload)) {
      if (header.kind == wire::FrameKind::hello) {
        hello = true;
      } else if (header.kind == wire::FrameKind::plugin) {
        ++answered;
      } else if (header.kind == wire::FrameKind::result) {
        const auto error = parse_result(payload);
        const auto& name = plugins.at(header.index);
        std::rethrow_exception(remote_error(error.kind, error.type, aborted(std::string{error.message}),
                                            TaskRef{name, {}, {}, wire::Codec::binary, std::nullopt}, 0, pid));
      } else {
        throw ProtocolError{aborted("probe worker " + std::to_string(pid) + " sent a frame of kind " +
                                    std::to_string(static_cast<int>(header.kind)))};
      }
    }
    if (fill == FrameReader::Fill::eof && (!hello || answered < plugins.size()))
      throw WorkerStartError{aborted("probe worker " + std::to_string(pid) + " " +
                                     describe_exit(worker.process.reap()) + " while " + doing)};
  }
  worker.to_worker.reset();  // EOF: the probe exits
  // Its answer is all that was needed: a plugin whose code blocks the exit (a static destructor
  // that never returns) must not hold the restart, so it gets a second, then SIGKILL.
  pollfd exited{worker.process.pidfd(), POLLIN, 0};
  if (::poll(&exited, 1, 1000) == 0) worker.process.kill(SIGKILL);
  worker.process.reap();
}

}  // namespace dlpool::detail
