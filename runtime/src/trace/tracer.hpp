#pragma once
// The pool's trace (PoolOptions::trace): routing threads hand it records, which a thread of its
// own turns into the Chrome Trace Event Format file (chrome_trace.hpp) and the user's callback.
// Handing over is a push onto a vector under a lock of its own, so tracing costs the routing
// threads little; if the trace thread falls far behind (a slow disk), records are dropped and
// counted rather than held without bound or the pool slowed.

#include "chunk_trace.hpp"

#include <dlpool/observe.hpp>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dlpool::detail {

class ChromeTraceWriter;

class Tracer {
 public:
  using Clock = std::chrono::steady_clock;

  /// Opens the trace file, if any (throws std::system_error naming it), and starts the thread.
  /// `start`: the pool's time zero.
  Tracer(TraceOptions options, Clock::time_point start);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  void chunk(ChunkTrace record);
  void event(TraceEvent event);
  /// Writes what is left and completes the file. Idempotent; the destructor calls it.
  void close();
  /// Whether the calling thread is the trace's (running the callback).
  [[nodiscard]] bool on_its_thread() const noexcept;

  /// The track of the calling thread: a handler thread's, set by set_thread_track, or a caller
  /// thread's own (numbered on first use).
  static int thread_track() noexcept;
  static void set_thread_track(Track track) noexcept;

 private:
  void run();
  void run_rounds();
  /// Adds a record to `pending` (the lock held), unless closing or full (then it is dropped and
  /// counted); returns how many wait then, 0 if it was not added.
  template <class Record>
  std::size_t push(std::vector<Record>& pending, Record record);
  void deliver(std::vector<TraceEvent>& events, std::vector<ChunkTrace>& chunks);

  const TraceOptions options_;
  std::unique_ptr<ChromeTraceWriter> file_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<ChunkTrace> chunks_;
  std::vector<TraceEvent> events_;
  std::uint64_t dropped_ = 0;
  bool closing_ = false;
  std::jthread thread_;
  std::thread::id thread_id_;  // thread_'s, kept: joining thread_ forgets it
};

}  // namespace dlpool::detail
