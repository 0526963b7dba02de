#pragma once
// The seam between the typed API (templates in the public headers) and the untyped core
// (runtime/src). The core moves opaque encoded items; a Job decodes them and completes the
// caller's AsyncResult or IMapIterator.

#include <dlpool/wire/codec.hpp>
#include <dlpool/wire/frame.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dlpool::detail {

/// The receiving end of one submitted call (apply, map, imap...). Thread contract:
/// chunk_done/chunk_failed arrive on the result-handler thread, or on the thread that fails the
/// pool's pending work (terminate), or (a job without callbacks) on a caller's thread reading
/// its own answer (JobControl::receive); input_ended on the task-handler thread, or on the thread
/// reading an imap's generator; complete() once, after every chunk has reported and the input
/// has ended: on the result-handler thread for a job with callbacks, otherwise on whichever
/// thread saw the last of them. Implementations lock their own state.
class Job {
 public:
  virtual ~Job() = default;
  /// Chunk covering items [first, first + items.size()) succeeded.
  virtual void chunk_done(std::size_t first, std::span<const std::string_view> items) = 0;
  /// Chunk covering items [first, first + count) failed as a whole.
  virtual void chunk_failed(std::size_t first, std::size_t count, std::exception_ptr error) = 0;
  /// The input ended after `items` items; `error` is set when reading it threw (imap: one more
  /// failing item).
  virtual void input_ended(std::size_t items, std::exception_ptr error) = 0;
  /// Every outcome is in: make the result ready and run callbacks.
  virtual void complete() = 0;
  /// The pool was terminated: fail whatever has not been delivered with `error`, instead of
  /// complete().
  virtual void abort(std::exception_ptr error) = 0;
};

/// Produces a job's chunks on the task-handler thread (on a thread of its own when it
/// pulls_from_caller), lazily, so that an imap input is read only
/// as work is handed out.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  /// Appends the next chunk's items to `out` (each as u32 size + encoded arguments, see
  /// wire::BinaryEncoder::append_item) and returns how many; 0 when the input is exhausted.
  /// Throws when reading the input fails.
  virtual std::size_t next_chunk(std::string& out, wire::BinaryEncoder& encoder) = 0;
  /// Whether next_chunk() calls back into the caller's code, which may take any time (an imap
  /// generator): such a source is read on a thread of its own, never on the task handler.
  [[nodiscard]] virtual bool pulls_from_caller() const noexcept { return false; }
};

/// What a task frame names.
struct TaskRef {
  std::string plugin, task, signature;
  wire::Codec codec = wire::Codec::binary;
  std::optional<std::chrono::milliseconds> timeout;  // per item; unset: the pool's default
};

/// One call handed to the pool (Submitter::submit), built with designated initializers:
/// `{.task = ..., .job = ..., .source = ..., .chunksize = n, .windowed = true}`.
struct Submission {
  TaskRef task;
  std::shared_ptr<Job> job;
  std::unique_ptr<ChunkSource> source;
  /// Items per chunk (the last may hold fewer).
  std::size_t chunksize = 1;
  /// imap: the input is pulled within PoolOptions::imap_window.
  bool windowed = false;
  /// apply_async: one small item, which the caller's thread may hand straight to an idle worker.
  bool direct = false;
  /// Its job runs callbacks, which run on the pool's result handler, as CPython's do. Without
  /// them it may complete on any thread, and a direct one's caller may read its answer itself.
  bool callbacks = true;
};

}  // namespace dlpool::detail
