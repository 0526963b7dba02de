#pragma once
// The untyped core of Pool: CPython's three handler threads over per-worker pipes.
//
// Threads and what they touch (everything shared is guarded by mutex_):
//  - task handler (task_handler.cpp): pops submissions, encodes chunks (outside the lock: the
//    current source and its frame buffer are its own), hands each to an idle worker and writes
//    the frame.
//  - result handler (result_handler.cpp): runs the local transport's result loop
//    (local_result_loop.hpp: the epoll set, every worker's FrameReader), which calls routing
//    through TransportEvents: gives a worker that answered its last chunk the next encoded one
//    (give_next_ready); routes results to jobs, completes jobs and so runs every callback (other
//    threads hand it completions through to_complete_), and settles workers that exited: the
//    chunk one was running fails (WorkerLostError, or the error of the limit it went over), the
//    chunks it had not started are sent again, and the slot is erased.
//  - worker handler (worker_handler.cpp): owns spawning and reaping: replaces workers, notices
//    exits through pidfds, enforces task deadlines and the SIGTERM -> SIGKILL grace period of
//    workers being stopped (timeout, cancel), and runs the close and terminate sequences.
//  - input pullers (input_puller.cpp): one thread per imap over a generator, the only code that
//    calls it. A generator may block (on a pipe, on the window of a consumer that waits for a
//    lost chunk to come round again); the task handler, which sends lost chunks again, must not
//    be the thread it blocks.
// Result handles reach the pool through PoolLink (cancel, imap consumption), from any thread.
// Routing stops at transport.hpp: how a worker is made, written to and probed is the local
// transport's (local_transport.hpp, local_worker.hpp), and what it hears of its workers reaches
// routing as TransportEvents (on_ready, on_result, on_plugin, on_retired, on_closing, on_lost,
// on_idle), which PoolImpl implements; a worker's life is one state machine (worker_phase.hpp).
// A Worker is shared_ptr-owned so that the task handler can finish a write to a worker that the
// result handler has just erased: its fds close only when the last user lets go.

#include <dlpool/detail/job.hpp>
#include <dlpool/pool.hpp>
#include <dlpool/wire/plugin_report.hpp>

#include "result_payload.hpp"
#include "stats/stats_book.hpp"
#include "sys/unique_fd.hpp"
#include "trace/tracer.hpp"
#include "transport.hpp"
#include "worker_phase.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace dlpool::detail {

using Clock = std::chrono::steady_clock;

/// A chunk encoded as a complete TASK frame.
struct EncodedChunk {
  std::string frame;
  std::size_t count = 0;
};

/// A submission's bookkeeping in the cache (job id -> JobRecord).
struct JobRecord {
  std::uint64_t id = 0;
  TaskRef task;
  std::string preamble;  // codec, plugin, task, signature: encoded once, copied into every frame
  std::shared_ptr<Job> job;
  std::size_t frame_hint = 256;   // task handler: bytes its last frame took, reserved for the next
  std::uint32_t chunks_made = 0;  // encoded by the task handler
  std::uint32_t chunks_done = 0;  // reported (success or failure)
  std::size_t items_made = 0;
  std::optional<std::chrono::milliseconds> timeout;  // per item: the call's, else the pool's
  // How long chunks take (guarded by the pool lock): a job's own chunks are the best guide; until
  // one is back, its task's time per item from earlier jobs, scaled to this job's chunk size (per
  // item, so that the 1-item chunks of apply do not pass a map's large chunks off as short).
  TaskBook* book = nullptr;  // the task's record in PoolImpl::stats_: its item_time, its counts
  Clock::time_point submitted{};  // when it was submitted
  Average chunk_time;
  std::optional<EncodedChunk> first_chunk;  // apply_async: encoded by the caller, not yet sent
  bool callbacks = true;  // Submission::callbacks
  // Its one chunk went straight to this idle executor, and it has no callbacks: the caller may
  // read the answer itself (receive). Taken by the first to try.
  std::shared_ptr<Executor> receive_from;
  std::size_t chunksize = 1;  // items per chunk, the last excepted
  // imap: input is pulled only while items_made + chunksize <= consumed + window_items.
  std::size_t window_items = 0;  // 0: unbounded
  std::atomic<std::size_t> consumed{0};  // written by the consumer without the pool lock
  std::atomic<bool> parked{false};       // in PoolImpl::parked_, waiting for the consumer...
  std::atomic<std::size_t> resume_at{0};  // ...to have consumed this many (set before `parked`)
  [[nodiscard]] bool held_back() const { return consumed.load() < resume_at.load(); }
  bool input_ended = false;
  bool pulled = false;      // its input is read by an input puller (a generator)
  std::size_t unsent = 0;   // pulled: chunks the puller put in ready_ that no worker took yet
  std::atomic<bool> cancelled{false};  // written under the pool lock; report_chunk reads it without
  std::atomic<bool> completed{false};  // written under the pool lock; a receiver reads it without
  std::size_t items_ended = 0;  // in chunks reported (pool lock)
  bool aborted = false;         // failed as a whole by terminate: its chunks no longer count
};

