#pragma once
// dlpool::Pool: CPython's multiprocessing.Pool for tasks exported by plugins.
//
//   dlpool::Pool pool{{.processes = 4}};
//   dlpool::Task<int(int)> square{"math", "square"};
//   int nine = pool.apply(square, 3);
//   std::vector<int> squares = pool.map(square, std::vector{1, 2, 3});
//
// Deliberate differences from CPython (see README): chunksize < 1 is rejected; a worker that
// dies fails exactly the chunk it held with WorkerLostError and is replaced, so nothing hangs; a
// callback that throws fails its own result; terminate() fails pending work with PoolTerminated;
// imap with chunksize > 1 reports a failed chunk at each of its positions and goes on.

#include <dlpool/detail/submit.hpp>
#include <dlpool/detail/typed_call.hpp>
#include <dlpool/errors.hpp>
#include <dlpool/export.hpp>
#include <dlpool/observe.hpp>
#include <dlpool/result.hpp>
#include <dlpool/task.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

namespace dlpool {

/// A call run once in every worker before its first task (replacements included), as CPython's
/// initializer/initargs. Build it from a task and its arguments.
class Initializer {
 public:
  template <class R, class... A, class... U>
  explicit Initializer(const Task<R(A...)>& task, U&&... args) : task_{detail::task_ref(task)} {
    wire::BinaryEncoder encoder;
    detail::CallCodec<Task<R(A...)>>::encode(item_, encoder, {std::forward<U>(args)...});
  }
  [[nodiscard]] const detail::TaskRef& task() const noexcept { return task_; }
  /// The encoded arguments, as one item (u32 size + bytes).
  [[nodiscard]] const std::string& item() const noexcept { return item_; }

