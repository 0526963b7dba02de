#pragma once
// The local transport's executor: a dlpool-worker process, its task pipe (fd 3), its result
// pipe (fd 4), its doorbell, its ledger and its shared arena. It runs one chunk at a time, in
// the order sent, and holds the ones behind it in its pipe.

#include "frame_reader.hpp"
#include "sys/cgroup.hpp"
#include "sys/child_process.hpp"
#include "sys/doorbell.hpp"
#include "sys/io.hpp"
#include "sys/ledger.hpp"
#include "sys/pipe_capacity.hpp"
#include "sys/shared_arena.hpp"
#include "sys/unique_fd.hpp"
#include "transport.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dlpool::detail {

class LocalWorker : public Executor {
 public:
  /// What LocalTransport::start makes for a worker.
  struct Parts {
    ChildProcess process;
    UniqueFd to_worker, doorbell, from_worker;
    Ledger ledger;
    SharedArena arena;  // none: every payload goes through the pipes
    std::optional<WorkerCgroup> cgroup;
    // The limits it runs under, to tell a death over them (loss_report).
    std::optional<std::chrono::seconds> cpu_time;
    std::optional<std::uint64_t> memory_bytes;
  };

  LocalWorker(Parts parts, std::uint32_t max_frame)
      : cgroup{std::move(parts.cgroup)},
        process{std::move(parts.process)},
        to_worker{std::move(parts.to_worker)},
        doorbell{std::move(parts.doorbell)},
        from_worker{std::move(parts.from_worker)},
        ledger{std::move(parts.ledger)},
        arena{std::move(parts.arena)},
        to_worker_capacity{to_worker.get()},
        reader{max_frame},
        cpu_time_{parts.cpu_time},
        memory_bytes_{parts.memory_bytes},
        task_ring{arena.capacity()} {}

  [[nodiscard]] std::size_t parallelism() const noexcept final { return 1; }
  /// No bound of its own: a write blocks once the pipe is full, and routing queues little.
  [[nodiscard]] std::size_t capacity() const noexcept final { return std::numeric_limits<std::size_t>::max(); }
  /// Rings the worker's doorbell if it waits on it, grows the pipe to hold the frames, then
  /// writes them, large payloads through the arena (local_worker.cpp). False: it is gone.
  bool send(std::span<const std::string_view> frames) final;
  bool send_small(std::string_view frame) final;
  /// Its ledger counts the chunks it started (see sys/ledger.hpp).
  [[nodiscard]] bool started(std::uint64_t seq) const noexcept final { return ledger.chunks_started() >= seq; }
  [[nodiscard]] std::string name() const final { return "worker " + std::to_string(process.pid()); }
  [[nodiscard]] int pid() const noexcept final { return process.pid(); }
  [[nodiscard]] int exit_fd() const noexcept final { return process.reaped() ? -1 : process.pidfd(); }
  bool try_reap() noexcept final {
    const auto status = process.try_reap();
    if (status) wait_status = *status;
    return status.has_value();
  }
  void expect_long_chunks(bool long_chunks) noexcept final { rings.store(long_chunks, std::memory_order_relaxed); }
  void abandon(std::string why) final { abandoned = std::move(why); }
  void close_input() noexcept final { to_worker.reset(); }
  [[nodiscard]] bool input_open() const noexcept final { return static_cast<bool>(to_worker); }
  void halt(bool now) noexcept final { process.kill(now ? SIGKILL : SIGTERM); }
  /// Once it is reaped and its pipe drained: who it was and how it ended, the chunks it held
  /// left for the caller to fill in (local_transport.cpp).
  [[nodiscard]] LossReport loss_report() const;

  // Its own, in PoolOptions::limits.cgroup, when in force. Before `process`, so destroyed after
  // it: a cgroup can be removed only once the process is gone.
  std::optional<WorkerCgroup> cgroup;
  ChildProcess process;        // worker handler reaps; others only read pid()
  UniqueFd to_worker;          // written by whoever holds Worker::writing; closed by the worker handler
  UniqueFd doorbell;           // see sys/doorbell.hpp
  // Its last chunk took doorbell_after_chunks_of or more: it waits on its doorbell. Set by the
  // result handler, read by whichever thread writes next.
  std::atomic<bool> rings{false};
  UniqueFd from_worker;        // read by whoever holds read_mutex
  Ledger ledger;               // the worker writes; read when it dies (LocalResultLoop::finish)
  // Large payloads, both ways (sys/shared_arena.hpp). The worker's hello says whether it mapped
  // it (arena_mapped): until then, and without one, everything goes through the pipes.
  SharedArena arena;
  std::atomic<bool> arena_mapped{false};
  PipeCapacity to_worker_capacity;  // grown for batches and for INIT (others write small frames)
  // Its result loop's (local_result_loop.hpp), or a caller's receiving its own answer: held by
  // whichever reads the result pipe, and guarding the reading state below.
  std::mutex read_mutex;
  FrameReader reader;
  bool channel_lost = false;   // EOF or protocol error on its result pipe: no longer read
  std::string protocol_error;  // why the host ended it for what it sent
  std::string abandoned;       // abandon()'s reason, until the loop ends it
  int wait_status = -1;        // reaped: its waitpid() status

  /// The reader's side of the arena, under read_mutex. The payload of `header`'s frame, read
  /// from the arena when the frame says it is there; nothing when the position or length it
  /// gives is outside the arena (`why` says so): the worker broke the protocol.
  std::optional<std::string_view> payload_of(const wire::FrameHeader& header, std::string_view payload,
                                             std::string& why);
  /// `header`'s frame has arrived: the task payload in the arena it answers, if any, may be
  /// written over. Before routing hears of it, so that the next payload finds the room.
  void answered(const wire::FrameHeader& header) noexcept;
  /// `header`'s frame, whose payload payload_of() gave, has been handled: a result payload in
  /// the arena may be written over.
  void handled(const wire::FrameHeader& header) noexcept;

 private:
  /// A task payload in the arena, freed once its chunk is answered.
  struct SharedTask {
    std::uint64_t job;
    std::uint32_t index;
    std::uint64_t end;  // its ring position's end
  };
  /// Puts `frame`'s payload in the arena and appends the frame that refers to it to `out`.
  /// False when it does not fit now (the frame then goes through the pipe as it is).
  bool share(std::string_view frame, std::string& out);

  // Before the bytes: a worker waiting on both is placed by this wake-up, not the pipe's.
  void ring() const noexcept {
    if (rings.load(std::memory_order_relaxed)) signal_eventfd(doorbell.get());
  }

  const std::optional<std::chrono::seconds> cpu_time_;
  const std::optional<std::uint64_t> memory_bytes_;
  // The task area's ring, used by whoever writes (under routing's Worker::writing), and freed
  // by whoever reads the answers: tasks_freed, and the task payloads not yet answered.
  RingWriter task_ring;
  std::atomic<std::uint64_t> tasks_freed_{0};
  std::atomic<std::size_t> shared_pending_{0};  // shared_tasks_.size(): read without the lock
  std::mutex shared_mutex_;
  std::deque<SharedTask> shared_tasks_;
  wire::SharedReference result_;  // under read_mutex: the last shared result read
};

}  // namespace dlpool::detail