/// How many chunks of `record` a worker may hold at once, the running one included: 1 unless its
/// chunks are known to be short (see task_handler.cpp).
std::size_t queue_cap(const JobRecord& record);

/// The error a cancelled job's results fail with.
std::exception_ptr cancelled_error(const JobRecord& record);
/// "TaskError: what it says", for the trace.
std::string describe_error(const std::exception_ptr& error);

/// A chunk a worker holds.
struct InFlight {
  std::shared_ptr<JobRecord> record;
  std::uint32_t chunk = 0;
  std::size_t first = 0;
  std::size_t count = 0;
  std::shared_ptr<const std::string> frame;   // kept to send again if its worker dies before starting it
  Clock::time_point started{};                 // when it reached the front of its worker's queue
  std::optional<Clock::time_point> deadline;  // when its worker is stopped for a timeout
  bool unsent = false;  // made by an input puller, counted in its record's `unsent` until taken
  std::uint64_t seq = 0;  // its place among the chunks given to its worker (1, 2, ...)
  [[nodiscard]] ChunkId id() const noexcept { return {record->id, chunk}; }
  // How many workers died holding it before starting it: it is sent again only so often, in
  // case it is what kills them before they start it (a frame too large for a memory limit).
  unsigned deaths_before_start = 0;
  // For the statistics, and the trace when there is one:
  Clock::time_point entered{};   // its items entered the pool: the job's submission, or read by an imap
  Clock::time_point received{};  // its result was read, or its loss settled
  std::uint64_t run_start_ns = 0, run_end_ns = 0;  // in its worker, on that worker's clock (0: unknown)
  unsigned sends = 0;                              // times it was given to a worker
  // The trace's only (set only with one): who wrote its frame, and when the write began and ended.
  int sender = 0;
  Clock::time_point sent{}, written{};
  std::uint64_t worker = 0;  // Worker::id of the last worker given it...
  int rank = 0;              // ...and the trace's: the MPI rank it is reached through
};

/// How many times a chunk whose workers die before starting it is sent again, at most.
inline constexpr unsigned max_deaths_before_start = 2;

/// Routing's record of an executor: its phase and the chunks it holds. The executor itself is
/// the transport's (transport.hpp); the calls below are its, for brevity.
struct Worker final {
  /// Why the pool stopped this worker, which decides how its chunk fails.
  enum class Stop { no, timeout, cancel, terminate, lost /* its result pipe closed */, start_timeout };

  Worker(std::uint64_t id, std::shared_ptr<Executor> executor) : id{id}, executor{std::move(executor)} {
    this->executor->route = this;
  }

