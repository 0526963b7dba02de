// The worker handler: CPython's _handle_workers. It keeps `processes` workers alive, notices
// exits through pidfds (waitpid(-1) would steal the host application's other children), hands
// reaped workers to the result handler to be finalized, and runs the close and terminate
// sequences.

#include "pool_impl.hpp"

#include "log/log.hpp"
#include "sys/io.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>

#include <poll.h>

namespace dlpool::detail {
namespace {

/// Milliseconds from now until `t` for poll(), rounded up; -1 (forever) for time_point::max().
int poll_timeout(Clock::time_point t) {
  if (t == Clock::time_point::max()) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, std::numeric_limits<int>::max()));
}

}  // namespace

std::shared_ptr<Worker> PoolImpl::spawn_worker(std::uint64_t id, std::span<const std::string> plugins) {
  auto worker = std::make_shared<Worker>(id, transport_->start(id, plugins));
  worker->start_deadline = Clock::now() + options_.start_timeout;
  return worker;
}

void PoolImpl::send_initializer(Worker& worker) {
  if (!options_.initializer) return;
  const auto& init = *options_.initializer;
  std::string frame;
  wire::begin_frame(frame, wire::FrameKind::init);
  wire::put(frame, static_cast<std::uint8_t>(init.task().codec));
  wire::put_string(frame, init.task().plugin);
  wire::put_string(frame, init.task().task);
  wire::put_string(frame, init.task().signature);
  wire::put(frame, std::uint32_t{1});
  frame += init.item();
  wire::finish_frame(frame);
  // The task handler writes only to ready workers, and a worker is ready only after answering
  // this frame, so it is always the first one a worker reads. The pipe is grown to hold it (up
  // to 1 MiB): written into an empty pipe, it then never blocks this thread, whose deadlines
  // would wait meanwhile. EPIPE: it died, and is finalized.
  const std::string_view piece{frame};
  worker.send({&piece, 1});
}

void PoolImpl::send_initializers(std::unique_lock<std::mutex>& lock) {
  // The workers the constructor started get their INIT here, outside the lock: a large one
  // blocks until the worker reads it.
  std::vector<std::shared_ptr<Worker>> uninitialized;
  for (auto& w : workers_)
    if (!w->init_sent) {
      w->init_sent = true;
      uninitialized.push_back(w);
    }
  if (uninitialized.empty()) return;
  lock.unlock();
  for (const auto& w : uninitialized) send_initializer(*w);
  lock.lock();
}

void PoolImpl::expect_exit(Worker& worker) {
  if (!worker.life.before(WorkerPhase::exiting)) return;  // exiting, stopped or gone already
  worker.life.to(WorkerPhase::exiting);
  worker.asked_to_exit = true;
  worker.kill_at = Clock::now() + options_.kill_grace;
  signal_eventfd(worker_wake_.get());  // the worker handler sends SIGKILL when it is due
}

