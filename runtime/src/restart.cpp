// Hot swap: Pool::restart() rolls the workers onto the plugin files now on disk, after a probe
// worker has shown that those files load; Pool::workers() reports which files each worker runs.

#include "pool_impl.hpp"

#include "errors_internal.hpp"
#include "log/log.hpp"
#include "result_payload.hpp"
#include "sys/io.hpp"

#include <algorithm>
#include <fstream>

#include <poll.h>

namespace dlpool::detail {
namespace {

// A probe that neither answers nor dies in this time is given up on (a plugin whose static
// constructor blocks, say): the restart fails rather than hang.
constexpr auto probe_timeout = std::chrono::seconds{30};

std::uint64_t resident_bytes(int pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   1234 kB"
  return 0;
}

std::string aborted(const std::string& why) { return "restart aborted, the old workers keep serving: " + why; }

}  // namespace

void PoolImpl::restart() {
  // It waits for old workers to be finalized, which happens on the result thread.
  if (on_result_thread(this)) throw UsageError{waits_in_callback("Pool::restart()")};
  std::lock_guard one_at_a_time{restart_mutex_};
  std::vector<std::string> plugins;
  {
    std::lock_guard lock{mutex_};
    if (state_ != State::run) throw UsageError{"Pool not running"};
    for (const auto& w : workers_)
      for (const auto& p : w->plugins)
        if (std::ranges::find(plugins, p.name) == plugins.end()) plugins.push_back(p.name);
    if (options_.initializer && std::ranges::find(plugins, options_.initializer->task().plugin) == plugins.end())
      plugins.push_back(options_.initializer->task().plugin);
  }
  probe(plugins);

  std::unique_lock lock{mutex_};
  if (state_ != State::run) throw UsageError{"Pool not running"};
  // The old generation takes no more work; the worker handler lets each exit once idle and starts
  // the new one meanwhile.
  ++generation_;
  log(LogLevel::info, "restart: the probe loaded {} plugin(s); rolling the workers to generation {}", plugins.size(),
      generation_);
  for (const auto& w : workers_)
    if (w->generation != generation_ && w->life.before(WorkerPhase::retiring)) w->life.to(WorkerPhase::retiring);
  signal_eventfd(worker_wake_.get());
  done_cv_.wait(lock, [&] {
    return state_ == State::terminate ||
           std::ranges::none_of(workers_, [&](const auto& w) { return w->generation != generation_; });
  });
}

void PoolImpl::probe(const std::vector<std::string>& plugins) {
  // Spawned like any worker, but never registered: only this thread talks to it, and its
  // destructor kills and reaps it whatever happens here.
  const auto worker = spawn_worker(0);
  std::string frames;
  for (std::uint32_t i = 0; i < plugins.size(); ++i) {
    const auto start = wire::append_frame(frames, wire::FrameKind::load, 0, i);
    wire::put_string(frames, plugins[i]);
    wire::finish_frame(frames, start);
  }
  // A probe that died makes this write fail, not kill the host.
  worker->send_without_sigpipe(frames);

  const auto pid = worker->process.pid();
  const auto deadline = Clock::now() + probe_timeout;
  bool hello = false;
  std::size_t answered = 0;
  while (!hello || answered < plugins.size()) {
    const auto doing = answered < plugins.size() ? "loading plugin '" + plugins[answered] + "'" : std::string{"starting"};
    pollfd p{worker->from_worker.get(), POLLIN, 0};
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0)
      throw WorkerStartError{aborted("probe worker " + std::to_string(pid) + " did not answer within " +
                                     std::to_string(probe_timeout.count()) + " s while " + doing)};
    const auto fill = worker->reader.fill(worker->from_worker.get());
    wire::FrameHeader header;
    std::string_view payload;
    while (worker->reader.next(header, payload)) {
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
                                     describe_exit(worker->process.reap()) + " while " + doing)};
  }
  worker->to_worker.reset();  // EOF: the probe exits
  worker->process.reap();
}

std::vector<WorkerInfo> PoolImpl::workers() const {
  std::vector<WorkerInfo> infos;
  {
    std::lock_guard lock{mutex_};
    for (const auto& w : workers_) {
      if (w->process.reaped()) continue;
      auto& info = infos.emplace_back(
          WorkerInfo{w->process.pid(), w->generation, w->items_done, w->items_failed, 0, {}, limits_in_force_});
      for (const auto& p : w->plugins) info.plugins.push_back({p.name, p.path, p.version, p.inode, p.sha256});
    }
  }
  for (auto& info : infos) info.rss_bytes = resident_bytes(info.pid);  // /proc reads: not under the lock
  return infos;
}

}  // namespace dlpool::detail
