#include "chrome_trace.hpp"

#include "dlpool_config.hpp"

#include "log/log.hpp"
#include "paths.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/json_string.hpp>

#include <cerrno>
#include <charconv>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace dlpool::detail {
namespace {

constexpr int host_pid = 1;
constexpr int callers_tid = 1;  // pool events and marks
// Written out once this much text is pending, and at the end of each batch.
constexpr std::size_t flush_at = 1 << 20;

int workers_pid(int rank) { return 2 + rank; }

void put_uint(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

void put_int(std::string& out, std::int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

void put_micros(std::string& out, std::int64_t ns) {
  char text[24];
  out.append(text, write_micros(text, ns));
}

std::string_view worker_event_name(TraceEvent::Kind kind) {
  switch (kind) {
    case TraceEvent::Kind::worker_spawned: return "spawned";
    case TraceEvent::Kind::worker_ready: return "ready";
    case TraceEvent::Kind::plugin_loaded: return "plugin loaded";
    case TraceEvent::Kind::worker_retired: return "retired";
    case TraceEvent::Kind::worker_exited: return "exited";
    case TraceEvent::Kind::worker_lost: return "lost";
    default: return {};
  }
}

std::string_view host_track_name(int track) {
  switch (static_cast<Track>(track)) {
    case Track::task_handler: return "task handler";
    case Track::result_handler: return "result handler";
    case Track::worker_handler: return "worker handler";
    default: return track == callers_tid ? "callers" : "";
  }
}

}  // namespace

ChromeTraceWriter::ChromeTraceWriter(const std::string& path, Clock::time_point start)
    : path_{path},
      start_{start},
      chunks_{start},
      fd_{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)} {
  if (!fd_) throw std::system_error{errno, std::generic_category(), "cannot open the trace file " + path};
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch() - (Clock::now() - start_);
  out_ += R"({"otherData":{"tool":"dlpool","version":")";
  out_ += config::version;
  out_ += R"(","host":)";
  wire::append_json_string(out_, host_name());
  out_ += R"(,"pid":)";
  put_int(out_, ::getpid());
  out_ += R"(,"clock":"steady","start_unix_us":)";
  put_int(out_, std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count());
  out_ += R"(},"displayTimeUnit":"ms","traceEvents":[)";
  // The host's tracks, named ahead so that they are listed in this order. Every event is
  // written as ",\n{...}": the first one without its comma.
  const auto first_event = out_.size();
  name_track(host_pid, std::nullopt, "dlpool host (" + host_name() + ")", 0);
  out_.erase(first_event, 1);
  named_pids_.insert(host_pid);
  for (const int track : {callers_tid, static_cast<int>(Track::task_handler), static_cast<int>(Track::result_handler),
                          static_cast<int>(Track::worker_handler)})
    name_host_track(track);
  flush();
}

void ChromeTraceWriter::begin_event(std::string_view ph, std::string_view cat, std::string_view name, int pid,
                                    std::uint64_t tid, Clock::time_point ts) {
  out_ += ",\n{\"ph\":\"";
  out_ += ph;
  if (!cat.empty()) {
    out_ += "\",\"cat\":\"";
    out_ += cat;
  }
  out_ += "\",\"name\":";
  wire::append_json_string(out_, name);
  out_ += ",\"pid\":";
  put_int(out_, pid);
  out_ += ",\"tid\":";
  put_uint(out_, tid);
  put_ts("ts", (ts - start_).count());
}

void ChromeTraceWriter::put_ts(std::string_view key, std::int64_t ns) {
  out_ += ",\"";
  out_ += key;
  out_ += "\":";
  put_micros(out_, ns);
}

void ChromeTraceWriter::name_track(int pid, std::optional<std::uint64_t> tid, std::string_view name,
                                   std::uint64_t sort_index) {
  // A process (no tid) or a thread: its name, then its place in the viewer's list.
  const std::string_view kind = tid ? "thread" : "process";
  for (const bool naming : {true, false}) {
    out_ += ",\n{\"ph\":\"M\",\"pid\":";
    put_int(out_, pid);
    if (tid) {
      out_ += ",\"tid\":";
      put_uint(out_, *tid);
    }
    out_ += ",\"name\":\"";
    out_ += kind;
    out_ += naming ? "_name\",\"args\":{\"name\":" : "_sort_index\",\"args\":{\"sort_index\":";
    if (naming)
      wire::append_json_string(out_, name);
    else
      put_uint(out_, sort_index);
    out_ += "}}";
  }
}

