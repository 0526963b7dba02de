// The task handler: CPython's _handle_tasks. It walks the queue in submission order, encodes one
// chunk at a time (so an imap input is read only as workers become free) and writes it to an idle
// worker. A worker holds at most one chunk, so the host always knows exactly what a dead worker
// was running.

#include "pool_impl.hpp"

#include "sys/io.hpp"

#include <cstdio>

namespace dlpool::detail {
namespace {

constexpr std::size_t retained_frame_capacity = 1 << 20;

/// When a chunk of `items` items, each allowed `per_item`, must be done by; saturates rather than
/// overflow for absurd limits.
Clock::time_point deadline_after(std::chrono::milliseconds per_item, std::size_t items) {
  const auto now = Clock::now();
  const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now);
  if (items != 0 && per_item > room / static_cast<std::int64_t>(items)) return Clock::time_point::max();
  return now + per_item * static_cast<std::int64_t>(items);
}

}  // namespace

bool PoolImpl::window_full(const JobRecord& record) const {
  return record.items_made + record.chunksize > record.consumed.load() + record.window_items;
}

std::shared_ptr<Worker> PoolImpl::idle_worker() const {
  for (const auto& w : workers_)
    if (w->ready && !w->retiring && !w->channel_lost && !w->wait_status && w->in_flight.empty()) return w;
  return nullptr;
}

void PoolImpl::task_handler() {
  block_sigpipe_in_this_thread();
  wire::BinaryEncoder encoder;
  std::string frame;
  std::shared_ptr<JobRecord> record;  // the submission being chunked
  std::unique_ptr<ChunkSource> source;
  std::optional<InFlight> encoded;  // the chunk in `frame`, waiting for an idle worker
  std::exception_ptr unsendable;    // why `encoded` cannot be sent, if it cannot

  std::unique_lock lock{mutex_};
  try {
    for (;;) {
      task_cv_.wait(lock, [&] {
        if (stop_tasks_ || state_ == State::terminate) return true;
        if (encoded) return unsendable || broken_ || encoded->record->cancelled || idle_worker() != nullptr;
        return record || !queue_.empty();
      });
      if (stop_tasks_ || state_ == State::terminate) break;

      if (!encoded) {
        if (!record) {
          record = std::move(queue_.front().first);
          source = std::move(queue_.front().second);
          queue_.pop_front();
        }
        if (record->cancelled) {  // no more input; it completes once its chunks are in
          record->input_ended = true;
          maybe_complete(record, lock);
          record.reset();
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
        lock.unlock();
        wire::begin_frame(frame, wire::FrameKind::task, record->id, record->chunks_made);
        frame += record->preamble;
        const auto count_at = frame.size();
        wire::put(frame, std::uint32_t{0});
        std::size_t count = 0;
        std::exception_ptr input_error;
        try {
          encoder.restart();
          count = source->next_chunk(frame, encoder);
        } catch (...) {
          input_error = std::current_exception();
        }
        if (count == 0) {
          // The input is over: the job learns its length first, then may complete.
          try {
            record->job->input_ended(record->items_made, input_error);
          } catch (...) {
          }
          lock.lock();
          record->input_ended = true;
          maybe_complete(record, lock);
          record.reset();
          source.reset();
          continue;
        }
        const auto n = static_cast<std::uint32_t>(count);
        std::memcpy(frame.data() + count_at, &n, sizeof n);
        wire::finish_frame(frame);
        if (const auto size = frame.size() - wire::header_size; size > options_.max_frame_bytes)
          unsendable = std::make_exception_ptr(EncodingError{
              "the arguments of chunk " + std::to_string(record->chunks_made) + " of " + record->task.plugin + "." +
              record->task.task + " take " + std::to_string(size) + " bytes, over the frame limit of " +
              std::to_string(options_.max_frame_bytes)});
        lock.lock();
        encoded = InFlight{record, record->chunks_made++, record->items_made, count, std::nullopt};
        record->items_made += count;
        continue;
      }

      // A chunk that cannot be sent, or a pool whose workers cannot start, fails here rather than
      // waiting forever (CPython: a task that cannot be sent fails its job slot).
      if (encoded->record->cancelled && !unsendable) unsendable = cancelled_error(*encoded->record);
      if (const auto error = unsendable ? std::exchange(unsendable, nullptr) : broken_) {
        const auto chunk = *std::exchange(encoded, std::nullopt);
        lock.unlock();
        report_chunk(chunk, error);
        lock.lock();
        continue;
      }

      auto worker = idle_worker();
      auto& chunk = worker->in_flight.emplace_back(*std::exchange(encoded, std::nullopt));
      if (chunk.record->timeout) {
        chunk.deadline = deadline_after(*chunk.record->timeout, chunk.count);
        if (*chunk.deadline < next_deadline_) signal_eventfd(worker_wake_.get());  // sooner than it planned
      }
      if (options_.maxtasksperchild && ++worker->chunks_sent >= static_cast<unsigned>(*options_.maxtasksperchild))
        worker->retiring = true;
      lock.unlock();
      // EPIPE means the worker died; the result handler fails the chunk when it finalizes it.
      write_all(worker->to_worker.get(), frame);
      worker.reset();
      if (frame.capacity() > retained_frame_capacity) std::string{}.swap(frame);  // don't pin a huge one
      lock.lock();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlpool: task handler failed: %s; terminating the pool\n", e.what());
    if (!lock.owns_lock()) lock.lock();
    state_ = State::terminate;
    signal_eventfd(worker_wake_.get());
  }
  task_handler_done_ = true;
  done_cv_.notify_all();
}

}  // namespace dlpool::detail