  bool send(std::span<const std::string_view> frames) const { return executor->send(frames); }
  bool send_small(std::string_view frame) const { return executor->send_small(frame); }
  [[nodiscard]] bool started(std::uint64_t seq) const noexcept { return executor->started(seq); }
  [[nodiscard]] std::string name() const { return executor->name(); }
  [[nodiscard]] int pid() const noexcept { return executor->pid(); }
  void close_input() const noexcept { executor->close_input(); }
  [[nodiscard]] bool input_open() const noexcept { return executor->input_open(); }
  void halt(bool now) const noexcept { executor->halt(now); }
  void abandon(std::string why) const { executor->abandon(std::move(why)); }
  [[nodiscard]] std::size_t parallelism() const noexcept { return executor->parallelism(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return executor->capacity(); }

  const std::uint64_t id;
  const std::shared_ptr<Executor> executor;
  WorkerLife life;             // its phase: see worker_phase.hpp
  bool init_sent = false;      // worker handler: the INIT frame went out first
  Clock::time_point start_deadline = Clock::time_point::max();  // stopped if not ready by then
  Stop stop = Stop::no;        // why it was stopped (set on entering WorkerPhase::stopping)
  bool closed = false;         // nothing more is heard from it (on_closing): it takes no work
  Clock::time_point kill_at{};  // exiting or stopping: when SIGKILL is due
  bool asked_to_exit = false;   // expect_exit(): a SIGKILL after kill_grace is not a loss
  std::deque<InFlight> in_flight;  // sent, not yet answered; the front one is running
  // A thread writes a frame to it outside the pool lock: nobody else may write until it is done,
  // or frames longer than PIPE_BUF could interleave, or reach the worker out of in_flight's order.
  bool writing = false;
  std::uint64_t chunks_assigned = 0;  // InFlight::seq of the last chunk given to it
  std::uint64_t chunks_written = 0;   // the trace's: InFlight::seq of the last chunk written to it
  unsigned chunks_sent = 0;
  unsigned generation = 0;        // see PoolImpl::restart
  std::uint64_t items_done = 0, items_failed = 0;
  std::vector<wire::PluginReport> plugins;  // as it reported loading them
};

/// What result handles reach the pool through; the pool detaches itself when destroyed, so a
/// handle that outlives it does nothing.
struct PoolLink {
  std::mutex mutex;
  class PoolImpl* pool = nullptr;
};

class PoolImpl final : private TransportEvents {
 public:
  explicit PoolImpl(PoolOptions options);
  ~PoolImpl();

  std::shared_ptr<JobControl> submit(Submission submission);
  // JobControl, through PoolLink
  bool cancel(const std::shared_ptr<JobRecord>& record, bool kill);
  void resume(const std::shared_ptr<JobRecord>& record);
  /// JobControl::receive. Called with the PoolLink's lock held, which it releases (`link`)
  /// before it blocks: join() waits for receivers instead.
  void receive(const std::shared_ptr<JobRecord>& record, std::unique_lock<std::mutex>& link);

  void close();
  void terminate();
  void join();
  [[nodiscard]] int processes() const noexcept { return processes_; }
  /// Whether the calling thread is the result handler of `pool` (running a callback); `pool` is
  /// only compared, so it may be gone.
  [[nodiscard]] static bool on_result_thread(const PoolImpl* pool) noexcept { return result_thread_of_ == pool; }
  [[nodiscard]] std::vector<int> worker_pids() const;
  void restart();
  [[nodiscard]] std::vector<WorkerInfo> workers() const;
  // observe.cpp
  [[nodiscard]] PoolStats stats() const;
  void trace_mark(std::string_view name, std::string_view json_object);

 private:
  enum class State { run, close, terminate };

  // worker_handler.cpp
  void worker_handler();
  /// `plugins`: what the pool's workers have loaded, for the fork server to inspect ahead.
  std::shared_ptr<Worker> spawn_worker(std::uint64_t id, std::span<const std::string> plugins = {});
  void send_initializer(Worker& worker);
  void poll_exits(std::unique_lock<std::mutex>& lock, int timeout_ms);
  void maintain_pool(std::unique_lock<std::mutex>& lock);
  /// Sends INIT to every worker that has not had it (outside the lock: a large one blocks).
  void send_initializers(std::unique_lock<std::mutex>& lock);
  /// The worker was asked to exit, or exits on its own: SIGKILL if it has not after kill_grace.
  void expect_exit(Worker& worker);
  void shut_down_workers(std::unique_lock<std::mutex>& lock);
  int enforce_deadlines();
  void fail_everything_pending(std::unique_lock<std::mutex>& lock, std::exception_ptr error);

  // input_puller.cpp
  void start_puller(std::shared_ptr<JobRecord> record, std::unique_ptr<ChunkSource> source);
  void pull_input(const std::shared_ptr<JobRecord>& record, std::unique_ptr<ChunkSource> source);
  /// A chunk leaves ready_ (taken by a worker, or failed unsent): its puller may pull the next.
  void taken_from_ready(InFlight& chunk);
  void join_pullers();

