#include "agent.hpp"

#include "frame_reader.hpp"
#include "log/log.hpp"
#include "paths.hpp"
#include "sys/io.hpp"

#include <dlpool/pool.hpp>
#include <dlpool/wire/frame.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <poll.h>
#include <sched.h>
#include <unistd.h>

namespace dlpool::agent {
namespace {

namespace fs = std::filesystem;
using detail::mpi::Kind;

std::uint32_t cpus_allowed() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return static_cast<std::uint32_t>(std::max(1, CPU_COUNT(&set)));
}

/// Installs shipped plugin files in a directory of this node's own: each written beside its
/// final name, then renamed into place, so no worker sees half a file.
std::string install(const std::map<std::string, std::string>& files, int rank) {
  const char* tmp = std::getenv("TMPDIR");
  auto pattern =
      (fs::path{tmp != nullptr && *tmp != '\0' ? tmp : "/tmp"} / ("dlpool-agent-" + std::to_string(rank) + "-XXXXXX"))
          .string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error{errno, std::generic_category(), "cannot make a directory for shipped plugins"};
  for (const auto& [name, bytes] : files) {
    if (name.find('/') != std::string::npos || name.starts_with('.'))
      throw std::runtime_error{"refused a shipped plugin file named '" + name + "'"};
    const auto staged = fs::path{pattern} / ("." + name + ".part");
    std::ofstream out{staged, std::ios::binary};
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw std::runtime_error{"cannot write shipped plugin " + staged.string()};
    fs::rename(staged, fs::path{pattern} / name);
  }
  return pattern;
}

std::string_view raw_frame(std::string_view payload) {
  return {payload.data() - wire::header_size, wire::header_size + payload.size()};
}

}  // namespace

Agent::Agent(MPI_Comm comm, int host, int rank)
    : channel_{comm}, host_{host}, rank_{rank}, node_{detail::host_name()} {}

