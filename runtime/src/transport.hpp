#pragma once
// The seam between routing and transport.
//
// Routing (PoolImpl: task_handler.cpp, input_puller.cpp, most of result_handler.cpp) owns the
// queues, chunking, CPython's order, retries, deadlines, callbacks and the job cache. Transport
// owns how an encoded TASK frame reaches an executor and how its RESULT frame comes back. Today
// there is one transport, local worker processes over pipes (local_transport.hpp: the fork
// server, the doorbell, the ledger, cgroups and rlimits). The MPI scale-out adds a second, where
// an executor is an agent rank running a whole local pool.
//
// What routing may assume of an executor, and so what a transport must provide:
//  - it holds several chunks at once: up to capacity(), of which parallelism() run at the same
//    time (a local worker: 1 running, the rest queued in its pipe; an agent: its credits, run by
//    its own workers). Frames sent to one executor reach it in the order sent.
//  - a chunk is named by its ChunkId (job, index in the job), never by a pid or an executor: the
//    same chunk may be sent to another executor after its first one is lost.
//  - the events below come back for it in this order: ready (it may take work; once, if it
//    gets that far), any number of results, plugin reports and retire announcements, closing
//    (once: nothing more comes from it), then lost (once: it is gone) with the chunks it held,
//    each either started (it may have run: it fails) or not started (it may be sent again).
//
// What is where:
//  - transport.hpp (this file): the seam. Executor and Transport, which a transport implements;
//    LossReport, what it says of an executor it lost; TransportEvents, which routing implements
//    and the transport calls (ready, result, retired, plugin, closing, lost; idle, between rounds).
//  - routing: PoolImpl (pool_impl.hpp) implements TransportEvents (result_handler.cpp) and owns
//    Worker, its record of an executor: its phase (worker_phase.hpp) and the chunks it holds.
//    on_lost is the one place that settles a lost executor's chunks: the started ones fail
//    (WorkerLostError, TaskTimeout, ResourceLimitError, Cancelled, ProtocolError, by routing's
//    reason to stop it and the report's cause), and so does the first one routing stopped it
//    over (timeout, cancel) or it broke the protocol on; the others go back to retry_, ahead of
//    anything not yet sent.
//  - the local transport: LocalTransport (local_transport.hpp: starting workers, limits, the
//    probe), LocalWorker (local_worker.hpp: one worker's pipes, doorbell, ledger; its
//    loss_report()), LocalResultLoop (local_result_loop.hpp, owned by LocalTransport: the epoll
//    loop over the result pipes, which decodes frames, calls the events, ends a worker that
//    breaks the protocol, and drains a reaped worker before reporting its loss). The loop runs
//    on the pool's result handler thread (PoolImpl::result_handler runs it), so that callbacks
//    run there as CPython's do.
// Routing holds an executor through its Worker record (Executor::route leads back to it) and
// starts executors through Transport::start. The local transport's executors have processes
// of the host's own: the worker handler polls their exit_fd (a pidfd) and reaps them
// (try_reap), then Transport::finalize; the MPI transport (mpi/) learns of an end itself and
// reports it unprompted. Still local-only: a result is matched to the chunk at the front of
// its executor's queue (one running at a time), not looked up by ChunkId, and so a transport
// may leave LossReport::held for routing to fill in from that queue.

#include "result_payload.hpp"

#include <dlpool/wire/plugin_report.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dlpool::detail {

/// A chunk, the same wherever it runs and however often it is sent.
struct ChunkId {
  std::uint64_t job = 0;
  std::uint32_t chunk = 0;
  friend bool operator==(const ChunkId&, const ChunkId&) = default;
};

/// A chunk an executor held when it was lost.
struct HeldChunk {
  ChunkId id;
  bool started = false;  // it may have run: it fails; otherwise it may be sent again
};

/// What a transport tells routing of an executor it has lost, once it has delivered all the
/// executor sent: who it was, how it ended, and the chunks it held.
struct LossReport {
  /// A resource limit it was killed for going over.
  enum class Limit : std::uint8_t { none, cpu_time /* SIGXCPU */, memory /* its cgroup's OOM killer */ };