  // task_handler.cpp
  void task_handler();
  /// Whether an imap's next chunk would pull past its window, `items_made` items being pulled.
  [[nodiscard]] static bool window_full(const JobRecord& record, std::size_t items_made);
  [[nodiscard]] static std::size_t resume_point(const JobRecord& record);
  /// An imap whose window is full waits for its consumer: returns whether it is held back
  /// (`parked` then stays set until resume()).
  [[nodiscard]] static bool hold_back(JobRecord& record);
  /// The input of `record` is over after its items_made items (`error`: reading it threw): the
  /// job learns its length first (outside the lock), then may complete. Called with the lock.
  void end_input(const std::shared_ptr<JobRecord>& record, std::exception_ptr error,
                 std::unique_lock<std::mutex>& lock);
  std::optional<EncodedChunk> encode_chunk(const JobRecord& record, std::uint32_t index, ChunkSource& source,
                                           wire::BinaryEncoder& encoder, std::exception_ptr& input_error) const;
  std::exception_ptr unsendable(const InFlight& chunk) const;
  std::shared_ptr<Worker> worker_for(const JobRecord& record) const;
  [[nodiscard]] bool may_queue_behind(const Worker& worker, const JobRecord& record) const;
  InFlight take_first_chunk(const std::shared_ptr<JobRecord>& record);
  void assign(Worker& worker, InFlight chunk);
  void start_chunk(InFlight& chunk);
  struct DirectSend {
    std::shared_ptr<Worker> worker;
    std::shared_ptr<const std::string> frame;
  };
  DirectSend send_directly(const std::shared_ptr<JobRecord>& record);
  /// Whether work waits ahead of anything submitted now: CPython's order forbids overtaking it.
  [[nodiscard]] bool work_ahead() const {
    return task_handler_holds_ || !ready_.empty() || !retry_.empty() || !queue_.empty();
  }
  /// Moves the chunks to send again to the front of ready_: they are older than all of it.
  void take_retries();
  /// Assigns the next ready chunk to `worker` if it is idle and the frame small; returns the frame
  /// to write, or null.
  std::shared_ptr<const std::string> give_next_ready(Worker& worker);
  void written(Worker& worker);

  // TransportEvents, routing's side of the seam (result_handler.cpp)
  void on_ready(Executor& executor) override;
  std::string on_result(Executor& executor, ChunkId id, const ParsedResult& result) override;
  void on_retired(Executor& executor, std::string_view why) override;
  void on_plugin(Executor& executor, wire::PluginReport report) override;
  /// Stops it, unless it was exiting anyway; kills it now if it broke the protocol.
  void on_closing(Executor& executor, bool broke_protocol) override;
  /// Completes the jobs other threads handed over (to_complete_): their callbacks run here.
  void on_idle() override;
  /// Of the chunks it held, the started ones fail, the others are sent again; it is erased,
  /// and replaced.
  void on_lost(Executor& executor, LossReport report) override;

  // result_handler.cpp
  /// Runs the transport's result loop (local_result_loop.hpp), which calls the events above.
  void result_handler();
  /// The error a chunk the lost executor of `report` was running fails with.
  /// `lost`: set if it is WorkerLostError (the chunk is counted as lost, not failed).
  std::exception_ptr lost_chunk_error(const Worker& worker, const LossReport& report, const InFlight& chunk,
                                      bool& lost) const;
  /// HELLO without an initializer, or the initializer's success.
  void became_ready(Worker& worker);

  // observe.cpp
  /// Items in the chunks workers are running now (pool lock).
  [[nodiscard]] std::uint64_t running_items() const;
  /// Records the end of `chunk` in the statistics (pool lock); returns the trace's record of it
  /// if there is a trace.
  std::optional<ChunkTrace> count_ending(const InFlight& chunk, Ending how, std::string error);
  /// Worker handler: calls the progress callback if it is due and the counts changed (outside
  /// the lock); returns when the next one is due (time_point::max(): never).
  Clock::time_point report_progress(std::unique_lock<std::mutex>& lock);
  /// A worker's event for the trace (`args`: a JSON object, or empty; `detail`: for people).
  void trace_worker(const Worker& worker, TraceEvent::Kind kind, std::string args = {}, std::string detail = {}) const;
  void trace_pool(TraceEvent::Kind kind) const;
  /// A worker was started: counted, traced (`replaces`: the lost worker it replaces, or 0).
  void started_worker(const Worker& worker, std::uint64_t replaces);