Agent::~Agent() {
  end_workers();
  // Each job's copies would otherwise pile up in the node's temporary directory.
  for (const auto& dir : installed_) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

void Agent::send(std::string message) {
  channel_.send(host_, std::move(message));
  last_to_host_ = Clock::now();
}

std::unique_ptr<detail::LocalTransport> Agent::make_local(const detail::mpi::AgentConfig& config,
                                                          const std::string& plugin_dir) {
  PoolOptions options;
  if (!plugin_dir.empty()) options.plugin_path.push_back(plugin_dir);
  options.plugin_path.insert(options.plugin_path.end(), config.plugin_path.begin(), config.plugin_path.end());
  options.worker_path = config.worker_path;
  options.max_frame_bytes = config.max_frame;
  if (config.maxtasksperchild > 0) options.maxtasksperchild = static_cast<int>(config.maxtasksperchild);
  options.sandbox = static_cast<Sandbox>(config.sandbox);
  options.batch_scheduling = config.batch_scheduling;
  if (config.memory_bytes > 0) options.limits.memory_bytes = config.memory_bytes;
  if (config.cpu_seconds > 0) options.limits.cpu_time = std::chrono::seconds{config.cpu_seconds};
  if (config.open_files > 0) options.limits.open_files = config.open_files;
  if (config.max_rss > 0) options.limits.max_memory_per_child = config.max_rss;
  // Nothing outlives the agent; and a worker loads only the plugin files the host saw.
  std::vector<std::string> extra{"--die-with-parent"};
  for (const auto& [name, sha256] : config.sha256) {
    extra.emplace_back("--expect-sha256");
    extra.push_back(name + "=" + sha256);
  }
  if (config.sha256.empty()) extra.insert(extra.end(), {"--expect-sha256", "="});  // the host saw none
  auto local = std::make_unique<detail::LocalTransport>(options, static_cast<detail::TransportEvents&>(*this), extra);
  // Its workers' frames go to the host as they are: a payload must be in them, not in an arena
  // the host cannot see.
  local->without_shared_payloads();
  return local;
}

void Agent::probe_shipped(const detail::mpi::AgentConfig& config) {
  // Each loaded by a worker, as `dlpool install` checks a file, before any task needs it. A file
  // that does not load stays (a task of it then fails with the same reason) and is reported
  // now: the host's plugin directory may hold plugins this job never uses.
  for (const auto& [name, sha256] : config.sha256) try {
      local_->probe({name});
    } catch (const std::exception& e) {
      detail::log(detail::LogLevel::warn, "agent of rank {} on {}: shipped plugin {} does not load: {}", rank_, node_,
                  name, e.what());
    }
}

void Agent::configure(const detail::mpi::AgentConfig& config) {
  config_ = config;
  heartbeat_ = std::chrono::milliseconds{config.heartbeat_ms};
  if (!config.files.empty()) plugin_dir_ = installed_.emplace_back(install(config.files, rank_));
  local_ = make_local(config, plugin_dir_);
  if (!config.files.empty()) probe_shipped(config);
  const auto cpus = cpus_allowed();
  const auto workers = config.workers > 0 ? config.workers : cpus;
  if (cpus == 1 && workers > 1)
    detail::log(detail::LogLevel::warn,
                "agent of rank {} on {}: its affinity mask allows 1 CPU, and its {} workers inherit it; launch with "
                "`mpiexec --bind-to none`",
                rank_, node_, workers);
  auto hello = detail::mpi::message(Kind::agent_hello);
  wire::put_string(hello, node_);
  wire::put(hello, workers);
  wire::put(hello, static_cast<std::int32_t>(::getpid()));
  send(std::move(hello));
}

bool Agent::handle(std::string_view bytes) {
  const auto header = detail::mpi::decode_header(bytes);
  const auto payload = bytes.substr(detail::mpi::message_header);
  wire::ByteReader in{payload};
  if (header.kind != Kind::config && header.kind != Kind::heartbeat && header.kind != Kind::shutdown &&
      header.kind != Kind::finalize && !local_)
    throw wire::DecodeError{"a message before the configuration"};
  const auto slot = slots_.find(header.slot);
  switch (header.kind) {
    case Kind::config: try { configure(detail::mpi::AgentConfig::decode(payload));
      } catch (const std::exception& e) {
        auto failed = detail::mpi::message(Kind::agent_failed);
        wire::put_string(failed, e.what());
        send(std::move(failed));
      }
      return true;
    case Kind::start: start(header.slot); return true;
    case Kind::frames:
      if (slot != slots_.end()) feed(header.slot, slot->second, payload);
      return true;
    case Kind::close:
      if (slot != slots_.end()) {
        slot->second.close_pending = true;
        write_pending(slot->second);
      }
      return true;
    case Kind::halt:
      if (slot != slots_.end()) slot->second.worker->halt(in.get<std::uint8_t>("halt") != 0);
      return true;
    case Kind::probe: probe(payload); return true;
    case Kind::heartbeat: return true;
    case Kind::commit:
      if (in.get<std::uint8_t>("commit") != 0 && probed_local_) {
        local_ = std::move(probed_local_);
        config_ = std::move(probed_config_);
        if (!probed_plugin_dir_.empty()) plugin_dir_ = probed_plugin_dir_;
      }
      probed_local_.reset();
      probed_plugin_dir_.clear();
      return true;
    case Kind::shutdown:
      // Its workers end now; whether MPI is finalized is the host's to say once every agent
      // answered (MPI_Finalize hangs if any rank has died).
      end_workers();
      channel_.send_now(host_, detail::mpi::message(Kind::bye));
      last_to_host_ = Clock::now();
      return true;
    case Kind::finalize: finalize_ = in.get<std::uint8_t>("finalize") != 0; return false;
    default:
      throw wire::DecodeError{"a message of kind " + std::to_string(static_cast<int>(header.kind)) +
                              " only an agent sends"};
  }
}

void Agent::start(std::uint64_t id) {
  try {
    auto worker = std::make_shared<detail::LocalWorker>(local_->spawn(id), config_.max_frame);
    auto started = detail::mpi::message(Kind::started, id);
    wire::put(started, static_cast<std::int32_t>(worker->pid()));
    slots_[id].worker = std::move(worker);
    send(std::move(started));
  } catch (const std::exception& e) {
    auto failed = detail::mpi::message(Kind::start_failed, id);
    wire::put_string(failed, e.what());
    send(std::move(failed));
  }
}

void Agent::feed(std::uint64_t id, Slot& slot, std::string_view frames) {
  try {
    while (!frames.empty()) {
      wire::FrameHeader header;
      const auto frame = detail::take_frame(frames, config_.max_frame, header);
      slot.pending.push_back({std::string{frame}, header.kind == wire::FrameKind::task});
    }
  } catch (const wire::DecodeError& e) {
    // Its worker would refuse it too; the agent ends it at once, and says why.
    slot.refused = std::string{"was ended by its agent, which refused a malformed frame for it: "} + e.what();
    detail::log(detail::LogLevel::error, "agent of rank {}: slot {}: {}", rank_, id, slot.refused);
    slot.pending.clear();
    slot.worker->halt(true);
    return;
  }
  write_pending(slot);
}

void Agent::write_pending(Slot& slot) {
  while (!slot.pending.empty()) {
    const auto& [frame, task] = slot.pending.front();
    if (task && slot.task_out) break;
    const std::string_view piece{frame};
    if (!slot.worker->send({&piece, 1})) {  // it died: its exit is reported, and the host resends
      slot.pending.clear();
      return;
    }
    slot.task_out = slot.task_out || task;
    slot.pending.pop_front();
  }
  if (slot.close_pending && slot.pending.empty() && slot.worker->input_open()) slot.worker->close_input();
}

bool Agent::forward(std::uint64_t id, Slot& slot) {
  auto& worker = *slot.worker;
  if (!worker.from_worker) return false;
  auto message = detail::mpi::message(Kind::frames, id);
  const auto header_only = message.size();
  bool answered = false;
  detail::FrameReader::Fill fill{};
  try {
    fill = worker.reader.fill(worker.from_worker.get());
    wire::FrameHeader header;
    std::string_view payload;
    while (worker.reader.next(header, payload)) {
      message += raw_frame(payload);
      answered = answered || (header.kind == wire::FrameKind::result && header.job != 0);
    }
  } catch (const std::exception& e) {
    slot.refused = std::string{"sent a malformed frame: "} + e.what();
    worker.halt(true);
    fill = detail::FrameReader::Fill::eof;
  }
  if (message.size() > header_only) {
    if (answered) {
      // Not only posted but taken: the worker's next task is written only after this returns,
      // so should the agent die, the host has every result but the running chunk's, and knows
      // which chunk may have started (see mpi/mpi_transport.hpp). A large result waits here for
      // the host's MPI thread, which receives all the time.
      channel_.send_now(host_, message);
      last_to_host_ = Clock::now();
    } else {
      send(std::move(message));
    }
  }
  if (fill == detail::FrameReader::Fill::eof) worker.from_worker.reset();  // it exits: its pidfd says when
  if (answered) {
    slot.task_out = false;
    write_pending(slot);
  }
  return fill == detail::FrameReader::Fill::data;
}

void Agent::reap(std::uint64_t id, Slot& slot) {
  // All it wrote is in the pipe: forwarded before its exit, so the host hears it first.
  while (forward(id, slot)) {
  }
  auto exited = detail::mpi::message(Kind::exited, id);
  wire::put(exited, static_cast<std::int32_t>(slot.worker->wait_status));
  wire::put(exited, static_cast<std::uint64_t>(slot.worker->ledger.chunks_started()));
  wire::put_string(exited, slot.refused);
  send(std::move(exited));
}

void Agent::probe(std::string_view payload) {
  auto answer = detail::mpi::message(Kind::probed);
  try {
    wire::ByteReader in{payload};
    std::vector<std::string> plugins;
    for (auto n = in.get<std::uint32_t>("probe"); n > 0; --n) plugins.emplace_back(in.get_string("probe"));
    const auto config = detail::mpi::AgentConfig::decode(payload.substr(payload.size() - in.remaining()));
    std::string dir;
    if (!config.files.empty()) dir = installed_.emplace_back(install(config.files, rank_));
    auto local = make_local(config, dir.empty() ? plugin_dir_ : dir);
    local->probe(plugins);
    // Kept aside: workers started after the host's commit load these files (the running ones
    // keep theirs until the host retires them); if another agent's probe failed, they are dropped.
    probed_local_ = std::move(local);
    probed_config_ = config;
    probed_plugin_dir_ = dir;
    wire::put_string(answer, "");
  } catch (const std::exception& e) {
    wire::put_string(answer, e.what());
  }
  send(std::move(answer));
}

void Agent::end_workers() noexcept {
  for (auto& [id, slot] : slots_) slot.worker->halt(true);
  slots_.clear();  // each LocalWorker's process is reaped by its destructor
  local_.reset();
}

bool Agent::run() {
  detail::mpi::Backoff backoff;
  std::vector<pollfd> fds;
  std::vector<std::pair<std::uint64_t, bool>> polled;  // slot, and whether the fd is its exit_fd
  int source = 0;
  std::string bytes;
  for (;;) {
    bool active = false;
    for (int n = 0; n < 64 && channel_.receive(source, bytes); ++n) {
      active = true;
      if (source != host_) continue;
      last_from_host_ = Clock::now();
      try {
        if (!handle(bytes)) {
          end_workers();
          // What it sent last reaches the host before MPI is finalized (a bounded wait).
          channel_.drain(std::chrono::seconds{1});
          return finalize_;
        }
      } catch (const std::exception& e) {
        detail::log(detail::LogLevel::error, "agent of rank {} on {}: refused a message from the host: {}", rank_,
                    node_, e.what());
      }
    }
    fds.clear();
    polled.clear();
    for (const auto& [id, slot] : slots_) {
      if (slot.worker->from_worker) {
        fds.push_back({slot.worker->from_worker.get(), POLLIN, 0});
        polled.emplace_back(id, false);
      }
      if (const int fd = slot.worker->exit_fd(); fd >= 0) {
        fds.push_back({fd, POLLIN, 0});
        polled.emplace_back(id, true);
      }
    }
    const auto sleep = active ? std::chrono::microseconds{0} : backoff.next();
    const timespec timeout{0, static_cast<long>(sleep.count()) * 1000};
    if (::ppoll(fds.data(), fds.size(), &timeout, nullptr) > 0)
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        const auto [id, exit] = polled[i];
        const auto slot = slots_.find(id);
        if (slot == slots_.end()) continue;
        active = true;
        if (!exit) {
          forward(id, slot->second);
        } else if (slot->second.worker->try_reap()) {
          reap(id, slot->second);
          slots_.erase(slot);
        }
      }
    active = channel_.complete_sends() || active;
    const auto now = Clock::now();
    if (now - last_to_host_ >= heartbeat_ / 4) send(detail::mpi::message(Kind::heartbeat));
    // The host is gone (a job run with --enable-recovery survives it): nothing to serve.
    if (now - last_from_host_ > 4 * heartbeat_) {
      detail::log(detail::LogLevel::error, "agent of rank {} on {}: the host was not heard from for {} ms; exiting",
                  rank_, node_, (4 * heartbeat_).count());
      end_workers();
      return false;
    }
    if (active)
      backoff.active();
    else if (sleep.count() == 0)
      ::sched_yield();  // see mpi::Backoff
  }
}

}  // namespace dlpool::agent
