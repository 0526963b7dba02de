#include "pool_impl.hpp"

#include "local_transport.hpp"
#include "log/log.hpp"
#include "mpi/mpi_transport.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/frame.hpp>
#include <dlpool/wire/plugin_name.hpp>

#include <algorithm>
#include <csignal>
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

// The default imap window: 4 chunks per worker, and at least this many items, so that tiny
// items can be sent and answered in batches rather than one round trip each.
constexpr std::size_t default_window_items = 64;

std::optional<std::size_t> resolve_imap_window(const PoolOptions& options) {
  if (!options.imap_window) return std::nullopt;
  if (*options.imap_window < 1) throw UsageError{"imap_window must be at least 1"};
  return static_cast<std::size_t>(*options.imap_window);
}

/// A result handle's way back to its job (see JobControl).
class JobHandle final : public JobControl {
 public:
  JobHandle(std::shared_ptr<PoolLink> link, std::weak_ptr<JobRecord> record, const PoolImpl* pool)
      : link_{std::move(link)}, record_{std::move(record)}, pool_{pool} {}

  [[nodiscard]] bool on_result_thread() const noexcept override { return PoolImpl::on_result_thread(pool_); }

  bool cancel(bool kill) override {
    const auto record = record_.lock();
    if (!record) return false;  // completed, and forgotten by the pool
    std::lock_guard lock{link_->mutex};
    return link_->pool && link_->pool->cancel(record, kill);
  }

  void receive() override {
    const auto record = record_.lock();
    if (!record) return;
    std::unique_lock lock{link_->mutex};
    if (link_->pool) link_->pool->receive(record, lock);
  }

  void consumed(std::size_t items) override {
    const auto record = record_.lock();
    if (!record) return;
    // Pairs with the task handler's park: it sets `parked` then re-reads `consumed`, we store
    // `consumed` then read `parked` (both seq_cst), so one of us always sees the other.
    record->consumed.store(items);
    if (!record->parked.load() || record->held_back()) return;
    std::lock_guard lock{link_->mutex};
    if (link_->pool) link_->pool->resume(record);
  }

 private:
  std::shared_ptr<PoolLink> link_;
  std::weak_ptr<JobRecord> record_;
  const PoolImpl* pool_;  // only compared, never followed: the pool may be gone
};

}  // namespace

std::exception_ptr cancelled_error(const JobRecord& record) {
  return std::make_exception_ptr(Cancelled{"job " + std::to_string(record.id) + " (" + record.task.plugin + "." +
                                           record.task.task + ") was cancelled"});
}

thread_local const PoolImpl* PoolImpl::result_thread_of_ = nullptr;

PoolImpl::PoolImpl(PoolOptions options) : options_{std::move(options)}, imap_window_{resolve_imap_window(options_)} {
  if (options_.maxtasksperchild && *options_.maxtasksperchild < 1)
    throw UsageError{"maxtasksperchild must be a positive int or None"};
  if (options_.max_frame_bytes < min_frame_bytes)
    throw UsageError{"max_frame_bytes must be at least " + std::to_string(min_frame_bytes)};
  if (options_.task_timeout && options_.task_timeout->count() <= 0) throw UsageError{"task_timeout must be positive"};
  if (options_.kill_grace.count() < 0) throw UsageError{"kill_grace must not be negative"};
  if (options_.start_timeout.count() <= 0) throw UsageError{"start_timeout must be positive"};
  if (options_.progress_interval < std::chrono::milliseconds{1} || options_.progress_interval > std::chrono::hours{24})
    throw UsageError{"progress_interval must be from 1 ms to 24 hours"};
  if (options_.initializer && !wire::valid_plugin_name(options_.initializer->task().plugin))
    throw PluginNotFound{wire::invalid_plugin_name_message(options_.initializer->task().plugin),
                         options_.initializer->task().plugin, options_.initializer->task().task};
  auto& events = static_cast<TransportEvents&>(*this);
  if (options_.mpi) {
#if DLPOOL_HAVE_MPI
    transport_ = make_mpi_transport(options_, events);
    processes_ = static_cast<int>(transport_->room().value_or(1));
#else
    throw UsageError{"PoolOptions::mpi: this dlpool was built without MPI (DLPOOL_MPI=OFF)"};
#endif
  } else {
    processes_ = resolve_processes(options_);
    transport_ = std::make_unique<LocalTransport>(options_, events);
  }
  worker_wake_ = make_eventfd();
  if (options_.trace) tracer_ = std::make_unique<Tracer>(*options_.trace, started_);
  // Eager start, as CPython: a worker that cannot be started fails the constructor, and the ones
  // already started are killed and reaped by their destructors.
  log(LogLevel::debug, "pool of {} worker(s), running {}", processes_, transport_->describe());
  for (int i = 0; i < processes_; ++i) {
    workers_.push_back(spawn_worker(next_worker_++));
    started_worker(*workers_.back(), 0);
    transport_->watch(workers_.back()->executor);
  }
  result_thread_ = std::jthread{[this] { result_handler(); }};
  task_thread_ = std::jthread{[this] { task_handler(); }};
  worker_thread_ = std::jthread{[this] { worker_handler(); }};
  link_->pool = this;
}

