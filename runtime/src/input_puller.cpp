// Input pullers: an imap over a generator has its input read on a thread of its own.
//
// A generator is the caller's code, and may block for as long as it likes: on a pipe, or on a
// window of its own (`dlpool map` holds its input back while the results it must write in order
// wait for an earlier one). The chunks of a worker that died are sent again by the task handler;
// had the task handler been the thread blocked in the generator, the result the generator waits
// for would never come (issue: `dlpool map` stopped for good when a worker died holding queued
// chunks). So the task handler never calls a generator: it hands the job to a puller and goes on
// with the queue, and the puller puts each chunk it reads in ready_, where the task handler
// finds it like any other. Calls submitted after such an imap therefore do not wait for its
// input, as they do not wait for an imap held back by its consumer.
//
// A puller reads ahead only as far as workers take its chunks (a chunk per worker's queue) and
// as the imap window allows; it ends when the input does, or when the job is cancelled or the
// pool terminates. Its source, the caller's generator, is destroyed on its thread, outside the
// pool lock.

#include "pool_impl.hpp"

#include "log/log.hpp"

#include <algorithm>

namespace dlpool::detail {

void PoolImpl::start_puller(std::shared_ptr<JobRecord> record, std::unique_ptr<ChunkSource> source) {
  // Called with the pool lock held. Pullers that have finished are joined here (at once: they
  // have left pull_input), so a long-lived pool does not collect them.
  std::erase_if(pullers_, [](const Puller& p) { return p.done; });
  record->pulled = true;
  auto& puller = pullers_.emplace_back();
  puller.thread = std::jthread{[this, record = std::move(record), source = std::move(source), &puller]() mutable {
    try {
      pull_input(record, std::move(source));
    } catch (...) {  // out of memory: the job ends its input with the error, rather than wait forever
      const auto error = std::current_exception();
      std::unique_lock lock{mutex_};
      if (!record->input_ended && !record->cancelled) end_input(record, error, lock);
    }
    std::lock_guard lock{mutex_};
    puller.done = true;
  }};
}

void PoolImpl::pull_input(const std::shared_ptr<JobRecord>& record, std::unique_ptr<ChunkSource> source) {
  wire::BinaryEncoder encoder;
  std::unique_lock lock{mutex_};
  const auto stopping = [&] { return stop_tasks_ || state_ == State::terminate || record->cancelled; };
  for (;;) {
    // As many chunks may wait in ready_ as the workers' queues hold: enough for every worker that
    // frees up to find work there, and for the task handler to batch short ones, without reading
    // further ahead.
    const auto ahead = static_cast<std::size_t>(processes_) * queue_cap(*record);
    pull_cv_.wait(lock, [&] { return stopping() || (record->unsent < ahead && !record->parked); });
    if (stopping()) break;
    // A full window waits for its consumer, whose resume() clears `parked` and wakes us.
    if (record->window_items != 0 && window_full(*record, record->items_made)) {
      (void)hold_back(*record);
      continue;
    }
    const auto index = record->chunks_made;
    const auto first = record->items_made;
    lock.unlock();
    std::exception_ptr input_error;
    auto chunk = encode_chunk(*record, index, *source, encoder, input_error);
    const auto read_at = Clock::now();  // when its items entered the pool
    lock.lock();
    // Cancelled meanwhile: the job completes without this chunk (cancel() ended its input).
    if (stopping()) break;
    if (chunk) {
      record->frame_hint = chunk->frame.size();
      ready_.push_back(InFlight{record,
                                index,
                                first,
                                chunk->count,
                                std::make_shared<const std::string>(std::move(chunk->frame)),
                                {},
                                std::nullopt,
                                true});
      ready_.back().entered = read_at;
      ++record->unsent;
      record->chunks_made = index + 1;
      record->items_made = first + chunk->count;
      stats_.submitted(*record->book, chunk->count);
      task_cv_.notify_one();
      continue;
    }
    end_input(record, input_error, lock);
    break;
  }
  lock.unlock();
  source.reset();  // the caller's generator: not destroyed under the pool lock
}

void PoolImpl::taken_from_ready(InFlight& chunk) {
  if (!chunk.unsent) return;
  chunk.unsent = false;  // a chunk sent again later is not the puller's to count
  --chunk.record->unsent;
  pull_cv_.notify_all();
}

void PoolImpl::join_pullers() {
  std::list<Puller> pullers;
  {
    std::lock_guard lock{mutex_};
    pullers.swap(pullers_);
  }
  // Each stops on terminate, or once its input has ended. Joined before the list is cleared:
  // a thread still running writes its Puller::done.
  for (auto& puller : pullers) puller.thread.join();
}

}  // namespace dlpool::detail
