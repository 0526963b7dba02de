// What a pool tells of its work: Pool::stats(), the progress callback, and the trace's records
// of workers and chunks (trace/tracer.hpp). Routing calls these at the points the trace format
// (docs/trace-format.md) names; the counting is always on, the tracing only with a trace.

#include "pool_impl.hpp"

#include "log/log.hpp"

#include <dlpool/wire/json_parser.hpp>
#include <dlpool/wire/json_string.hpp>

#include <cxxabi.h>

#include <typeinfo>

namespace dlpool::detail {

std::string describe_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name{abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status),
                                                std::free};
    std::string type = status == 0 && name ? name.get() : typeid(e).name();
    if (type.starts_with("dlpool::")) type.erase(0, 8);
    return type + ": " + e.what();
  } catch (...) {
    return "an exception of unknown type";
  }
}

PoolStats PoolImpl::stats() const {
  std::lock_guard lock{mutex_};
  auto stats = stats_.snapshot(running_items(), workers_.size());
  stats.answers_read_by_callers = answers_read_by_callers_;
  return stats;
}

std::uint64_t PoolImpl::running_items() const {
  std::uint64_t running = 0;
  for (const auto& w : workers_)
    if (!w->in_flight.empty() && w->in_flight.front().started != Clock::time_point{})
      running += w->in_flight.front().count;
  return running;
}

std::optional<ChunkTrace> PoolImpl::count_ending(const InFlight& chunk, Ending how, std::string error) {
  auto& record = *chunk.record;
  const bool ran = chunk.run_end_ns != 0;
  const bool started = chunk.started != Clock::time_point{};
  // A job terminate() failed as a whole was counted then (see fail_everything_pending).
  if (!record.aborted) {
    record.items_ended += chunk.count;
    stats_.ended(*record.book, how, chunk.count,
                 ran ? std::optional{std::chrono::nanoseconds{chunk.run_end_ns - chunk.run_start_ns}} : std::nullopt,
                 started ? std::optional{chunk.started - chunk.entered} : std::nullopt);
  }
  if (!tracer_) return std::nullopt;
  ChunkTrace trace;
  trace.job = record.id;
  trace.chunk = chunk.chunk;
  trace.first = chunk.first;
  trace.items = chunk.count;
  trace.task = record.book->name;
  trace.worker = chunk.worker;
  trace.rank = chunk.rank;
  trace.sender = chunk.sender;
  trace.how = how;
  trace.attempts = std::max(chunk.sends, 1u);
  trace.submitted = chunk.entered;
  trace.sent = chunk.sent;
  trace.written = chunk.written;
  trace.started = chunk.started;
  trace.received = chunk.received != Clock::time_point{} ? chunk.received : Clock::now();
  trace.run_start_ns = chunk.run_start_ns;
  trace.run_end_ns = chunk.run_end_ns;
  trace.delivered = Clock::now();
  trace.error = std::move(error);
  return trace;
}

Clock::time_point PoolImpl::report_progress(std::unique_lock<std::mutex>& lock) {
  if (!options_.progress) return Clock::time_point::max();
  if (Clock::now() >= progress_due_) {
    const auto counts = stats_.counts(running_items());
    progress_due_ = Clock::now() + options_.progress_interval;
    if (counts != progress_told_) {
      progress_told_ = counts;
      lock.unlock();
      try {
        options_.progress(counts);
      } catch (const std::exception& e) {
        log(LogLevel::error, "the progress callback threw: {}", e.what());
      } catch (...) {
        log(LogLevel::error, "the progress callback threw");
      }
      lock.lock();
    }
  }
  return progress_due_;
}

void PoolImpl::trace_worker(const Worker& worker, TraceEvent::Kind kind, std::string args, std::string detail) const {
  if (!tracer_) return;
  TraceEvent event;
  event.kind = kind;
  event.time = Clock::now();
  event.worker = worker.id;
  event.pid = worker.pid();
  event.generation = worker.generation;
  event.rank = worker.executor->rank();
  event.node = worker.executor->node();
  event.args = std::move(args);
  event.detail = std::move(detail);
  tracer_->event(std::move(event));
}

void PoolImpl::trace_pool(TraceEvent::Kind kind) const {
  if (!tracer_) return;
  TraceEvent event;
  event.kind = kind;
  event.time = Clock::now();
  tracer_->event(std::move(event));
}

void PoolImpl::started_worker(const Worker& worker, std::uint64_t replaces) {
  stats_.worker_spawned();
  if (!tracer_) return;
  std::string args = "{\"generation\":" + std::to_string(worker.generation);
  if (replaces != 0) args += ",\"replaces\":" + std::to_string(replaces);
  trace_worker(worker, TraceEvent::Kind::worker_spawned, args + '}',
               replaces != 0 ? "replaces " + std::to_string(replaces) : std::string{});
}

void PoolImpl::trace_mark(std::string_view name, std::string_view json_object) {
  try {
    if (wire::parse_json(json_object).kind != wire::JsonValue::Kind::object) throw wire::DecodeError{"not an object"};
  } catch (const wire::DecodeError& e) {
    throw UsageError{"Pool::trace_mark: the details of mark '" + std::string{name} + "' are not a JSON object (" +
                     e.what() + ")"};
  }
  if (!tracer_) return;
  TraceEvent event;
  event.kind = TraceEvent::Kind::mark;
  event.time = Clock::now();
  event.detail = name;
  event.args = json_object;
  // JSON whitespace may be a line break; the trace file keeps one event per line. (A string in
  // JSON cannot hold a raw line break: only whitespace between tokens is changed.)
  std::ranges::replace(event.args, '\n', ' ');
  std::ranges::replace(event.args, '\r', ' ');
  tracer_->event(std::move(event));
}

}  // namespace dlpool::detail