 private:
  detail::TaskRef task_;
  std::string item_;
};

/// Resource limits of each worker (see README, "Resource limits"). Unset means none.
struct WorkerLimits {
  /// Bytes of data memory a worker may have (heap, anonymous mappings, thread stacks):
  /// RLIMIT_DATA, or with `cgroup` the memory.max of the worker's own cgroup (all its memory,
  /// its children's included). A task that runs out of it fails its item with
  /// ResourceLimitError naming the limit, and its worker is replaced. Sanitizer builds' workers
  /// run without RLIMIT_DATA (their shadow memory alone is over any limit).
  std::optional<std::uint64_t> memory_bytes;
  /// CPU time an item may use (a chunk of n items: n times that): RLIMIT_CPU's soft limit, armed
  /// before each chunk, in whole seconds. Past it the worker is killed by SIGXCPU and the chunk
  /// fails with ResourceLimitError. A task that handles SIGXCPU itself escapes it; task_timeout
  /// bounds the wall-clock time of an item and cannot be escaped.
  std::optional<std::chrono::seconds> cpu_time;
  /// File descriptors a worker may have open (RLIMIT_NOFILE); a task past it gets EMFILE.
  /// At least 16: the worker needs a few of its own.
  std::optional<std::uint64_t> open_files;
  /// Celery's max_memory_per_child: a worker whose resident memory is over this many bytes after
  /// a chunk answers it, then exits and is replaced; chunks queued behind it go to another.
  std::optional<std::uint64_t> max_memory_per_child;
  /// A cgroup v2 directory delegated to the host (writable by it), in which each worker then
  /// gets a cgroup of its own for memory_bytes. If it cannot be used (not cgroup v2, not
  /// writable, no memory controller), rlimits are used instead; Pool::workers() says which.
  std::string cgroup;
};

/// What a worker's tasks may do to processes around them (see README, "Sandbox").
enum class Sandbox {
  off,
  /// A seccomp filter on tasks and all they start: signals only to themselves, their own threads,
  /// process group and children; no ptrace, no process_vm_readv/writev, no setpgid into another
  /// group (each EPERM). Not a file-system or resource jail.
  on,
  /// As `on`, and no sockets but AF_UNIX ones (and no io_uring).
  no_network,
};

/// Runs the pool's workers on other machines, over MPI (see docs/scale-out.md): rank 0 of the
/// job is the host (this program), every other rank runs dlpool-agent, which runs workers on its
/// node. Every Pool call keeps its meaning; Pool::workers() names each worker's rank and node.
struct MpiOptions {
  /// Workers each agent runs; 0: one per CPU of the agent's affinity mask.
  int workers_per_agent = 0;
  /// Starts this many agents with MPI_Comm_spawn, for a host not launched by mpiexec; 0: the
  /// agents are ranks 1..N-1 of the job the host was launched in.
  int spawn_agents = 0;
  /// The agent executable for spawn_agents; empty: dlpool-agent beside the worker executable.
  std::string agent_path;
  /// An agent not heard from for this long is lost: the chunks it had started fail with
  /// WorkerLostError, the others go to the remaining agents. Each side says it is alive four
  /// times per period. Open MPI reports no death: this is how one is noticed (it needs
  /// `mpiexec --enable-recovery`, without which Open MPI ends the whole job).
  std::chrono::milliseconds heartbeat{1000};
  /// Sends the plugin files the host finds on its plugin path to every agent, which installs
  /// them in a node-local directory (checked as `dlpool install` does) before any worker loads
  /// them. Otherwise every node must see the host's plugin path (a shared file system), and an
  /// agent refuses a plugin whose SHA-256 differs from the host's copy.
  bool ship_plugins = false;
};

struct PoolOptions {
  /// Worker count; unset means std::thread::hardware_concurrency() (at least 1). < 1 is refused.
  std::optional<int> processes;
  std::optional<Initializer> initializer;
  /// Chunks a worker runs before it is replaced by a fresh one; unset means forever. < 1 is refused.
  std::optional<int> maxtasksperchild;
  /// Directories searched for plugins before $DLPOOL_PLUGIN_PATH and the installed plugin dir.
  std::vector<std::string> plugin_path;
  /// The dlpool-worker executable; empty means $DLPOOL_WORKER, then the one installed with
  /// libdlpool_runtime (found relative to the library, so a moved prefix still works), then the
  /// one beside the running executable.
  std::string worker_path;
  /// Largest frame payload either side accepts.
  std::uint32_t max_frame_bytes = wire::default_max_frame;
  /// Payloads of 64 KiB and more travel through memory each worker shares with the host (see
  /// embedding.md); false sends everything through the pipes. Each worker's area takes twice
  /// max_frame_bytes of address space, and its pages only while a payload is in it.
  bool shared_memory_payloads = true;
  /// Time limit per item for every task (Task::with_timeout overrides it): a chunk of n items
  /// running longer than n * task_timeout fails with TaskTimeout and its worker is replaced.
  /// Unset means none.
  std::optional<std::chrono::milliseconds> task_timeout;
  /// How long a worker being stopped (terminate, a timeout, a cancel) has between SIGTERM and
  /// SIGKILL; and how long a worker asked to exit (close, maxtasksperchild, restart) has to do
  /// so before SIGKILL, so that a plugin's static destructor that never returns cannot hold up
  /// join().
  std::chrono::milliseconds kill_grace{1000};
  /// How long a worker may take to become ready: to start, say hello and run the initializer.
  /// One that takes longer is stopped. If no worker of the pool has ever become ready, the
  /// pool's work then fails with WorkerStartError (with an initializer that has not returned:
  /// InitializerError) instead of waiting forever (a wrong worker_path, a plugin load that
  /// hangs); otherwise it counts as a worker that died starting (see WorkerStartError).
  std::chrono::milliseconds start_timeout{30'000};
  /// Chunks an imap may pull ahead of its consumer; unset means 4 per worker, and at least 64
  /// items' worth (so that tiny items travel in batches). < 1 is refused.
  std::optional<int> imap_window;
  /// Workers run under SCHED_BATCH (see sched(7)) unless this is false. A worker woken with work
  /// then does not preempt the pool thread that handed it over, which the scheduler would
  /// otherwise leave waiting behind a CPU-bound task until its next tick, with other workers'
  /// results unread. Their nice value is left as it was; a host running under another policy
  /// than SCHED_OTHER keeps it for its workers. Threads and processes a task starts inherit it.
  bool batch_scheduling = true;
  /// Resource limits of each worker.
  WorkerLimits limits;
  /// The opt-in seccomp sandbox of each worker's tasks.
  Sandbox sandbox = Sandbox::off;
  /// Workers on the agent ranks of an MPI job instead of this machine (see MpiOptions).
  /// `processes` is then ignored: the agents say how many workers they run.
  std::optional<MpiOptions> mpi;
  /// Records every chunk, worker and pool event (see TraceOptions, docs/observability.md).
  /// Unset: no trace, and no cost.
  std::optional<TraceOptions> trace;
  /// Called with the item counts every progress_interval while they change, and once after the
  /// last change, on the pool's worker handler thread: keep it short (workers are replaced and
  /// deadlines enforced on that thread). Pool::stats() gives the same numbers on demand.
  std::function<void(const ItemCounts&)> progress;
  std::chrono::milliseconds progress_interval{200};
};

/// A plugin file as a worker loaded it (see Pool::workers).
struct PluginFile {
  std::string name, path, version;
  std::uint64_t inode = 0;
  std::string sha256;  // of the bytes loaded, lowercase hex
};

/// One live worker (see Pool::workers).
struct WorkerInfo {
  int pid = 0;
  unsigned generation = 0;  // 0 for the first workers; each Pool::restart() starts the next
  std::uint64_t tasks_done = 0;  // items it answered
  std::uint64_t failures = 0;    // items that failed in it (the task threw, or could not run)
  std::uint64_t rss_bytes = 0;   // resident memory now; 0 if it could not be read
  std::vector<PluginFile> plugins;  // in the order it loaded them
  /// Its resource limits and what enforces them, e.g. "memory 512 MiB (RLIMIT_DATA), open files
  /// 64 (RLIMIT_NOFILE)"; "none" without limits.
  std::string limits;
  /// Over MPI: the rank of the agent it runs under, and that agent's node (its host name);
  /// 0 and this machine's name for a local worker.
  int rank = 0;
  std::string node;
};

/// A pool of worker processes running plugin tasks. Every member is thread-safe. Results are
/// delivered, and callbacks run, on the pool's result-handler thread.
///
/// The destructor of a pool that was not joined terminates it (CPython's __exit__), then joins:
/// it never waits for queued work. To let work finish, call close() then join().
class DLPOOL_API Pool {
 public:
  /// Starts the workers and the handler threads. Throws UsageError for invalid options and
  /// std::system_error if a worker cannot be started (the ones already started are stopped).
  explicit Pool(PoolOptions options = {});
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Calls `task(args...)` in a worker and blocks for the result; throws the task's error.
  /// From a callback of this pool, throws UsageError (it would wait for its own thread).
  template <class T, class... U>
  typename detail::CallCodec<T>::Result apply(const T& task, U&&... args) {
    detail::Submitter::refuse_in_callback(*impl_, "Pool::apply()");
    return apply_async(task, typename detail::CallCodec<T>::Item{std::forward<U>(args)...}).get();
  }