PoolImpl::~PoolImpl() {
  {
    std::lock_guard lock{link_->mutex};  // waits out a cancel() in progress
    link_->pool = nullptr;
  }
  if (!joined_) {
    terminate();
    join();
  }
}

std::shared_ptr<JobControl> PoolImpl::submit(Submission submission) {
  if (!wire::valid_plugin_name(submission.task.plugin))
    throw PluginNotFound{wire::invalid_plugin_name_message(submission.task.plugin), submission.task.plugin,
                         submission.task.task};
  auto record = std::make_shared<JobRecord>();
  wire::put(record->preamble, static_cast<std::uint8_t>(submission.task.codec));
  wire::put_string(record->preamble, submission.task.plugin);
  wire::put_string(record->preamble, submission.task.task);
  wire::put_string(record->preamble, submission.task.signature);
  if (submission.task.timeout && submission.task.timeout->count() <= 0)
    throw UsageError{"the timeout of " + submission.task.plugin + "." + submission.task.task + " must be positive"};
  record->timeout = submission.task.timeout ? submission.task.timeout : options_.task_timeout;
  record->chunksize = submission.chunksize;
  if (submission.windowed) {
    record->window_items =
        imap_window_ ? *imap_window_ * record->chunksize
                     : std::max(4 * static_cast<std::size_t>(processes_) * record->chunksize, default_window_items);
  }
  record->task = std::move(submission.task);
  record->callbacks = submission.callbacks;
  record->submitted = Clock::now();
  record->job = std::move(submission.job);
  auto control = std::make_shared<JobHandle>(link_, record, this);
  if (submission.direct) {
    // Encoded on the caller's thread, so that an idle worker can be given it from here.
    thread_local wire::BinaryEncoder encoder;
    std::exception_ptr input_error;
    record->first_chunk = encode_chunk(*record, 0, *submission.source, encoder, input_error);
    if (input_error) std::rethrow_exception(input_error);
  }
  DirectSend direct;
  auto times_key = record->task.plugin + '.' + record->task.task;  // not built under the lock
  {
    std::lock_guard lock{mutex_};
    if (state_ != State::run) throw UsageError{"Pool not running"};
    record->id = next_job_++;
    cache_.emplace(record->id, record);
    record->book = &stats_.task(std::move(times_key));
    if (record->first_chunk) {
      std::memcpy(record->first_chunk->frame.data() + wire::job_offset, &record->id, sizeof record->id);
      direct = send_directly(record);
    }
    if (!direct.worker) queue_.emplace_back(std::move(record), std::move(submission.source));
  }
  if (!direct.worker) {
    task_cv_.notify_one();
    return control;
  }
  // Outside the lock, and safe: the worker cannot be closed while it holds a chunk, the frame is
  // small and an idle worker's pipe empty, so the caller does not block.
  // A dead worker's EPIPE: the result handler settles the chunk.
  direct.worker->send_small(*direct.frame);
  std::lock_guard lock{mutex_};
  written(*direct.worker);
  return control;
}

