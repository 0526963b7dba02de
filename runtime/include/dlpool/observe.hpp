#pragma once
// What a pool tells about its work while it runs (see docs/observability.md): counts and
// latency distributions (Pool::stats), progress (PoolOptions::progress), and a trace of every
// chunk and worker (PoolOptions::trace) in the Chrome Trace Event Format.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dlpool {

/// Items of a pool's work so far. Every item submitted ends once as done, failed or lost; once
/// the work is over (join), submitted == done + failed + lost.
struct ItemCounts {
  /// Items read from the callers' inputs so far. The pool reads an input as workers free up (a
  /// map's too, a few chunks ahead), so this is not a job's total: a progress bar takes its
  /// total from the caller.
  std::uint64_t submitted = 0;
  std::uint64_t done = 0;       // answered with a result
  std::uint64_t failed = 0;     // failed with an error: the task's, a timeout, a limit, a cancel...
  std::uint64_t lost = 0;       // failed with WorkerLostError: their worker died running them
  std::uint64_t retried = 0;    // sent again because their worker died before starting them
  std::uint64_t running = 0;    // now: in chunks their workers are running
  std::uint64_t queued = 0;     // now: submitted, neither running nor ended
  friend bool operator==(const ItemCounts&, const ItemCounts&) = default;
};

/// A distribution of durations, read off an HDR-style histogram: log-linear buckets, so that
/// each value is within 1/64 (1.6%) of the one recorded, from 1 ns to hours, in fixed memory.
struct Latency {
  std::uint64_t count = 0;  // items measured
  std::chrono::nanoseconds p50{}, p90{}, p99{}, max{}, mean{};
};

/// One task's share of the work.
struct TaskStats {
  std::string task;  // "plugin.task"
  ItemCounts items;  // running and queued are the pool's only
  /// Per item: a chunk's time in its worker, from the worker's own clock, over its item count.
  Latency run_time;
  /// Per item: from entering the pool (submission; an imap's item: read from its input) to its
  /// chunk starting in a worker.
  Latency queue_wait;
};

/// A snapshot of a pool's statistics (Pool::stats).
struct PoolStats {
  ItemCounts items;
  std::uint64_t workers_spawned = 0;  // every worker started, replacements and restarts included
  std::uint64_t workers_lost = 0;     // died without being asked to (crash, kill, limit, lost agent)
  std::uint64_t workers_alive = 0;
  // Calls whose caller read the answer from the worker itself, blocked in get() (the two-hop
  // apply: an apply_async without callbacks sent straight to an idle worker).
  std::uint64_t answers_read_by_callers = 0;
  std::chrono::nanoseconds uptime{};  // since the pool started
  Latency run_time, queue_wait;       // over all tasks
  std::vector<TaskStats> tasks;       // by name
};

/// One thing the trace records (PoolOptions::trace's callback receives them). Times are on
/// std::chrono::steady_clock (a remote worker's are moved onto the host's clock).
struct TraceEvent {
  enum class Kind : std::uint8_t {
    chunk,           // a chunk ended: delivered to its job (done or failed)
    worker_spawned,  // detail: "replaces N" if it replaces a lost worker
    worker_ready,    // it said hello (and ran the initializer)
    plugin_loaded,   // detail: "name version sha256 path"
    worker_retired,  // it said it will take no more work; detail: why
    worker_exited,   // it exited as asked (close, maxtasksperchild, restart); detail: how
    worker_lost,     // it died unasked; detail: the cause ("was killed by SIGKILL")
    pool_close,
    pool_terminate,
    pool_restart,    // a restart began; generation: the new one
    mark,            // Pool::trace_mark; detail: its name, args: its JSON object
  };
  using Time = std::chrono::steady_clock::time_point;

  Kind kind = Kind::chunk;
  Time time{};  // when it happened (a chunk: when it was delivered; a restart: when it began)
  /// The worker it concerns, or that ran the chunk (0: none): the pool's number for it, its pid
  /// (0 until known), generation, and for a remote one its MPI rank and node.
  std::uint64_t worker = 0;
  int pid = 0;
  unsigned generation = 0;
  int rank = 0;
  std::string node;
  std::string detail;  // for people: a worker's cause of loss, a chunk's error, a mark's name
  std::string args;    // a worker's or mark's details, as the trace file has them: a JSON object

  // A chunk: job, chunk number in it, its first item's index in the job and its item count.
  std::uint64_t job = 0;
  std::uint32_t chunk = 0;
  std::uint64_t first_item = 0, items = 0;
  std::string task;  // "plugin.task"
  bool ok = true;    // otherwise `detail` is its error ("TaskError: ...")
  bool lost = false;  // it failed with its worker
  unsigned attempts = 1;  // sent this many times (its workers died before starting it)
  /// When its items entered the pool, its frame was written, its worker started and finished it
  /// (the worker's clock; a chunk that never ran: both Time{}), and its result was read. `time`
  /// is when the job had it. A restart: `finished` is when it ended.
  Time submitted{}, sent{}, started{}, finished{}, received{};
};

/// Where a pool's trace goes (PoolOptions::trace): a file, a callback, or both.
struct TraceOptions {
  /// A Chrome Trace Event Format file (JSON, "traceEvents", one event per line), which
  /// Perfetto's UI, chrome://tracing and `dlpool report` open: a track per worker and per
  /// handler thread, flow arrows from each chunk's send to its delivery. It is written as the
  /// pool runs and completed by join(); one cut short by a crash still opens.
  std::string file;
  /// Receives every event, in batches, on the pool's trace thread (never a handler thread).
  std::function<void(const TraceEvent&)> on_event;
};

}  // namespace dlpool
