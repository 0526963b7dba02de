// The task handler: CPython's _handle_tasks. It walks the queue in submission order, encodes
// chunks (an imap input is read only as workers take work) and writes them to workers.
//
// Dispatch: an idle worker is always preferred. Encoded chunks wait in ready_, in order; a worker
// that answers its last chunk is given the front one by the result handler itself, rather than
// through a wake-up of this thread. Chunks of tasks known to be short may also queue in a busy
// worker's pipe, up to about a millisecond of work (queue_cap), so that a worker finishing one
// finds the next already there instead of waiting a round trip for it; chunks for one worker go
// out in one writev. A worker runs its chunks in order, so the host still knows which one a dead
// worker was running (the front one); those behind it never started and are sent again (retry_).

#include "pool_impl.hpp"

#include "log/log.hpp"
#include "sys/io.hpp"

#include <algorithm>
#include <climits>
#include <iterator>

namespace dlpool::detail {
namespace {

// Only chunks of tasks whose chunks have taken less than this on average are queued behind
// others: a long one would hold the chunks behind it hostage while another worker sits idle.
constexpr double pipeline_below_ns = 250e3;
// How much work, by the task's average, a worker may have queued: enough to cover the round trip
// of a refill many times over, little enough that an imbalance between workers stays small.
constexpr double queue_budget_ns = 1e6;
constexpr std::size_t max_queue = 32;  // chunks, however short

// An apply_async frame up to this size is written by the caller's thread itself when a worker is
// idle: an idle worker's pipe is empty, so a write this small never blocks the caller.
constexpr std::size_t direct_frame_limit = 16 * 1024;

/// When a chunk of `items` items, each allowed `per_item`, must be done by; saturates rather than
/// overflow for absurd limits.
Clock::time_point deadline_after(std::chrono::milliseconds per_item, std::size_t items) {
  const auto now = Clock::now();
  const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
  if (items != 0 && per_item > room / static_cast<std::int64_t>(items)) return Clock::time_point::max();
  return now + per_item * static_cast<std::int64_t>(items);
}

/// How long a chunk of `record` is expected to take, in ns; negative when nothing is known yet.
double expected_chunk_ns(const JobRecord& record) {
  if (record.chunk_time.ns >= 0) return record.chunk_time.ns;
  if (record.book == nullptr || record.book->item_time.ns < 0) return -1;
  return record.book->item_time.ns * static_cast<double>(record.chunksize);
}

bool short_task(const JobRecord& record) {
  const auto ns = expected_chunk_ns(record);
  return ns >= 0 && ns < pipeline_below_ns;
}

bool eligible(const Worker& w) { return w.life.phase() == WorkerPhase::ready && !w.closed; }

}  // namespace

std::size_t queue_cap(const JobRecord& record) {
  const auto ns = expected_chunk_ns(record);
  if (ns < 0 || ns >= pipeline_below_ns) return 1;  // not known to be short
  const auto fits = queue_budget_ns / std::max(ns, 1.0);
  return std::clamp<std::size_t>(static_cast<std::size_t>(fits), 2, max_queue);
}

bool PoolImpl::window_full(const JobRecord& record, std::size_t items_made) {
  return items_made + record.chunksize > record.consumed.load() + record.window_items;
}

bool PoolImpl::hold_back(JobRecord& record) {
  // Publish `parked` before the second look at `consumed` (see JobHandle::consumed), whose
  // resume() then clears it.
  record.resume_at = resume_point(record);
  record.parked = true;
  if (record.held_back()) return true;
  record.parked = false;
  return false;
}

void PoolImpl::end_input(const std::shared_ptr<JobRecord>& record, std::exception_ptr error,
                         std::unique_lock<std::mutex>& lock) {
  const auto items = record->items_made;
  lock.unlock();
  try {
    record->job->input_ended(items, std::move(error));
  } catch (...) {  // allocation: the iteration still ends where it is
  }
  lock.lock();
  record->input_ended = true;
  maybe_complete(record, lock);
}

std::size_t PoolImpl::resume_point(const JobRecord& record) {
  // A full window reopens only once half of it (in whole chunks) is free: the consumer then wakes
  // the task handler once per half window, which sends the chunks in a few writes, instead of
  // once per result. (A window of one chunk reopens as soon as that chunk is consumed.)
  const auto slack = record.window_items / record.chunksize / 2 * record.chunksize;
  return record.items_made + record.chunksize + slack - record.window_items;
}

bool PoolImpl::may_queue_behind(const Worker& worker, const JobRecord& record) const {
  // queue_cap is per chunk running at once: an executor that runs several holds that many more.
  const auto cap = std::min(queue_cap(record) * worker.parallelism(), worker.capacity());
  return worker.in_flight.size() < cap &&
         std::ranges::all_of(worker.in_flight, [](const InFlight& c) { return short_task(*c.record); });
}

std::shared_ptr<Worker> PoolImpl::worker_for(const JobRecord& record) const {
  std::shared_ptr<Worker> queue_behind;
  for (const auto& w : workers_) {
    if (!eligible(*w) || w->writing) continue;
    if (w->in_flight.empty()) return w;
    if ((!queue_behind || w->in_flight.size() < queue_behind->in_flight.size()) && may_queue_behind(*w, record))
      queue_behind = w;
  }
  return queue_behind;
}

void PoolImpl::start_chunk(InFlight& chunk) {
  chunk.started = Clock::now();
  if (!chunk.record->timeout) return;
  chunk.deadline = deadline_after(*chunk.record->timeout, chunk.count);
  if (*chunk.deadline < next_deadline_) signal_eventfd(worker_wake_.get());  // sooner than it planned
}

void PoolImpl::assign(Worker& worker, InFlight chunk) {
  taken_from_ready(chunk);
  worker.writing = true;  // the caller writes the frame next, then calls written()
  chunk.seq = ++worker.chunks_assigned;
  chunk.worker = worker.id;
  ++chunk.sends;
  if (tracer_) {
    chunk.sent = Clock::now();
    chunk.sender = Tracer::thread_track();
    chunk.rank = worker.executor->rank();
  }
  auto& queued = worker.in_flight.emplace_back(std::move(chunk));
  if (worker.in_flight.size() == 1) start_chunk(queued);
  if (options_.maxtasksperchild && ++worker.chunks_sent >= static_cast<unsigned>(*options_.maxtasksperchild))
    worker.life.to(WorkerPhase::retiring);
}

void PoolImpl::written(Worker& worker) {
  worker.writing = false;
  if (tracer_) {
    const auto now = Clock::now();
    for (auto& chunk : worker.in_flight)
      if (chunk.seq > worker.chunks_written) chunk.written = now;
    worker.chunks_written = worker.chunks_assigned;
  }
  // It may have answered already, and been passed over while it was marked: by worker_for, or
  // by the worker handler closing an old generation's idle workers.
  if (!worker.in_flight.empty()) return;
  task_cv_.notify_one();
  if (worker.generation != generation_) signal_eventfd(worker_wake_.get());
}

std::exception_ptr PoolImpl::unsendable(const InFlight& chunk) const {
  if (chunk.record->cancelled) return cancelled_error(*chunk.record);
  // CPython: a task that cannot be sent fails its job slot, rather than the pool waiting forever.
  if (const auto size = chunk.frame->size() - wire::header_size; size > options_.max_frame_bytes)
    return std::make_exception_ptr(EncodingError{"the arguments of chunk " + std::to_string(chunk.chunk) + " of " +
                                                 chunk.record->task.plugin + "." + chunk.record->task.task + " take " +
                                                 std::to_string(size) + " bytes, over the frame limit of " +
                                                 std::to_string(options_.max_frame_bytes)});
  return broken_;  // the workers cannot start
}

std::optional<EncodedChunk> PoolImpl::encode_chunk(const JobRecord& record, std::uint32_t index, ChunkSource& source,
                                                   wire::BinaryEncoder& encoder,
                                                   std::exception_ptr& input_error) const {
  EncodedChunk chunk;
  auto& frame = chunk.frame;
  frame.reserve(record.frame_hint);  // chunks of a job are much alike: grown once, not doubled each time
  wire::begin_frame(frame, wire::FrameKind::task, record.id, index);
  frame += record.preamble;
  const auto count_at = frame.size();
  wire::put(frame, std::uint32_t{0});
  try {
    encoder.restart();
    chunk.count = source.next_chunk(frame, encoder);
  } catch (...) {
    input_error = std::current_exception();
  }
  if (chunk.count == 0) return std::nullopt;
  const auto n = static_cast<std::uint32_t>(chunk.count);
  std::memcpy(frame.data() + count_at, &n, sizeof n);
  wire::finish_frame(frame);
  return chunk;
}

InFlight PoolImpl::take_first_chunk(const std::shared_ptr<JobRecord>& record) {
  // An apply_async's one chunk, encoded by the caller. Its job has nothing to learn from the end
  // of its input (one item, already encoded), so the input ends here too.
  auto& first = *record->first_chunk;
  InFlight chunk{record, 0,           0, first.count, std::make_shared<const std::string>(std::move(first.frame)),
                 {},     std::nullopt};
  record->first_chunk.reset();
  record->chunks_made = 1;
  record->items_made = chunk.count;
  chunk.entered = record->submitted;
  stats_.submitted(*record->book, chunk.count);
  record->input_ended = true;
  return chunk;
}

PoolImpl::DirectSend PoolImpl::send_directly(const std::shared_ptr<JobRecord>& record) {
  // Only when nothing is ahead of it (CPython's order) and a worker is idle: then the caller's
  // thread writes the frame, and the task handler is never woken.
  auto& first = *record->first_chunk;
  if (work_ahead() || broken_ || first.frame.size() > direct_frame_limit ||
      first.frame.size() - wire::header_size > options_.max_frame_bytes)  // the task handler reports it
    return {};
  auto worker = worker_for(*record);
  if (!worker || !worker->in_flight.empty()) return {};
  // Without callbacks, it is a call its caller may be about to block on, reading the answer
  // itself (receive); the worker then waits for a next call awake. (Not over MPI: no caller
  // reads there, and a worker polling would take a CPU from its agent.)
  if (!record->callbacks && transport_->can_receive()) {
    wire::set_frame_flag(first.frame, wire::flag_awaited, true);
    record->receive_from = worker->executor;
  }
  auto chunk = take_first_chunk(record);
  auto frame = chunk.frame;
  assign(*worker, std::move(chunk));
  return {std::move(worker), std::move(frame)};
}

void PoolImpl::take_retries() {
  for (auto& chunk : retry_) chunk.deadline.reset();
  ready_.insert(ready_.begin(), std::make_move_iterator(retry_.begin()), std::make_move_iterator(retry_.end()));
  retry_.clear();
}

std::shared_ptr<const std::string> PoolImpl::give_next_ready(Worker& worker) {
  if (stop_tasks_ || state_ == State::terminate || !eligible(worker) || worker.writing || !worker.in_flight.empty())
    return nullptr;
  take_retries();
  if (ready_.empty()) return nullptr;
  auto& next = ready_.front();
  // Short tasks are the task handler's: it queues several in one write (queue_cap). A frame of
  // PIPE_BUF bytes or less fits any empty pipe, however small the user's pipe quota left it, and
  // this worker has read all it was sent: the result handler never blocks on the write, even if
  // the worker has died and a process it forked still holds its pipe.
  if (queue_cap(*next.record) > 1 || next.frame->size() > PIPE_BUF || unsendable(next)) return nullptr;
  auto frame = next.frame;
  assign(worker, std::move(next));
  ready_.pop_front();
  return frame;
}

void PoolImpl::task_handler() {
  block_sigpipe_in_this_thread();
  Tracer::set_thread_track(Track::task_handler);
  wire::BinaryEncoder encoder;
  std::shared_ptr<JobRecord> record;  // the submission being chunked
  std::unique_ptr<ChunkSource> source;
  std::vector<InFlight> made;  // encoded outside the lock, then appended to ready_
  std::vector<std::shared_ptr<const std::string>> batch;  // frames of one write, kept alive through it
  std::vector<std::string_view> pieces;
  std::vector<std::unique_ptr<ChunkSource>> spent;  // of apply records taken into a batch

  std::unique_lock lock{mutex_};
  // Whenever the lock is let go: whether a submission is held here, which nothing submitted later
  // may overtake (see send_directly).
  const auto publish_holds = [&] { task_handler_holds_ = record != nullptr; };
  // The chunk to add to a batch for `worker` after the ones taken so far, if one is at hand in
  // order without encoding: one to send again, or the next submission's if the caller encoded it.
  const auto next_at_hand = [&]() -> bool {
    take_retries();
    if (!ready_.empty()) return true;
    if (record || queue_.empty() || !queue_.front().first->first_chunk || queue_.front().first->cancelled) return false;
    auto [taken, taken_source] = std::move(queue_.front());
    queue_.pop_front();
    ready_.push_back(take_first_chunk(taken));
    spent.push_back(std::move(taken_source));
    return true;
  };
  try {
    for (;;) {
      publish_holds();
      task_cv_.wait(lock, [&] {
        if (stop_tasks_ || state_ == State::terminate) return true;
        take_retries();  // older than anything not sent yet, so judged first
        if (!ready_.empty()) return unsendable(ready_.front()) || worker_for(*ready_.front().record) != nullptr;
        return record || !queue_.empty();
      });
      if (stop_tasks_ || state_ == State::terminate) break;

      if (ready_.empty()) {
        if (!record) {
          record = std::move(queue_.front().first);
          source = std::move(queue_.front().second);
          queue_.pop_front();
        }
        if (record->cancelled) {  // no more input; it completes once its chunks are in
          record->input_ended = true;
          maybe_complete(record, lock);
          record.reset();
          publish_holds();
          lock.unlock();
          source.reset();  // the caller's generator: not destroyed under the pool lock
          lock.lock();
          continue;
        }
        if (source->pulls_from_caller()) {  // a generator: read on a thread of its own
          start_puller(std::move(record), std::move(source));
          continue;
        }
        if (record->window_items != 0 && window_full(*record, record->items_made) && hold_back(*record)) {
          parked_.emplace_back(std::move(record), std::move(source));
          continue;
        }
        if (record->first_chunk) {  // an apply_async no worker was idle for
          ready_.push_back(take_first_chunk(record));
          record.reset();
          spent.push_back(std::move(source));
          continue;
        }
        // Short chunks are encoded a worker's queue ahead, to go out in one write.
        const std::size_t ahead = queue_cap(*record);
        publish_holds();
        lock.unlock();
        std::exception_ptr input_error;
        bool ended = false;
        std::uint32_t index = record->chunks_made;
        std::size_t first = record->items_made;
        for (std::size_t k = 0; k < ahead && !ended; ++k) {
          if (k > 0 && record->window_items != 0 && window_full(*record, first)) break;
          auto chunk = encode_chunk(*record, index, *source, encoder, input_error);
          if (!chunk) {
            ended = true;
            break;
          }
          record->frame_hint = chunk->frame.size();
          made.push_back(InFlight{record,
                                  index++,
                                  first,
                                  chunk->count,
                                  std::make_shared<const std::string>(std::move(chunk->frame)),
                                  {},
                                  std::nullopt});
          // An imap's items enter the pool as its input is read; a map's all came in together.
          made.back().entered = record->window_items != 0 ? Clock::now() : record->submitted;
          first += chunk->count;
        }
        if (ended) source.reset();  // the caller's input: not destroyed under the pool lock
        lock.lock();
        std::ranges::move(made, std::back_inserter(ready_));
        made.clear();
        record->chunks_made = index;
        stats_.submitted(*record->book, first - record->items_made);
        record->items_made = first;
        if (ended) {
          end_input(record, input_error, lock);
          record.reset();
        }
        continue;
      }

      if (const auto error = unsendable(ready_.front())) {
        auto chunk = std::move(ready_.front());
        ready_.pop_front();
        taken_from_ready(chunk);
        publish_holds();
        lock.unlock();
        report_chunk(chunk, error);
        lock.lock();
        continue;
      }

      // One write for as many chunks as this worker may take, while no other worker is idle.
      const auto worker = worker_for(*ready_.front().record);
      batch.clear();
      do {
        batch.push_back(ready_.front().frame);
        assign(*worker, std::move(ready_.front()));
        ready_.pop_front();
      } while (next_at_hand() && !unsendable(ready_.front()) && eligible(*worker) &&
               may_queue_behind(*worker, *ready_.front().record) && std::ranges::none_of(workers_, [&](const auto& w) {
                 return w != worker && eligible(*w) && !w->writing && w->in_flight.empty();
               }));
      publish_holds();
      lock.unlock();
      pieces.clear();
      for (const auto& frame : batch) pieces.emplace_back(*frame);
      spent.clear();  // the callers' arguments: not destroyed under the pool lock
      // EPIPE means the worker died; the result handler settles its chunks when it finalizes it.
      worker->send(pieces);
      lock.lock();
      written(*worker);
    }
  } catch (const std::exception& e) {
    log(LogLevel::critical, "task handler failed: {}; terminating the pool", e.what());
    if (!lock.owns_lock()) lock.lock();
    state_ = State::terminate;
    signal_eventfd(worker_wake_.get());
  }
  task_handler_done_ = true;
  // Empty after a close, which waits for all work; a terminate fails their jobs without them.
  const auto unsent = std::exchange(ready_, {});
  done_cv_.notify_all();
  lock.unlock();
}

}  // namespace dlpool::detail
