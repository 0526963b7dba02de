// The task handler: CPython's _handle_tasks. It walks the queue in submission order, encodes one
// chunk at a time (so an imap input is read only as workers take work) and writes it to a worker.
//
// Dispatch: an idle worker is always preferred. Chunks of tasks known to be short (see
// pipeline_below) may also queue in a busy worker's pipe, up to pipeline_depth per worker, so
// that a worker finishing one finds the next already there instead of waiting a round trip for
// it. A worker runs its chunks in order, so the host still knows which one a dead worker was
// running (the front one); those behind it never started and are sent again (retry_).

#include "pool_impl.hpp"

#include "log/log.hpp"
#include "sys/io.hpp"

namespace dlpool::detail {
namespace {

// Only chunks of tasks whose chunks have taken less than this on average are queued behind
// others: a long one would hold the chunks behind it hostage while another worker sits idle.
constexpr std::int64_t pipeline_below_ns = 250'000;

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

bool short_task(const JobRecord& record) {
  return record.stats != nullptr && record.stats->average_ns >= 0 && record.stats->average_ns < pipeline_below_ns;
}

}  // namespace

bool PoolImpl::window_full(const JobRecord& record) const {
  return record.items_made + record.chunksize > record.consumed.load() + record.window_items;
}

std::shared_ptr<Worker> PoolImpl::worker_for(const JobRecord& record) const {
  std::shared_ptr<Worker> queue_behind;
  const bool may_queue = short_task(record);
  for (const auto& w : workers_) {
    if (!w->ready || w->retiring || w->channel_lost || w->wait_status || w->writing) continue;
    if (w->in_flight.empty()) return w;
    if (may_queue && w->in_flight.size() < pipeline_depth &&
        (!queue_behind || w->in_flight.size() < queue_behind->in_flight.size()) &&
        std::ranges::all_of(w->in_flight, [](const InFlight& c) { return short_task(*c.record); }))
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
  worker.writing = true;  // the caller writes the frame next, then calls written()
  auto& queued = worker.in_flight.emplace_back(std::move(chunk));
  if (worker.in_flight.size() == 1) start_chunk(queued);
  if (options_.maxtasksperchild && ++worker.chunks_sent >= static_cast<unsigned>(*options_.maxtasksperchild))
    worker.retiring = true;
}

void PoolImpl::written(Worker& worker) {
  worker.writing = false;
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

std::optional<EncodedChunk> PoolImpl::encode_chunk(JobRecord& record, ChunkSource& source,
                                                   wire::BinaryEncoder& encoder, std::exception_ptr& input_error) const {
  EncodedChunk chunk;
  auto& frame = chunk.frame;
  frame.reserve(256);
  wire::begin_frame(frame, wire::FrameKind::task, record.id, record.chunks_made);
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

PoolImpl::DirectSend PoolImpl::send_directly(const std::shared_ptr<JobRecord>& record) {
  // Only when nothing is ahead of it (CPython's order) and a worker is idle: then the caller's
  // thread writes the frame, and the task handler is never woken.
  const auto& first = *record->first_chunk;
  if (!queue_.empty() || !retry_.empty() || task_handler_busy_ || broken_ || first.frame.size() > direct_frame_limit ||
      first.frame.size() - wire::header_size > options_.max_frame_bytes)  // the task handler reports it
    return {};
  auto worker = worker_for(*record);
  if (!worker || !worker->in_flight.empty()) return {};
  const auto count = first.count;
  auto frame = std::make_shared<const std::string>(std::move(record->first_chunk->frame));
  assign(*worker, InFlight{record, 0, 0, count, frame, {}, std::nullopt});
  record->first_chunk.reset();
  record->chunks_made = 1;
  record->items_made = count;
  record->input_ended = true;  // one item, encoded: an apply's job has nothing to learn from its end
  return {std::move(worker), std::move(frame)};
}

void PoolImpl::task_handler() {
  block_sigpipe_in_this_thread();
  wire::BinaryEncoder encoder;
  std::shared_ptr<JobRecord> record;  // the submission being chunked
  std::unique_ptr<ChunkSource> source;
  std::optional<InFlight> next;  // the chunk to send next: just encoded, or to be sent again

  std::unique_lock lock{mutex_};
  // Whenever the lock is let go: whether a submission or a chunk is held here, which nothing
  // submitted later may overtake (see send_directly).
  const auto publish_busy = [&] { task_handler_busy_ = record || next; };
  try {
    for (;;) {
      publish_busy();
      task_cv_.wait(lock, [&] {
        if (stop_tasks_ || state_ == State::terminate) return true;
        if (next) return unsendable(*next) || worker_for(*next->record) != nullptr;
        return record || !queue_.empty() || !retry_.empty();
      });
      if (stop_tasks_ || state_ == State::terminate) break;

      if (!next && !retry_.empty()) {  // older than anything still to be encoded
        next = std::move(retry_.front());
        retry_.pop_front();
        next->deadline.reset();
        continue;
      }

      if (!next) {
        if (!record) {
          record = std::move(queue_.front().first);
          source = std::move(queue_.front().second);
          queue_.pop_front();
        }
        if (record->cancelled) {  // no more input; it completes once its chunks are in
          record->input_ended = true;
          maybe_complete(record, lock);
          record.reset();
          publish_busy();
          lock.unlock();
          source.reset();  // the caller's generator: not destroyed under the pool lock
          lock.lock();
          continue;
        }
        if (record->window_items != 0 && window_full(*record)) {
          // Publish `parked` before the second look at `consumed` (see JobHandle::consumed).
          record->parked = true;
          if (window_full(*record)) {
            parked_.emplace_back(std::move(record), std::move(source));
            continue;
          }
          record->parked = false;
        }
        std::optional<EncodedChunk> chunk = std::exchange(record->first_chunk, std::nullopt);
        std::exception_ptr input_error;
        if (!chunk) {
          publish_busy();
          lock.unlock();
          chunk = encode_chunk(*record, *source, encoder, input_error);
          lock.lock();
        }
        if (!chunk) {
          // The input is over: the job learns its length first, then may complete.
          publish_busy();
          lock.unlock();
          try {
            record->job->input_ended(record->items_made, input_error);
          } catch (...) {
          }
          source.reset();
          lock.lock();
          record->input_ended = true;
          maybe_complete(record, lock);
          record.reset();
          continue;
        }
        next = InFlight{record, record->chunks_made++, record->items_made, chunk->count,
                        std::make_shared<const std::string>(std::move(chunk->frame)), {}, std::nullopt};
        record->items_made += chunk->count;
        continue;
      }

      if (const auto error = unsendable(*next)) {
        const auto chunk = *std::exchange(next, std::nullopt);
        publish_busy();
        lock.unlock();
        report_chunk(chunk, error);
        lock.lock();
        continue;
      }

      const auto worker = worker_for(*next->record);
      const auto frame = next->frame;
      assign(*worker, *std::exchange(next, std::nullopt));
      publish_busy();
      lock.unlock();
      // EPIPE means the worker died; the result handler settles the chunk when it finalizes it.
      write_all(worker->to_worker.get(), *frame);
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
  done_cv_.notify_all();
}

}  // namespace dlpool::detail