  std::string executor;  // for messages: "worker 4121"
  int pid = 0;           // a local process's, for WorkerLostError and TaskTimeout
  std::string cause;     // how it ended: "exited with status 3", or the protocol error it broke
  bool broke_protocol = false;  // the transport ended it for what it sent (`cause` says what)
  int wait_status = -1;         // a local process's waitpid() status (-1: unknown), for WorkerLostError
  bool killed = false;          // by SIGKILL not sent for a protocol error: after a stop's grace
                                // period, or from outside (an operator, the OOM killer)
  Limit over = Limit::none;
  std::string limit;  // `over`, for messages: "CPU-time limit of 2 s per item", "memory limit of 1 MiB (...)"
  std::int64_t cpu_seconds_per_item = 0;  // over cpu_time: RLIMIT_CPU
  // In the order it was given them. Empty from a transport that does not know its chunks by
  // ChunkId (the local one): routing then fills it in from its own queue and started().
  std::vector<HeldChunk> held;
};

/// The base of the interfaces below: used through pointers and references, never copied, and
/// destroyed through the base.
class Interface {
 public:
  Interface(const Interface&) = delete;
  Interface& operator=(const Interface&) = delete;
  virtual ~Interface() = default;

 protected:
  Interface() = default;
};

struct Worker;  // routing's record of an executor (pool_impl.hpp)

/// Where chunks run, as routing sees it. Routing's own bookkeeping of an executor (its phase,
/// the chunks it holds) lives beside it, in Worker; this is what a transport implements.
class Executor : public Interface {
 public:
  /// Routing's record of it, set by routing before the transport reports anything of it; the
  /// record outlives every event the transport sends for it.
  Worker* route = nullptr;

  /// The process that runs its chunks, for messages and errors (a remote one's pid on its node).
  [[nodiscard]] virtual int pid() const noexcept = 0;
  /// Its node and the MPI rank it is reached through: "" and 0 for this machine.
  [[nodiscard]] virtual std::string node() const { return {}; }
  [[nodiscard]] virtual int rank() const noexcept { return 0; }
  /// Readable once its process has exited, for the worker handler to reap it (try_reap), or -1:
  /// the transport learns of its end itself, and reports it with on_lost unprompted.
  [[nodiscard]] virtual int exit_fd() const noexcept { return -1; }
  /// Reaps it once exit_fd() is readable: true once it is gone (Transport::finalize follows).
  virtual bool try_reap() noexcept { return false; }
  /// Routing's measure of its chunks: long ones (`long_chunks`) leave it time to sleep between
  /// them, and a transport may ring it awake before the next one (see sys/doorbell.hpp).
  virtual void expect_long_chunks(bool /*long_chunks*/) noexcept {}
  /// How many chunks it runs at the same time.
  [[nodiscard]] virtual std::size_t parallelism() const noexcept = 0;
  /// How many chunks it can hold at once, the running ones included; routing holds it to fewer
  /// for chunks not known to be short (queue_cap).
  [[nodiscard]] virtual std::size_t capacity() const noexcept = 0;
  /// Sends encoded frames, in order, after those sent before. May block while the executor's
  /// channel is full; one sender at a time (routing's Worker::writing). False: the executor is
  /// gone, and routing hears of it as a loss.
  virtual bool send(std::span<const std::string_view> frames) = 0;
  /// Sends one small frame without blocking, from a thread whose signal mask is left as found
  /// (a caller's, or one that runs callbacks).
  virtual bool send_small(std::string_view frame) = 0;
  /// Once it is lost: whether it had started the `seq`th chunk routing gave it (1, 2, ...). A
  /// chunk it never started may be sent again without running twice.
  [[nodiscard]] virtual bool started(std::uint64_t seq) const noexcept = 0;
  /// Who it is, for messages: "worker 4121".
  [[nodiscard]] virtual std::string name() const = 0;
  /// Tells it no more work comes: it exits once done with what it holds (a local worker: EOF on
  /// its task pipe). Not while a send to it is under way (routing's Worker::writing).
  virtual void close_input() noexcept = 0;
  /// Whether close_input() is still to come.
  [[nodiscard]] virtual bool input_open() const noexcept = 0;
  /// Asks it to stop at once, whatever it runs (a local worker: SIGTERM), or (`now`) ends it
  /// (SIGKILL). Routing calls it under the lock that orders it with the executor's reaping.
  virtual void halt(bool now) noexcept = 0;
  /// Routing gives it up (`why`: a write to it failed), from within an event for it: the
  /// transport ends it as for a protocol error, once that event returns.
  virtual void abandon(std::string why) = 0;
};

