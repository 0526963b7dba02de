// The result handler: CPython's _handle_results. Its thread runs the local transport's result
// loop (local_result_loop.cpp: epoll over the workers' result pipes, frames, finalizing reaped
// workers), which calls routing's side of the seam, here: TransportEvents. Results are routed to
// their jobs (callbacks run on this thread), and a lost worker's chunks fail or are sent again.

#include "pool_impl.hpp"

#include "errors_internal.hpp"
#include "log/log.hpp"
#include "readable_size.hpp"
#include "result_payload.hpp"
#include "sys/doorbell.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/json_string.hpp>
#include <dlpool/wire/plugin_name.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>

#include <sys/wait.h>

namespace dlpool::detail {
namespace {

constexpr std::size_t max_plugins_remembered = 64;  // for the fork server (see spawn_worker)

}  // namespace

void PoolImpl::result_handler() {
  result_thread_of_ = this;  // callbacks run here: see on_result_thread
  Tracer::set_thread_track(Track::result_handler);
  transport_->run();
}

void PoolImpl::on_ready(Executor& executor) {
  auto& worker = *executor.route;
  std::lock_guard lock{mutex_};
  worker.life.reach(WorkerPhase::initializing);
  if (!options_.initializer) became_ready(worker);
}

void PoolImpl::on_idle() {
  std::unique_lock lock{mutex_};
  for (const auto& record : std::exchange(to_complete_, {})) maybe_complete(record, lock);
}

void PoolImpl::on_plugin(Executor& executor, wire::PluginReport report) {
  auto& worker = *executor.route;
  std::lock_guard lock{mutex_};
  if (tracer_) {
    std::string args = "{\"name\":";
    wire::append_json_string(args, report.name);
    args += ",\"version\":";
    wire::append_json_string(args, report.version);
    args += ",\"sha256\":";
    wire::append_json_string(args, report.sha256);
    args += ",\"path\":";
    wire::append_json_string(args, report.path);
    trace_worker(worker, TraceEvent::Kind::plugin_loaded, args + '}',
                 report.name + ' ' + report.version + ' ' + report.sha256 + ' ' + report.path);
  }
  // Bounded: a worker's reports are not trusted to be few (the fork server takes 4 KiB of them).
  if (plugins_used_.size() < max_plugins_remembered && wire::valid_plugin_name(report.name) &&
      std::ranges::find(plugins_used_, report.name) == plugins_used_.end())
    plugins_used_.push_back(report.name);
  worker.plugins.push_back(std::move(report));
}

void PoolImpl::on_retired(Executor& executor, std::string_view why) {
  auto& worker = *executor.route;
  std::lock_guard lock{mutex_};
  log(LogLevel::info, "{} retires: {}", worker.name(), wire::printable_name(why, 256));
  if (tracer_) {
    std::string args = "{\"reason\":";
    wire::append_json_string(args, why);
    trace_worker(worker, TraceEvent::Kind::worker_retired, args + '}', std::string{why});
  }
  // No more work for it; what it holds it never starts, and is sent elsewhere once it is gone
  // (its ledger says so), and so is its replacement started.
  expect_exit(worker);
}

std::string PoolImpl::on_result(Executor& executor, ChunkId id, const ParsedResult& result) {
  auto& worker = *executor.route;
  if (id.job == 0) {  // the initializer's answer
    std::lock_guard lock{mutex_};
    if (!options_.initializer || !worker.init_sent || worker.life.reached(WorkerPhase::ready) ||
        !worker.life.reached(WorkerPhase::initializing)) {
      return "answered an initializer it was not running";
    }
    if (result.ok) {
      became_ready(worker);
    } else {
      expect_exit(worker);  // it exits (status 3): it must not take work
      if (!broken_) {
        const auto& init = options_.initializer->task();
        broken_ = std::make_exception_ptr(InitializerError{
            "initializer " + init.plugin + "." + init.task + " failed in worker " + std::to_string(worker.pid()) +
                ": " + std::string{result.type} + ": " + std::string{result.message},
            init.plugin, init.task});
      }
    }
    task_cv_.notify_all();
    return {};
  }

  InFlight chunk;
  std::string violation;
  bool refill = false;
  std::shared_ptr<const std::string> next;  // the frame this worker is given at once
  {
    std::lock_guard lock{mutex_};
    if (worker.in_flight.empty() || worker.in_flight.front().id() != id) {
      violation = "answered job " + std::to_string(id.job) + " chunk " + std::to_string(id.chunk) +
                  ", which it was not running";
    } else if (result.ok && result.items.size() != worker.in_flight.front().count) {
      violation = "returned " + std::to_string(result.items.size()) + " results for a chunk of " +
                  std::to_string(worker.in_flight.front().count);
    } else {
      chunk = std::move(worker.in_flight.front());
      worker.in_flight.pop_front();
      chunk.received = Clock::now();
      chunk.run_start_ns = result.started_ns;
      chunk.run_end_ns = result.finished_ns;
      const std::chrono::duration<double, std::nano> took = chunk.received - chunk.started;
      chunk.record->chunk_time.add(took.count());
      chunk.record->book->item_time.add(took.count() / static_cast<double>(std::max<std::size_t>(chunk.count, 1)));
      worker.executor->expect_long_chunks(took >= doorbell_after_chunks_of);
      if (!worker.in_flight.empty()) start_chunk(worker.in_flight.front());
      // An idle worker is given the chunk next in line from here, without the hop through the
      // task handler; that one is then woken only to encode more.
      next = give_next_ready(worker);
      // Otherwise it is woken once the worker is down to half the queue it may hold, to top it
      // up with several chunks in one write, instead of being woken for each; and only if it
      // has something to give (an apply in a loop would wake it on every result for nothing).
      refill = next ? ready_.empty() && work_ahead()
                    : worker.in_flight.size() <= queue_cap(*chunk.record) / 2 && work_ahead();
      (result.ok ? worker.items_done : worker.items_failed) += chunk.count;
      // Its last chunk under maxtasksperchild: it exits now, or is killed after kill_grace.
      if (worker.in_flight.empty() && options_.maxtasksperchild &&
          worker.chunks_sent >= static_cast<unsigned>(*options_.maxtasksperchild))
        expect_exit(worker);
      // An old generation's worker that has finished its work is told to exit (restart).
      if (worker.generation != generation_ && worker.in_flight.empty()) signal_eventfd(worker_wake_.get());
    }
  }
  if (!violation.empty()) return violation;
  // The task handler is woken before the write, not after. A thread that wakes from a wait
  // often preempts its waker: here, while the worker still waits for its frame, it runs and
  // goes back to sleep, and this thread resumes. Woken after the write, it would leave this
  // thread preempted on a CPU where the worker, woken too, may run first: then no result is
  // read until the next scheduler tick (ms), and the other workers idle (seen with ftrace on
  // cpu_speedup, ~4 ms lost in most runs).
  if (refill) task_cv_.notify_one();
  if (next) {
    std::string failure;
    try {
      // Callbacks run on this thread: its signal mask stays as they expect. EPIPE: the worker
      // died, and its finalization settles the chunk.
      worker.send_small(*next);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    {
      std::lock_guard lock{mutex_};
      written(worker);
    }
    // Not the worker's doing, but it will never see that chunk: it is ended, the chunk failed.
    if (!failure.empty()) worker.abandon("could not be written to: " + failure);
  }

  report_chunk(chunk,
               result.ok ? nullptr
                         : remote_error(result.kind, result.type, result.message, chunk.record->task,
                                        chunk.first + result.item, worker.pid()),
               result.items);
  return {};
}

void PoolImpl::became_ready(Worker& worker) {
  worker.life.reach(WorkerPhase::ready);
  if (tracer_) trace_worker(worker, TraceEvent::Kind::worker_ready, "{\"pid\":" + std::to_string(worker.pid()) + '}');
  unready_deaths_ = 0;
  ever_ready_ = true;
  task_cv_.notify_one();
  // A closing pool's worker handler waits for workers to be ready before telling them to exit.
  if (state_ != State::run) signal_eventfd(worker_wake_.get());
}

void PoolImpl::on_closing(Executor& executor, bool broke_protocol) {
  auto& worker = *executor.route;
  std::lock_guard lock{mutex_};
  worker.closed = true;
  // An idle worker reaching EOF is just exiting (retired, or the pool is closing). One that broke
  // the protocol cannot be trusted: it is killed now. Otherwise the EOF is most likely a death
  // under way (a crash, a SIGKILL from outside), but a worker that closed its result pipe and
  // lives on is of no use either: it is stopped (SIGTERM, SIGKILL after the grace period), which
  // does nothing to one already dead and keeps its own cause of death in its wait status.
  // Either way it is then reaped and finalized as any exit.
  // (Asked to exit, or it said it exits (RETIRE): what it holds it never started.)
  const auto phase = worker.life.phase();
  const bool expected_exit =
      !broke_protocol && (phase >= WorkerPhase::exiting ||
                          (worker.in_flight.empty() && (phase == WorkerPhase::retiring || state_ != State::run)));
  if (broke_protocol) {
    worker.halt(true);
    if (worker.life.before(WorkerPhase::killed)) worker.life.to(WorkerPhase::killed);
  } else if (!expected_exit)
    stop_worker(worker, Worker::Stop::lost);
}

std::exception_ptr PoolImpl::lost_chunk_error(const Worker& worker, const LossReport& report, const InFlight& chunk,
                                              bool& lost) const {
  const auto& task = chunk.record->task;
  const auto where = " running " + task.plugin + "." + task.task + " (job " + std::to_string(chunk.record->id) +
                     ", chunk " + std::to_string(chunk.chunk) + ")";
  // A limit counts only for a death the pool did not cause.
  if (worker.stop == Worker::Stop::no || worker.stop == Worker::Stop::lost) {
    if (report.over == LossReport::Limit::cpu_time)
      return std::make_exception_ptr(
          ResourceLimitError{report.executor + " used up its " + report.limit + " (" +
                             std::to_string(report.cpu_seconds_per_item * static_cast<std::int64_t>(chunk.count)) +
                             " s for this chunk)" + where + " and was killed by SIGXCPU"});
    if (report.over == LossReport::Limit::memory)
      return std::make_exception_ptr(ResourceLimitError{report.executor + " went over its " + report.limit + where +
                                                        " and was killed by the OOM killer"});
  }
  if (worker.stop == Worker::Stop::timeout)
    return std::make_exception_ptr(TaskTimeout{
        report.pid,
        chunk.record->timeout.value_or(std::chrono::milliseconds{0}) * static_cast<std::int64_t>(chunk.count),
        task.plugin, task.task, chunk.record->id, chunk.chunk});
  if (worker.stop == Worker::Stop::cancel) return cancelled_error(*chunk.record);
  if (report.broke_protocol)
    return std::make_exception_ptr(ProtocolError{report.executor + " " + report.cause + " (running " + task.plugin +
                                                 "." + task.task + ", job " + std::to_string(chunk.record->id) +
                                                 ", chunk " + std::to_string(chunk.chunk) + ")"});
  lost = true;
  return std::make_exception_ptr(WorkerLostError{report.executor, report.pid, report.wait_status, report.cause,
                                                 task.plugin, task.task, chunk.record->id, chunk.chunk});
}

void PoolImpl::on_lost(Executor& executor, LossReport report) {
  auto* const worker = executor.route;
  std::unique_lock lock{mutex_};
  // A transport that learns of an end itself (no exit_fd) reports it without a reaper's pass.
  if (worker->life.phase() != WorkerPhase::reaped) worker->life.to(WorkerPhase::reaped);
  // The local transport does not know its chunks by ChunkId: routing's queue for it is the
  // record. Its ledger says whether it started the chunk at the front (a worker killed while
  // idle, just as a call was handed to it, has not). It runs one chunk at a time, in the order
  // sent: those behind that one it never started.
  if (report.held.empty()) {
    report.held.reserve(worker->in_flight.size());
    for (const auto& chunk : worker->in_flight)
      report.held.push_back({chunk.id(), report.held.empty() && worker->started(chunk.seq)});
  }
  auto held = std::move(worker->in_flight);
  worker->in_flight.clear();
  // A death the pool caused (timeout, cancel, terminate, start timeout) or a protocol error
  // fails the chunk the executor was given first, started or not: it is what it was stopped over.
  const bool caused = (worker->stop != Worker::Stop::no && worker->stop != Worker::Stop::lost) || report.broke_protocol;
  // Which of the chunks it held fail: those it started. One it never started is sent again
  // instead, with those behind it, ahead of anything not yet sent: up to max_deaths_before_start
  // times, in case it is what kills its executors before they start it.
  const auto started = [&](const InFlight& chunk) {
    const auto it = std::ranges::find(report.held, chunk.id(), &HeldChunk::id);
    return it != report.held.end() && it->started;
  };
  std::vector<bool> fails(held.size());
  std::size_t failing = 0;
  for (std::size_t i = 0; i < held.size(); ++i)
    if (started(held[i]) || (i == 0 && (caused || ++held[i].deaths_before_start > max_deaths_before_start))) {
      fails[i] = true;
      ++failing;
    }
  const auto& ended = report.cause;
  // Lost: it died unasked (a crash, a kill from outside, a lost agent, a protocol error), rather
  // than exiting as asked or being stopped by the pool (timeout, cancel, terminate).
  const bool unasked = worker->stop == Worker::Stop::lost || report.broke_protocol ||
                       (worker->stop == Worker::Stop::no && report.killed && !worker->asked_to_exit);
  if (unasked) {
    stats_.worker_lost();
    if (tracer_) lost_workers_.push_back(worker->id);
  }
  if (tracer_) {
    std::string args = "{\"cause\":";
    wire::append_json_string(args, ended);
    args += ",\"status\":" + std::to_string(report.wait_status) +
            ",\"chunk_lost\":" + (!held.empty() && fails.front() ? "true" : "false") + '}';
    trace_worker(*worker, unasked ? TraceEvent::Kind::worker_lost : TraceEvent::Kind::worker_exited, std::move(args),
                 ended);
  }
  if (held.empty())
    log(LogLevel::debug, "{} {}", report.executor, ended);
  else if (!fails.front())
    log(LogLevel::info, "{} {} before it started its next chunk; {} chunk(s) to send again", report.executor, ended,
        held.size());
  else
    log(LogLevel::info, "{} {} running {}.{} (job {}, chunk {}); {} chunk(s) behind it to send again", report.executor,
        ended, held.front().record->task.plugin, held.front().record->task.task, held.front().record->id,
        held.front().chunk, held.size() - failing);
  // Erased, but kept to the end of this call: its chunks are settled below.
  std::shared_ptr<Worker> keep;
  if (const auto self = std::ranges::find(workers_, worker, &std::shared_ptr<Worker>::get); self != workers_.end()) {
    keep = std::move(*self);
    workers_.erase(self);
  }
  signal_eventfd(worker_wake_.get());  // replace it
  task_cv_.notify_all();
  done_cv_.notify_all();  // restart() may be waiting for the old generation to go
  // A SIGKILL from outside (an operator, the OOM killer) says nothing about whether workers can
  // start. (The host's own SIGKILLs come with a protocol error, end a stop's grace period, or
  // end the kill_grace of a worker asked to exit, which is ready: the test below is for unready
  // workers.)
  const bool killed_from_outside = report.killed && !caused;
  // A pool none of whose workers ever became ready in start_timeout is not set up to work (a
  // wrong worker executable, a plugin load that hangs): waiting for more would be forever.
  const bool start_timed_out = worker->stop == Worker::Stop::start_timeout;
  // Nor does an old generation's worker told to exit before it was ready (restart).
  if (!worker->life.reached(WorkerPhase::ready) && !killed_from_outside && worker->generation == generation_ &&
      state_ != State::terminate && !broken_ &&
      ((start_timed_out && !ever_ready_) || ++unready_deaths_ >= std::max(3, processes_))) {
    // Workers that die before they can take work would be respawned forever: stop, and fail the
    // work with the reason instead.
    const auto limit = std::to_string(options_.start_timeout.count()) + " ms";
    const auto why = !start_timed_out ? report.executor + " " + ended + " before it was ready (" +
                                            std::to_string(unready_deaths_) + " workers in a row)"
                     : worker->life.reached(WorkerPhase::initializing)
                         ? report.executor + " was still running it after the start timeout of " + limit
                         : report.executor + " did not say hello within the start timeout of " + limit + ": is " +
                               transport_->describe() + " a dlpool-worker? (PoolOptions::worker_path, $DLPOOL_WORKER)";
    if (options_.initializer && (!start_timed_out || worker->life.reached(WorkerPhase::initializing))) {
      const auto& init = options_.initializer->task();
      broken_ = std::make_exception_ptr(InitializerError{
          "initializer " + init.plugin + "." + init.task + " never completed: " + why, init.plugin, init.task});
    } else {
      broken_ = std::make_exception_ptr(WorkerStartError{"dlpool workers cannot start: " + why});
    }
  }
  if (state_ == State::terminate) return;  // pending jobs fail with PoolTerminated instead
  std::vector<InFlight> failed;
  failed.reserve(failing);
  auto again = retry_.begin();
  for (std::size_t i = 0; i < held.size(); ++i)
    if (fails[i]) {
      failed.push_back(std::move(held[i]));
    } else {
      auto& chunk = held[i];
      stats_.retried(*chunk.record->book, chunk.count);
      // What its dead worker made of it is gone with it: it starts afresh elsewhere.
      chunk.started = chunk.sent = chunk.written = Clock::time_point{};
      chunk.sender = 0;
      chunk.worker = 0;
      again = std::next(retry_.insert(again, std::move(held[i])));
    }
  if (failing < held.size()) task_cv_.notify_all();
  for (auto& chunk : failed) {
    bool lost = false;
    auto error = lost_chunk_error(*worker, report, chunk, lost);
    chunk.received = Clock::now();
    lock.unlock();
    report_chunk(chunk, std::move(error), {}, lost);
    lock.lock();
  }
}

}  // namespace dlpool::detail