void PoolImpl::receive(const std::shared_ptr<JobRecord>& record, std::unique_lock<std::mutex>& link) {
  std::shared_ptr<Executor> from;
  {
    std::lock_guard lock{mutex_};
    if (!record->receive_from || record->completed || state_ == State::terminate) return;
    from = std::move(record->receive_from);
    ++receivers_;
  }
  link.unlock();  // the pool stays until receivers_ is back to 0 (join)
  struct Leave {  // however receive() ends
    PoolImpl& pool;
    bool answered = false;
    ~Leave() {
      std::lock_guard lock{pool.mutex_};
      pool.answers_read_by_callers_ += answered;
      if (--pool.receivers_ == 0) pool.receivers_cv_.notify_all();
    }
  } leave{*this};
  leave.answered = transport_->receive(from, record->completed);
}

bool PoolImpl::cancel(const std::shared_ptr<JobRecord>& record, bool kill) {
  std::unique_ptr<ChunkSource> dropped;  // the caller's input: destroyed outside the lock
  {
    std::unique_lock lock{mutex_};
    // Terminating: the job fails with PoolTerminated instead.
    if (record->completed || state_ == State::terminate) return false;
    if (!record->cancelled) {
      record->cancelled = true;
      // Queued or held back for its consumer: drop its input here. The task handler drops the
      // input of the job it is working on itself.
      const auto is_record = [&](const Queued& q) { return q.first == record; };
      if (auto it = std::ranges::find_if(queue_, is_record); it != queue_.end()) {
        dropped = std::move(it->second);
        queue_.erase(it);
        record->input_ended = true;
      } else if (auto parked = std::ranges::find_if(parked_, is_record); parked != parked_.end()) {
        dropped = std::move(parked->second);
        parked_.erase(parked);
        record->input_ended = true;
      } else if (record->pulled) {
        // Its puller drops the input; the job need not wait for a generator that may block.
        record->input_ended = true;
        pull_cv_.notify_all();
      }
      task_cv_.notify_all();
    }
    // Only a worker running one of its chunks is stopped; chunks of it queued behind another
    // job's are answered in turn, and dropped.
    if (kill)
      for (const auto& w : workers_)
        if (!w->in_flight.empty() && w->in_flight.front().record == record) stop_worker(*w, Worker::Stop::cancel);
    maybe_complete(record, lock);
  }
  return true;
}

void PoolImpl::resume(const std::shared_ptr<JobRecord>& record) {
  {
    std::lock_guard lock{mutex_};
    if (record->pulled) {  // its puller waits for this
      if (!record->held_back()) {
        record->parked = false;
        pull_cv_.notify_all();
      }
      return;
    }
    auto it = std::ranges::find_if(parked_, [&](const Queued& q) { return q.first == record; });
    if (it == parked_.end() || record->held_back()) return;
    record->parked = false;
    // It was submitted before whatever is queued now: it goes first.
    queue_.push_front(std::move(*it));
    parked_.erase(it);
  }
  task_cv_.notify_one();
}

void PoolImpl::close() {
  {
    std::lock_guard lock{mutex_};
    if (state_ != State::run) return;
    state_ = State::close;
  }
  trace_pool(TraceEvent::Kind::pool_close);
  task_cv_.notify_all();
  signal_eventfd(worker_wake_.get());
}

void PoolImpl::terminate() {
  {
    std::lock_guard lock{mutex_};
    if (state_ != State::terminate) trace_pool(TraceEvent::Kind::pool_terminate);
    state_ = State::terminate;
  }
  task_cv_.notify_all();
  pull_cv_.notify_all();
  done_cv_.notify_all();
  signal_eventfd(worker_wake_.get());
}

