#include "pool_impl.hpp"

#include "paths.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/frame.hpp>
#include <dlpool/wire/plugin_name.hpp>

#include <cstdio>
#include <thread>

namespace dlpool::detail {
namespace {

// Below this even a HELLO or a plugin's error message may not fit.
constexpr std::uint32_t min_frame_bytes = 4096;

int resolve_processes(const PoolOptions& options) {
  if (!options.processes) return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (*options.processes < 1) throw UsageError{"Number of processes must be at least 1"};
  return *options.processes;
}

}  // namespace

PoolImpl::PoolImpl(PoolOptions options) : options_{std::move(options)}, processes_{resolve_processes(options_)} {
  if (options_.maxtasksperchild && *options_.maxtasksperchild < 1)
    throw UsageError{"maxtasksperchild must be a positive int or None"};
  if (options_.max_frame_bytes < min_frame_bytes)
    throw UsageError{"max_frame_bytes must be at least " + std::to_string(min_frame_bytes)};
  if (options_.initializer && !wire::valid_plugin_name(options_.initializer->task().plugin))
    throw PluginNotFound{"invalid plugin name '" + options_.initializer->task().plugin + "'",
                         options_.initializer->task().plugin, options_.initializer->task().task};
  worker_argv_ = {worker_executable(options_.worker_path), "--plugin-path", plugin_search_path(options_.plugin_path),
                  "--max-frame", std::to_string(options_.max_frame_bytes)};
  if (options_.maxtasksperchild) {
    worker_argv_.emplace_back("--max-tasks");
    worker_argv_.push_back(std::to_string(*options_.maxtasksperchild));
  }
  result_wake_ = make_eventfd();
  epoll_ = make_epoll();
  worker_wake_ = make_eventfd();
  // Eager start, as CPython: a worker that cannot be started fails the constructor, and the ones
  // already started are killed and reaped by their destructors.
  for (int i = 0; i < processes_; ++i) workers_.push_back(spawn_worker(next_worker_++));
  result_thread_ = std::jthread{[this] { result_handler(); }};
  task_thread_ = std::jthread{[this] { task_handler(); }};
  worker_thread_ = std::jthread{[this] { worker_handler(); }};
}

PoolImpl::~PoolImpl() {
  if (!joined_) {
    terminate();
    join();
  }
}

void PoolImpl::submit(Submission submission) {
  if (!wire::valid_plugin_name(submission.task.plugin))
    throw PluginNotFound{"invalid plugin name '" + submission.task.plugin +
                             "': use letters, digits, '_', '.', '-' and no '..'",
                         submission.task.plugin, submission.task.task};
  auto record = std::make_shared<JobRecord>();
  wire::put(record->preamble, static_cast<std::uint8_t>(submission.task.codec));
  wire::put_string(record->preamble, submission.task.plugin);
  wire::put_string(record->preamble, submission.task.task);
  wire::put_string(record->preamble, submission.task.signature);
  record->task = std::move(submission.task);
  record->job = std::move(submission.job);
  {
    std::lock_guard lock{mutex_};
    if (state_ != State::run) throw UsageError{"Pool not running"};
    record->id = next_job_++;
    cache_.emplace(record->id, record);
    queue_.emplace_back(std::move(record), std::move(submission.source));
  }
  task_cv_.notify_one();
}

void PoolImpl::close() {
  {
    std::lock_guard lock{mutex_};
    if (state_ == State::run) state_ = State::close;
  }
  task_cv_.notify_all();
  signal_eventfd(worker_wake_.get());
}

void PoolImpl::terminate() {
  {
    std::lock_guard lock{mutex_};
    state_ = State::terminate;
  }
  task_cv_.notify_all();
  done_cv_.notify_all();
  signal_eventfd(worker_wake_.get());
}

void PoolImpl::join() {
  {
    std::lock_guard lock{mutex_};
    if (state_ == State::run) throw UsageError{"Pool is still running"};
  }
  const auto self = std::this_thread::get_id();
  if (self == result_thread_.get_id() || self == task_thread_.get_id() || self == worker_thread_.get_id())
    throw UsageError{"join() from a pool callback would wait for its own thread"};
  std::lock_guard lock{join_mutex_};
  if (joined_) return;
  // The worker handler ends the other two, so it is joined first.
  worker_thread_.join();
  task_thread_.join();
  result_thread_.join();
  joined_ = true;
}

std::vector<int> PoolImpl::worker_pids() const {
  std::lock_guard lock{mutex_};
  std::vector<int> pids;
  for (const auto& w : workers_)
    if (!w->process.reaped()) pids.push_back(w->process.pid());
  return pids;
}

void PoolImpl::maybe_complete(const std::shared_ptr<JobRecord>& record, std::unique_lock<std::mutex>& lock) {
  if (record->completed || !record->input_ended || record->chunks_done != record->chunks_made) return;
  if (std::this_thread::get_id() != result_thread_.get_id()) {
    // Callbacks run on the result handler, as CPython's do: hand the completion over.
    to_complete_.push_back(record);
    signal_eventfd(result_wake_.get());
    return;
  }
  record->completed = true;
  cache_.erase(record->id);
  if (cache_.empty()) signal_eventfd(worker_wake_.get());  // close() may be waiting for this
  lock.unlock();
  try {
    record->job->complete();
  } catch (...) {  // e.g. bad_alloc building the result: the caller still gets an answer
    record->job->abort(std::current_exception());
  }
  lock.lock();
}

void PoolImpl::report_chunk(const InFlight& chunk, std::exception_ptr error, std::span<const std::string_view> items) {
  auto& job = *chunk.record->job;
  try {
    if (error)
      job.chunk_failed(chunk.first, chunk.count, std::move(error));
    else
      job.chunk_done(chunk.first, items);
  } catch (...) {  // the job could not take it (allocation): it still counts as reported
    try {
      job.chunk_failed(chunk.first, chunk.count, std::current_exception());
    } catch (...) {
    }
  }
  std::unique_lock lock{mutex_};
  ++chunk.record->chunks_done;
  maybe_complete(chunk.record, lock);
}

std::shared_ptr<Worker> PoolImpl::find_worker(std::uint64_t id) const {
  for (const auto& w : workers_)
    if (w->id == id) return w;
  return nullptr;
}

}  // namespace dlpool::detail