void PoolImpl::maintain_pool(std::unique_lock<std::mutex>& lock) {
  send_initializers(lock);
  // Restart: an old worker with nothing in flight gets EOF, its sentinel to exit. (Safe to close
  // here: it is retiring, so the task handler will not write to it, and its last chunk was
  // answered and its writer done with it.)
  for (auto& w : workers_)
    if (w->generation != generation_ && w->in_flight.empty() && !w->writing && w->input_open()) {
      w->close_input();
      expect_exit(*w);
    }
  const auto current = [&] {
    return static_cast<std::size_t>(
        std::ranges::count_if(workers_, [&](const auto& w) { return w->generation == generation_; }));
  };
  // As many as asked for, or as the transport has room for (MPI: agents may be lost).
  const auto wanted = std::min(static_cast<std::size_t>(processes_), transport_->room().value_or(SIZE_MAX));
  if (wanted == 0 && workers_.empty() && !broken_) {
    broken_ = std::make_exception_ptr(
        WorkerStartError{"no worker can run: " + transport_->describe() + " has room for none (every agent is lost)"});
    task_cv_.notify_all();
  }
  while (!broken_ && state_ != State::terminate && current() < wanted) {
    const auto id = next_worker_++;
    const auto generation = generation_;
    const auto plugins = plugins_used_;
    lock.unlock();
    std::shared_ptr<Worker> worker;
    std::exception_ptr failed;
    try {
      worker = spawn_worker(id, plugins);
      worker->generation = generation;
      worker->init_sent = true;  // nobody else knows this worker yet
      send_initializer(*worker);
    } catch (...) {
      failed = std::current_exception();
    }
    lock.lock();
    if (failed) {
      // Without any worker, queued work would wait forever: fail it instead.
      if (workers_.empty()) {
        broken_ = failed;
        task_cv_.notify_all();
      }
      try {
        std::rethrow_exception(failed);
      } catch (const std::exception& e) {
        log(LogLevel::error, "cannot start a replacement worker: {}", e.what());
      }
      return;
    }
    transport_->watch(worker->executor);
    // A worker of this generation replaces the oldest lost one (the trace says which).
    std::uint64_t replaces = 0;
    if (!lost_workers_.empty() && generation == generation_) {
      replaces = lost_workers_.front();
      lost_workers_.pop_front();
    }
    started_worker(*worker, replaces);
    workers_.push_back(std::move(worker));
  }
}

void PoolImpl::poll_exits(std::unique_lock<std::mutex>& lock, int timeout_ms) {
  std::vector<pollfd> fds{{worker_wake_.get(), POLLIN, 0}};
  std::vector<std::shared_ptr<Worker>> polled;
  for (const auto& w : workers_)
    if (w->life.phase() != WorkerPhase::reaped && w->executor->exit_fd() >= 0) {
      fds.push_back({w->executor->exit_fd(), POLLIN, 0});
      polled.push_back(w);
    }
  lock.unlock();
  const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
  lock.lock();
  if (ready <= 0) return;  // timeout, or EINTR: the caller loops
  if (fds[0].revents != 0) drain_eventfd(worker_wake_.get());
  bool reaped = false;
  for (std::size_t i = 1; i < fds.size(); ++i) {
    if (fds[i].revents == 0) continue;
    auto& w = *polled[i - 1];
    if (w.executor->try_reap()) {
      w.life.to(WorkerPhase::reaped);
      transport_->finalize(w.executor);
      reaped = true;
    }
  }
  if (reaped) transport_->wake();
}

void PoolImpl::worker_handler() {
  block_sigpipe_in_this_thread();
  Tracer::set_thread_track(Track::worker_handler);
  std::unique_lock lock{mutex_};
  try {
    // CPython: loop while running, or while closed with work outstanding.
    while (state_ == State::run || (state_ == State::close && !cache_.empty())) {
      maintain_pool(lock);
      const int progress = poll_timeout(report_progress(lock));
      const int deadline = enforce_deadlines();
      poll_exits(lock, progress < 0 ? deadline : deadline < 0 ? progress : std::min(progress, deadline));
    }
    shut_down_workers(lock);
    progress_due_ = {};  // the counts as they end
    report_progress(lock);
  } catch (const std::exception& e) {
    log(LogLevel::critical, "worker handler failed: {}; terminating the pool", e.what());
    if (!lock.owns_lock()) lock.lock();
    state_ = State::terminate;
    shut_down_workers(lock);
  }
}

