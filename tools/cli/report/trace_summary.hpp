#pragma once
// What `dlpool report` makes of a trace: counts, exact distributions, each worker track with its
// bars, the slowest runs, the losses. Built in one pass over the file (summarise_trace), in
// memory that grows with the chunks only by two numbers each (their run time and queue wait,
// kept for exact percentiles); the bars are bounded by BarRows.

#include "bar_rows.hpp"
#include "busy_time.hpp"
#include "durations.hpp"
#include "trace_reader.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dlpool::cli::report {

/// A chunk, and where its items came from when an `input` mark says so.
struct ChunkRef {
  std::uint64_t job = 0, chunk = 0, first = 0, items = 0;
  std::optional<std::uint64_t> line, last_line;  // input lines of its first and last item
};

/// A worker's track: (pid, tid) in the trace, one per worker ever started.
struct Track {
  std::int64_t pid = 0, tid = 0;  // tid: the worker's number; pid 2 local, 2 + R MPI rank R
  std::string name, process;      // from the metadata: "worker 3 (generation 0)", "workers on node1"
  std::optional<std::int64_t> os_pid;
  std::int64_t born = -1, gone = -1;  // ns: spawned (else its first run), lost or exited (else -1)
  std::int64_t busy = 0;              // ns running chunks
  std::uint64_t runs = 0;
  std::optional<ChunkRef> lost_chunk;  // the chunk it was running when it died
};

/// One of the slowest runs.
struct SlowRun {
  ChunkRef chunk;
  std::string task, status;
  std::size_t track = 0;
  std::int64_t start = 0, run = 0;
  std::optional<std::int64_t> wait;
};

/// A worker that died unasked.
struct Loss {
  std::size_t track = 0;
  std::int64_t at = 0;
  std::string cause;
  std::optional<std::int64_t> status;  // wait status; -1 unknown
  bool chunk_lost = false;
  std::optional<ChunkRef> chunk;
};

struct ChunkCounts {
  std::uint64_t chunks = 0, ok = 0, error = 0, lost = 0;
  std::uint64_t retried = 0;  // sent more than once (workers died before starting them)
  std::uint64_t items = 0, items_ok = 0, items_error = 0, items_lost = 0;
};

struct WorkerCounts {
  std::uint64_t spawned = 0, lost = 0, exited = 0, retired = 0, restarts = 0;
};

struct TaskCounts {
  std::uint64_t chunks = 0, items = 0;
};

struct TraceSummary {
  std::string path;
  TraceHeader header;
  ReadStats read;
  std::int64_t start = 0, end = 0;  // ns: the first event's start, the last one's end
  std::uint64_t jobs = 0, events_dropped = 0;
  ChunkCounts chunks;
  WorkerCounts workers;
  std::map<std::string, TaskCounts> tasks;
  Durations run, wait;  // per run event (a chunk that reached a worker): run_us, wait_us
  std::vector<Track> tracks;  // in the order first seen; rows_by_track() sorts them
  std::vector<std::vector<Bar>> bars;  // per track, merged below BarRows' resolution
  BusyTime busy;
  std::vector<SlowRun> slowest;  // slowest first, at most slowest_kept
  std::vector<Loss> losses;      // in time order
  /// Failed chunks' error messages, most frequent first (at most error_kinds_kept), and how many
  /// failed chunks had another message.
  std::vector<std::pair<std::string, std::uint64_t>> errors;
  std::uint64_t other_errors = 0;

  static constexpr std::size_t slowest_kept = 20;
  static constexpr std::size_t error_kinds_kept = 10;

  /// The tracks in display order: by pid (host's workers, then each agent's), then worker number.
  [[nodiscard]] std::vector<std::size_t> tracks_in_order() const;
  /// Busy worker time over live worker time, 0..1 (0 with no live time).
  [[nodiscard]] double utilisation() const;
  /// A track's live span: born (or the trace's start) to gone (or the trace's end).
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> live(const Track& track) const;
};

/// Reads and summarises the trace at `path`. Throws std::runtime_error when it cannot be read,
/// is not a dlpool trace, or has no events besides metadata.
[[nodiscard]] TraceSummary summarise_trace(const std::string& path);

}  // namespace dlpool::cli::report