  // shared
  void maybe_complete(const std::shared_ptr<JobRecord>& record, std::unique_lock<std::mutex>& lock);
  /// A chunk ended (`error`: it failed; `lost`: with WorkerLostError): its job has it, it is counted.
  void report_chunk(const InFlight& chunk, std::exception_ptr error, std::span<const std::string_view> items = {},
                    bool lost = false);
  void stop_worker(Worker& worker, Worker::Stop why);

  static thread_local const PoolImpl* result_thread_of_;  // set by each result handler, for itself

  const PoolOptions options_;
  const Clock::time_point started_ = Clock::now();
  int processes_ = 0;  // set once, by the constructor: the local workers, or the agents' workers
  const std::optional<std::size_t> imap_window_;  // chunks, if the options set it
  std::vector<std::string> plugins_used_;  // every plugin a worker reported loading (pool lock): see spawn_worker
  std::unique_ptr<Transport> transport_;  // how workers are made (set once, by the constructor)

  mutable std::mutex mutex_;
  std::condition_variable task_cv_;  // task handler: work or an idle worker appeared
  std::condition_variable done_cv_;  // worker handler <-> task handler handshakes
  State state_ = State::run;
  std::exception_ptr broken_;  // the initializer failed: every job fails with this
  std::uint64_t next_job_ = 1;  // 0 is the initializer
  std::uint64_t next_worker_ = 1;
  using Queued = std::pair<std::shared_ptr<JobRecord>, std::unique_ptr<ChunkSource>>;
  std::deque<Queued> queue_;
  std::vector<Queued> parked_;  // imap jobs whose window is full, until their consumer catches up
  std::deque<InFlight> retry_;  // chunks to send again: their worker died before starting them
  // Chunks the task handler encoded, in order, not yet given to a worker. Either handler gives
  // out the front one: the task handler to idle workers, the result handler to the worker that
  // has just answered (see give_next_ready).
  std::deque<InFlight> ready_;
  bool task_handler_holds_ = false;  // a submission it is chunking, outside queue_
  StatsBook stats_;  // counts and times, by "plugin.task" (pool lock)
  std::unique_ptr<Tracer> tracer_;  // PoolOptions::trace (set once, by the constructor)
  std::deque<std::uint64_t> lost_workers_;  // the trace's: lost workers not yet replaced, oldest first
  Clock::time_point progress_due_{};        // worker handler: the next progress callback...
  std::optional<ItemCounts> progress_told_;  // ...and the counts it was last given
  std::unordered_map<std::uint64_t, std::shared_ptr<JobRecord>> cache_;
  std::vector<std::shared_ptr<Worker>> workers_;
  std::vector<std::shared_ptr<JobRecord>> to_complete_;  // input ended on the task handler: the
                                                         // result handler completes (callbacks run there)
  int unready_deaths_ = 0;  // consecutive workers that died before becoming ready
  bool ever_ready_ = false;  // some worker became ready: a slow start is not a broken setup
  Clock::time_point next_deadline_ = Clock::time_point::max();  // the worker handler wakes then
  unsigned generation_ = 0;  // of the workers spawned now; older ones are retiring (restart)
  std::mutex restart_mutex_;  // one restart at a time
  bool stop_tasks_ = false;  // worker handler -> task handler: exit
  bool task_handler_done_ = false;
  UniqueFd worker_wake_;  // eventfd: state change, a worker was erased
  std::jthread worker_thread_, task_thread_, result_thread_;
  std::condition_variable pull_cv_;  // input pullers: room for a chunk, consumer caught up, stop
  struct Puller {
    std::jthread thread;
    bool done = false;  // its thread has left pull_input (pool lock)
  };
  std::list<Puller> pullers_;  // pool lock; finished ones are joined when the next one starts
  bool joined_ = false;
  std::mutex join_mutex_;
  int receivers_ = 0;  // callers reading their answer themselves (pool lock); join() waits them out
  std::uint64_t answers_read_by_callers_ = 0;  // PoolStats::answers_read_by_callers (pool lock)
  std::condition_variable receivers_cv_;
  std::shared_ptr<PoolLink> link_ = std::make_shared<PoolLink>();
};

}  // namespace dlpool::detail
