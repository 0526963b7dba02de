#pragma once
// The local transport's loop: it waits on every worker's result pipe with epoll, reassembles and
// decodes frames, and tells routing what it heard through TransportEvents. It runs on the pool's
// result handler thread (run()), which so runs routing's result work and callbacks. It finalizes
// workers the reaper has reaped: whatever they wrote before dying is drained first, so a result
// that raced its worker's exit is delivered, not mistaken for a lost chunk.

#include "frame_reader.hpp"
#include "local_worker.hpp"
#include "result_payload.hpp"
#include "sys/unique_fd.hpp"
#include "transport.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dlpool::detail {

class LocalResultLoop {
 public:
  /// Makes its epoll set and wake-up eventfd (throws if it cannot).
  explicit LocalResultLoop(TransportEvents& events);
  LocalResultLoop(const LocalResultLoop&) = delete;
  LocalResultLoop& operator=(const LocalResultLoop&) = delete;

  // From any thread:
  /// Reads `worker`'s results from the next round on.
  void watch(std::shared_ptr<LocalWorker> worker);
  /// `worker` is reaped: its pipe is drained, and its loss reported (on_closing if not yet,
  /// then on_lost); the loop then lets go of it.
  void finalize(std::shared_ptr<LocalWorker> worker);
  /// Runs a round: routing's on_idle.
  void wake() const;
  /// run() returns after this round.
  void stop();
  /// Transport::receive: the calling thread reads `worker`'s frames until `done`, or returns at
  /// once, or once the worker exits or its pipe closes or breaks the protocol (then the loop
  /// reads it again). Returns whether this thread handled the frame that made it `done`.
  bool receive(const std::shared_ptr<LocalWorker>& worker, const std::atomic<bool>& done);

  /// The loop itself, until stop(): on the thread that is to run routing's result work.
  void run();

 private:
  // With worker.read_mutex held, from the loop or a receiving caller (`scratch`: the thread's).
  FrameReader::Fill read(LocalWorker& worker, ParsedResult& scratch);
  /// receive(): puts a worker back in the epoll set when it goes out of scope.
  class Rewatch {
   public:
    Rewatch(LocalResultLoop& loop, LocalWorker& worker) noexcept : loop_{loop}, worker_{worker} {}
    Rewatch(const Rewatch&) = delete;
    Rewatch& operator=(const Rewatch&) = delete;
    ~Rewatch();

   private:
    LocalResultLoop& loop_;
    LocalWorker& worker_;
  };
  /// receive(): bytes from `worker`'s pipe (data), or `eof`: EOF, it exited, or this thread
  /// cannot wait on it.
  static FrameReader::Fill await_bytes(LocalWorker& worker);
  /// False: it is ended, read no more of it.
  bool handle_frame(LocalWorker& worker, const wire::FrameHeader& header, std::string_view payload,
                    ParsedResult& scratch);
  /// Its result pipe is no longer read (EOF, or `why`: the protocol error it is ended for); routing
  /// hears of it (on_closing).
  void lose_channel(LocalWorker& worker, std::string why);

  void finish(const std::shared_ptr<LocalWorker>& worker);

  TransportEvents& events_;
  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd: new workers, workers to finalize, completions, stop
  // The loop's own (run() only).
  std::unordered_map<const LocalWorker*, std::shared_ptr<LocalWorker>> watched_;  // in the epoll set
  ParsedResult parsed_;  // the result being handled, its vector reused

  std::mutex mutex_;  // guards the hand-over below
  std::vector<std::shared_ptr<LocalWorker>> to_watch_, to_finalize_;
  std::vector<std::shared_ptr<LocalWorker>> to_read_;  // a receiver left bytes in their readers
  bool stop_ = false;
};

}  // namespace dlpool::detail