/// What a transport tells routing of its executors, from the transport's own thread (or from a
/// caller's, while it receives its own answer: Transport::receive, one thread at a time): for each
/// executor, in the order given at the top. The executor stays alive through each call.
class TransportEvents {
 public:
  /// It speaks the host's protocol (said HELLO): routing may give it work, once the pool's
  /// initializer, if any, has run in it.
  virtual void on_ready(Executor& executor) = 0;
  /// It answered chunk `id` (job 0: the pool's initializer) with `result`. Returns why that
  /// answer breaks the protocol (the transport then ends the executor), or an empty string.
  virtual std::string on_result(Executor& executor, ChunkId id, const ParsedResult& result) = 0;
  /// It takes no more work, and exits once done with what it holds (`why`: its own words).
  virtual void on_retired(Executor& executor, std::string_view why) = 0;
  /// It loaded a plugin, as it reports (for WorkerInfo, and for executors started later).
  virtual void on_plugin(Executor& executor, wire::PluginReport report) = 0;
  /// Nothing more is heard from it: its channel closed, or the transport ended it because it
  /// broke the protocol (`broke_protocol`). Routing stops it if that was not expected, and once
  /// it is gone hears of it as a loss.
  virtual void on_closing(Executor& executor, bool broke_protocol) = 0;
  /// The transport's loop is about to wait: routing runs here what it handed to this thread
  /// (job completions, and so callbacks, which run on it).
  virtual void on_idle() = 0;
  /// It is gone: the chunks it held, started or not, are routing's again.
  virtual void on_lost(Executor& executor, LossReport report) = 0;

 protected:
  ~TransportEvents() = default;
};

/// How executors are made, for a pool. Their events (TransportEvents, above) reach the pool's
/// routing from the transport's own loop.
class Transport : public Interface {
 public:
  /// A new executor, `id` in routing's numbering (`plugins`: what the pool's executors have
  /// loaded, for the transport to prepare ahead). Routing sets its route, then watch()es it.
  virtual std::shared_ptr<Executor> start(std::uint64_t id, std::span<const std::string> plugins) = 0;
  /// Its events reach routing from the next round of the loop on.
  virtual void watch(std::shared_ptr<Executor> executor) = 0;
  /// It is reaped (Executor::try_reap): what it sent is delivered, then its loss reported.
  virtual void finalize(std::shared_ptr<Executor> executor) = 0;
  /// The transport's loop, which calls the events, until stop(): on the thread that is to run
  /// routing's result work and callbacks (the pool's result handler).
  virtual void run() = 0;
  /// Runs a round of the loop soon: routing's on_idle.
  virtual void wake() = 0;
  /// run() returns after this round.
  virtual void stop() = 0;
  /// What runs the executors, for messages: the worker executable's path.
  [[nodiscard]] virtual std::string describe() const = 0;
  /// How many executors it can run at once now (MPI: the workers of the agents still alive);
  /// nothing: as many as routing asks for.
  [[nodiscard]] virtual std::optional<std::size_t> room() const { return std::nullopt; }
  /// Checks that an executor started now would load `plugins` (Pool::restart): throws the
  /// reason it would not. Blocks until it knows.
  virtual void probe(const std::vector<std::string>& plugins) = 0;
  /// The limits each executor runs under, for WorkerInfo::limits.
  [[nodiscard]] virtual const std::string& limits_in_force() const noexcept = 0;
  /// No executor is started from here on; those running are not affected. `wait`: until the
  /// transport's helpers (a fork server) are gone.
  virtual void stop_starting(bool wait) noexcept = 0;
  /// A two-hop answer: the calling thread, which blocks on a job whose one chunk `executor`
  /// runs, reads its frames itself and hands each to routing until `done` (routing sets it as
  /// the answer completes the job), instead of waiting for the loop to read the answer and then
  /// wake it. Frames after the answer are left to the loop. Returns at once when it cannot (the
  /// loop is reading that executor now, it is gone, or the transport cannot), and once the
  /// executor exits, its answer unread: the loop then delivers what it sent, as ever. Returns
  /// whether this thread handled the answer. Events so run on the caller's thread.
  virtual bool receive(const std::shared_ptr<Executor>& /*executor*/, const std::atomic<bool>& /*done*/) {
    return false;
  }
  /// Whether receive() can read answers at all.
  [[nodiscard]] virtual bool can_receive() const noexcept { return false; }
};

}  // namespace dlpool::detail