int PoolImpl::enforce_deadlines() {
  const auto now = Clock::now();
  auto next = Clock::time_point::max();
  for (const auto& w : workers_) {
    // Only a worker not yet being stopped can be: stop_worker() does nothing to the others.
    const bool stoppable = w->life.before(WorkerPhase::stopping);
    if (const auto& chunk = w->in_flight; stoppable && !chunk.empty() && chunk.front().deadline) {
      if (*chunk.front().deadline <= now)
        stop_worker(*w, Worker::Stop::timeout);
      else
        next = std::min(next, *chunk.front().deadline);
    }
    if (!w->life.reached(WorkerPhase::ready) && stoppable) {
      if (w->start_deadline <= now)
        stop_worker(*w, Worker::Stop::start_timeout);
      else
        next = std::min(next, w->start_deadline);
    }
    if (const auto phase = w->life.phase(); phase == WorkerPhase::exiting || phase == WorkerPhase::stopping) {
      if (w->kill_at <= now) {
        if (phase == WorkerPhase::exiting)
          log(LogLevel::info, "worker {} did not exit within {} ms of being asked to: killing it", w->pid(),
              options_.kill_grace.count());
        w->halt(true);
        w->life.to(WorkerPhase::killed);
      } else {
        next = std::min(next, w->kill_at);
      }
    }
  }
  next_deadline_ = next;
  return poll_timeout(next);
}

void PoolImpl::shut_down_workers(std::unique_lock<std::mutex>& lock) {
  stop_tasks_ = true;
  task_cv_.notify_all();
  pull_cv_.notify_all();
  // Terminating: every worker is stopped (SIGTERM now, SIGKILL once the grace period is over).
  // Re-checked on every pass, because terminate() may come while a close() is waiting for workers
  // that do not exit.
  const auto escalate = [&] {
    if (state_ == State::terminate)
      for (const auto& w : workers_) stop_worker(*w, Worker::Stop::terminate);
    return enforce_deadlines();
  };

  // The task handler may be blocked writing to a worker that does not read: signalling the
  // workers first turns that write into an EPIPE.
  for (int ms = escalate(); !task_handler_done_; ms = escalate()) {
    const auto woken = [&] {
      return task_handler_done_ || (state_ == State::terminate && std::ranges::any_of(workers_, [](const auto& w) {
                                      return w->life.before(WorkerPhase::stopping);
                                    }));
    };
    if (ms < 0)
      done_cv_.wait(lock, woken);
    else
      done_cv_.wait_for(lock, std::chrono::milliseconds{ms}, woken);
  }
  // No worker is spawned from here on: the zygote exits while the workers do.
  transport_->stop_starting(false);
  // Closing: nothing is in flight, and EOF on its task pipe is a worker's sentinel to exit, with
  // kill_grace to do so. A worker still starting runs the initializer first (CPython runs it in
  // every worker it started, and join() waits for it) and is told once ready; start_timeout
  // bounds that.
  if (state_ != State::terminate) send_initializers(lock);
  const auto tell_ready_ones_to_exit = [&] {
    if (state_ == State::terminate) return;
    for (const auto& w : workers_)
      if (w->input_open() && (w->life.reached(WorkerPhase::ready) || !options_.initializer || w->closed ||
                              w->life.phase() == WorkerPhase::reaped)) {
        w->close_input();
        expect_exit(*w);
      }
  };
  for (int ms = escalate(); !workers_.empty(); ms = escalate()) {
    tell_ready_ones_to_exit();
    poll_exits(lock, ms);
  }
  transport_->stop_starting(true);  // join() leaves no child behind

  fail_everything_pending(lock, std::make_exception_ptr(PoolTerminated{"the pool was terminated"}));
  transport_->stop();
}

void PoolImpl::fail_everything_pending(std::unique_lock<std::mutex>& lock, std::exception_ptr error) {
  std::vector<std::shared_ptr<JobRecord>> pending;
  for (auto& [id, record] : cache_)
    if (!record->completed) {
      record->completed = true;
      // Its items not reported yet fail with it, whatever becomes of their chunks.
      record->aborted = true;
      stats_.ended(*record->book, Ending::failed, record->items_made - record->items_ended, std::nullopt, std::nullopt);
      pending.push_back(record);
    }
  cache_.clear();
  auto inputs = std::move(queue_);  // callers' generators: destroyed outside the lock
  auto held_back = std::move(parked_);
  queue_.clear();
  parked_.clear();
  retry_.clear();
  lock.unlock();
  inputs.clear();
  held_back.clear();
  for (const auto& record : pending) record->job->abort(error);
  lock.lock();
}

}  // namespace dlpool::detail