void ChromeTraceWriter::name_host_track(int track) {
  if (!named_tracks_.insert({host_pid, static_cast<std::uint64_t>(track)}).second) return;
  std::string name{host_track_name(track)};
  if (name.empty()) name = "caller thread " + std::to_string(track - static_cast<int>(Track::first_caller) + 1);
  name_track(host_pid, static_cast<std::uint64_t>(track), name, static_cast<std::uint64_t>(track));
}

void ChromeTraceWriter::name_worker(const TraceEvent& event) {
  const int pid = workers_pid(event.rank);
  // A remote worker's node is known once it is ready: its process is named (again) then.
  if (named_pids_.insert(pid).second || (event.kind == TraceEvent::Kind::worker_ready && event.rank != 0)) {
    std::string name = "workers on " + (event.node.empty() ? "MPI rank " + std::to_string(event.rank) : event.node);
    if (event.rank != 0 && !event.node.empty()) name += " (MPI rank " + std::to_string(event.rank) + ")";
    name_track(pid, std::nullopt, name, static_cast<std::uint64_t>(pid));
  }
  const bool first = named_tracks_.insert({pid, event.worker}).second;
  if (!first && event.kind != TraceEvent::Kind::worker_ready) return;
  std::string name = "worker " + std::to_string(event.worker);
  if (event.pid != 0) name += " (pid " + std::to_string(event.pid) + ")";
  name_track(pid, event.worker, name, event.worker);
}

void ChromeTraceWriter::worker_event(const TraceEvent& event) {
  name_worker(event);
  begin_event("i", "worker", worker_event_name(event.kind), workers_pid(event.rank), event.worker, event.time);
  out_ += ",\"s\":\"t\",\"args\":";
  out_ += event.args.empty() ? std::string_view{"{}"} : std::string_view{event.args};
  out_ += '}';
}

void ChromeTraceWriter::pool_event(const TraceEvent& event) {
  using Kind = TraceEvent::Kind;
  switch (event.kind) {
    case Kind::pool_close:
    case Kind::pool_terminate:
      begin_event("i", "pool", event.kind == Kind::pool_close ? "close" : "terminate", host_pid, callers_tid,
                  event.time);
      out_ += ",\"s\":\"g\",\"args\":{}}";
      break;
    case Kind::pool_restart:
      begin_event("X", "pool", "restart", host_pid, callers_tid, event.time);
      put_ts("dur", (event.finished - event.time).count());
      out_ += ",\"args\":{\"generation\":";
      put_uint(out_, event.generation);
      out_ += "}}";
      break;
    case Kind::mark:
      begin_event("i", "mark", event.detail, host_pid, callers_tid, event.time);
      out_ += ",\"s\":\"p\",\"args\":";
      out_ += event.args.empty() ? std::string_view{"{}"} : std::string_view{event.args};
      out_ += '}';
      break;
    default: break;
  }
}

void ChromeTraceWriter::write(const std::vector<TraceEvent>& events, const std::vector<ChunkTrace>& chunks,
                              std::uint64_t dropped) {
  if (failed_ || finished_) return;
  for (const auto& event : events) {
    if (!worker_event_name(event.kind).empty())
      worker_event(event);
    else
      pool_event(event);
    if (out_.size() >= flush_at) flush();
  }
  for (const auto& c : chunks) {
    if (c.sender != 0 && c.sender != last_sender_) {
      name_host_track(c.sender);
      last_sender_ = c.sender;
    }
    chunks_.append(out_, c, next_flow_++, workers_pid(c.rank));
    if (out_.size() >= flush_at) flush();
  }
  if (dropped != 0) {
    begin_event("i", "trace", "events dropped", host_pid, callers_tid, Clock::now());
    out_ += ",\"s\":\"g\",\"args\":{\"count\":";
    put_uint(out_, dropped);
    out_ += "}}";
  }
  flush();
}

void ChromeTraceWriter::finish() {
  if (finished_) return;
  finished_ = true;
  if (failed_) return;
  out_ += "\n]}\n";
  flush();
  fd_.reset();
}

void ChromeTraceWriter::flush() {
  if (out_.empty() || failed_) return;
  try {
    if (!write_all(fd_.get(), out_)) throw std::system_error{EPIPE, std::generic_category(), "write"};
  } catch (const std::exception& e) {  // ENOSPC, EIO: the pool goes on without its trace
    failed_ = true;
    log(LogLevel::error, "writing the trace file {} failed ({}); the trace stops here", path_, e.what());
  }
  out_.clear();
}

}  // namespace dlpool::detail