void PoolImpl::join() {
  {
    std::lock_guard lock{mutex_};
    if (state_ == State::run) throw UsageError{"Pool is still running"};
  }
  const auto self = std::this_thread::get_id();
  if (self == result_thread_.get_id() || self == task_thread_.get_id() || self == worker_thread_.get_id() ||
      (tracer_ && tracer_->on_its_thread()))
    throw UsageError{"join() from a pool callback would wait for its own thread"};
  {
    std::lock_guard lock{mutex_};
    if (std::ranges::any_of(pullers_, [&](const Puller& p) { return p.thread.get_id() == self; }))
      throw UsageError{"join() from an imap's generator would wait for its own thread"};
  }
  std::lock_guard lock{join_mutex_};
  if (joined_) return;
  // The worker handler ends the other two, so it is joined first.
  worker_thread_.join();
  task_thread_.join();
  result_thread_.join();
  join_pullers();
  {
    // Each is woken by its answer or by its worker's exit, which terminate() brings about.
    std::unique_lock lock{mutex_};
    receivers_cv_.wait(lock, [&] { return receivers_ == 0; });
  }
  if (tracer_) tracer_->close();  // the file is complete once join() returns
  joined_ = true;
}

std::vector<int> PoolImpl::worker_pids() const {
  std::lock_guard lock{mutex_};
  std::vector<int> pids;
  for (const auto& w : workers_)
    if (w->life.phase() != WorkerPhase::reaped) pids.push_back(w->pid());
  return pids;
}

void PoolImpl::maybe_complete(const std::shared_ptr<JobRecord>& record, std::unique_lock<std::mutex>& lock) {
  if (record->completed || !record->input_ended || record->chunks_done != record->chunks_made) return;
  // Released outside the lock: it may be the last hold on a worker that is gone (its cgroup).
  auto receive_from = std::move(record->receive_from);
  if (record->callbacks && std::this_thread::get_id() != result_thread_.get_id()) {
    // Callbacks run on the result handler, as CPython's do: hand the completion over.
    to_complete_.push_back(record);
    transport_->wake();
    return;
  }
  record->completed = true;
  cache_.erase(record->id);
  // A closed pool's worker handler waits for the last job to finish; a running one has no reason
  // to wake (an apply in a loop would wake it on every call).
  if (cache_.empty() && state_ != State::run) signal_eventfd(worker_wake_.get());
  lock.unlock();
  receive_from.reset();
  try {
    if (record->cancelled)
      record->job->abort(cancelled_error(*record));
    else
      record->job->complete();
  } catch (...) {  // e.g. bad_alloc building the result: the caller still gets an answer
    record->job->abort(std::current_exception());
  }
  lock.lock();
}

void PoolImpl::stop_worker(Worker& worker, Worker::Stop why) {
  if (!worker.life.before(WorkerPhase::stopping)) return;
  worker.life.to(WorkerPhase::stopping);  // no more work for it
  worker.stop = why;
  static constexpr const char* reasons[] = {"",
                                            "its task timed out",
                                            "its task was cancelled",
                                            "the pool terminates",
                                            "its result pipe closed",
                                            "it did not become ready within the start timeout"};
  log(LogLevel::info, "stopping worker {}: {}", worker.pid(), reasons[static_cast<int>(why)]);
  worker.halt(false);
  worker.kill_at = Clock::now() + options_.kill_grace;
  signal_eventfd(worker_wake_.get());  // the worker handler sends SIGKILL when it is due
}

void PoolImpl::report_chunk(const InFlight& chunk, std::exception_ptr error, std::span<const std::string_view> items,
                            bool lost) {
  auto& job = *chunk.record->job;
  const auto error_for_trace = error;
  // A cancelled job ends with Cancelled as a whole: what its chunks did no longer matters.
  if (!chunk.record->cancelled) {
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
  }
  const auto how = !error_for_trace ? Ending::done : lost ? Ending::lost : Ending::failed;
  std::string what = tracer_ && error_for_trace ? describe_error(error_for_trace) : std::string{};
  std::optional<ChunkTrace> traced;
  {
    std::unique_lock lock{mutex_};
    ++chunk.record->chunks_done;
    traced = count_ending(chunk, how, std::move(what));
    maybe_complete(chunk.record, lock);
  }
  if (traced) tracer_->chunk(std::move(*traced));
}

}  // namespace dlpool::detail