  /// Queues `task(args...)`; never blocks. Throws UsageError if the pool is not running.
  template <class T>
  [[nodiscard]] AsyncResult<typename detail::CallCodec<T>::Result> apply_async(
      const T& task, typename detail::CallCodec<T>::Item args,
      Callbacks<typename detail::CallCodec<T>::Result> callbacks = {}) {
    return detail::Submitter::apply(*impl_, task, std::move(args), std::move(callbacks));
  }

  /// task(x) for each x of `items`, in order; blocks until every chunk has run, then returns the
  /// results or throws the first error to arrive. Unset chunksize means CPython's default,
  /// ceil(n / (4 * processes)). Throws UsageError for chunksize < 1, a pool not running, or a
  /// call from a callback of this pool.
  template <class T, std::ranges::input_range R>
  std::vector<typename detail::CallCodec<T>::Value> map(const T& task, R&& items,
                                                        std::optional<std::ptrdiff_t> chunksize = {}) {
    detail::Submitter::refuse_in_callback(*impl_, "Pool::map()");
    return map_async(task, std::forward<R>(items), chunksize).get();
  }

  template <class T, std::ranges::input_range R>
  [[nodiscard]] AsyncResult<std::vector<typename detail::CallCodec<T>::Value>> map_async(
      const T& task, R&& items, std::optional<std::ptrdiff_t> chunksize = {},
      Callbacks<std::vector<typename detail::CallCodec<T>::Value>> callbacks = {}) {
    return detail::Submitter::map(*impl_, task, std::forward<R>(items), chunksize, std::move(callbacks));
  }

  /// As map, but each element of `items` is a tuple of arguments: task(std::get<0>(x), ...).
  template <class T, std::ranges::input_range R>
  std::vector<typename detail::CallCodec<T>::Value> starmap(const T& task, R&& items,
                                                            std::optional<std::ptrdiff_t> chunksize = {}) {
    detail::Submitter::refuse_in_callback(*impl_, "Pool::starmap()");
    return starmap_async(task, std::forward<R>(items), chunksize).get();
  }

  template <class T, std::ranges::input_range R>
  [[nodiscard]] AsyncResult<std::vector<typename detail::CallCodec<T>::Value>> starmap_async(
      const T& task, R&& items, std::optional<std::ptrdiff_t> chunksize = {},
      Callbacks<std::vector<typename detail::CallCodec<T>::Value>> callbacks = {}) {
    return detail::Submitter::starmap(*impl_, task, std::forward<R>(items), chunksize, std::move(callbacks));
  }

  /// Lazily maps `items` (a range, copied now, or a generator: a callable returning
  /// std::optional<argument>, std::nullopt at the end, called on a thread the pool starts for
  /// this imap, which join() waits for: a generator may block, but must end). Results come in
  /// input order. The input is pulled at most PoolOptions::imap_window chunks ahead of the
  /// consumer; while an imap waits for its consumer or its generator, later calls go ahead of it.
  /// Throws UsageError for chunksize < 1 or a pool not running.
  template <class T, class Input>
  [[nodiscard]] IMapIterator<typename detail::CallCodec<T>::Value> imap(const T& task, Input&& items,
                                                                        std::ptrdiff_t chunksize = 1) {
    return detail::Submitter::imap(*impl_, task, std::forward<Input>(items), chunksize, true);
  }

  /// As imap, but results come in completion order.
  template <class T, class Input>
  [[nodiscard]] IMapIterator<typename detail::CallCodec<T>::Value> imap_unordered(const T& task, Input&& items,
                                                                                  std::ptrdiff_t chunksize = 1) {
    return detail::Submitter::imap(*impl_, task, std::forward<Input>(items), chunksize, false);
  }

  /// Stops taking work; queued work still runs. Idempotent.
  void close();
  /// Fails pending work with PoolTerminated and stops the workers (SIGTERM, then SIGKILL after a
  /// grace period). Returns without waiting for the handler threads: call join().
  void terminate();
  /// Waits for the handler threads and reaps every worker. Throws UsageError while running
  /// (call close() or terminate() first) and when called from a callback.
  void join();

  /// Rolls the workers onto the plugin files now on disk (hot swap: install a new version by
  /// rename(), then restart). A probe worker first loads every plugin the workers have loaded;
  /// if it cannot, the old workers keep serving and this throws that PluginError (or
  /// WorkerStartError if the probe died). Otherwise each old worker finishes the chunk it holds
  /// and exits, while a new generation takes its place: queued and running work is never lost,
  /// and at most two generations are ever alive. Returns once the old generation is gone.
  /// Concurrent calls run one after the other. Throws UsageError if the pool is not running.
  void restart();

  /// Every live worker: pid, generation, items done and failed, RSS, and the plugin files it
  /// loaded.
  [[nodiscard]] std::vector<WorkerInfo> workers() const;

  /// Counts of items and workers so far, and the run times and queue waits of items, per task
  /// and in total (see PoolStats). Cheap enough to call often: it copies a few counters and
  /// reads percentiles off fixed-size histograms.
  [[nodiscard]] PoolStats stats() const;

  /// Puts a mark in the trace, if there is one (an instant on the callers' track): `name`, and
  /// `json_object` as its details. Throws UsageError if `json_object` is not a JSON object.
  void trace_mark(std::string_view name, std::string_view json_object = "{}");

  /// The configured worker count.
  [[nodiscard]] int processes() const noexcept;
  /// Pids of the live workers.
  [[nodiscard]] std::vector<int> worker_pids() const;

 private:
  std::unique_ptr<detail::PoolImpl> impl_;
};

}  // namespace dlpool
