#pragma once

#include "sys/shared_arena.hpp"

#include <dlpool/wire/frame.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dlpool::worker {

/// The worker's side of its shared arena (see sys/shared_arena.hpp): it reads large task
/// payloads where the host wrote them, and writes large results there.
class SharedPayloads {
 public:
  /// None: every payload comes and goes through the pipes.
  SharedPayloads() = default;
  explicit SharedPayloads(detail::SharedArena arena) : arena_{std::move(arena)}, results_{arena_.capacity()} {}

  /// Whether it has an arena (the hello says so: the host sends large payloads only then).
  explicit operator bool() const noexcept { return static_cast<bool>(arena_); }

  /// The payload of a frame from the host: `payload`, or the bytes in the task area it refers to
  /// (wire::flag_shared). They stay there until this worker answers the frame. Throws
  /// wire::DecodeError for a reference outside the area.
  [[nodiscard]] std::string_view payload_of(const wire::FrameHeader& header, std::string_view payload);
  /// Appends `bytes` to the payload of the answer being built in `frame` (a header so far, then
  /// what was appended), or returns false for the caller to append them to `frame` itself.
  /// Once one write is large, the payload goes on in the result area (what `frame` held of it
  /// copied there once), so that a large result is copied once, into shared memory, not into
  /// `frame` and then again. Bytes appended to `frame` directly afterwards (the run times) follow
  /// the ones written here; appending anything here after them is not allowed.
  bool append(std::string& frame, std::string_view bytes);
  /// The size of the payload of the answer being built in `frame`, wherever it is.
  [[nodiscard]] std::size_t payload_size(const std::string& frame) const noexcept;
  /// Brings what append() wrote to the result area back into `frame`, which then holds the whole
  /// answer as if append() had returned false throughout (for an error record, or when the rest
  /// does not fit).
  void gather(std::string& frame);
  /// Drops what append() wrote: the answer is being replaced (an error frame).
  void discard() noexcept { building_ = {}; }

  /// `frame` is the complete answer to the last frame, whose payload is no longer needed. Moves
  /// its payload into the result area when it is large and fits (or finishes it there, when
  /// append() started it there), and leaves in `frame` the reference the host reads it by.
  void answer(std::string& frame);

 private:
  /// An answer's payload being written in the result area (see append).
  struct Building {
    std::uint64_t position = 0;  // where it begins
    std::size_t room = 0;        // what is reserved from there
    std::size_t written = 0;     // what is written from there
    std::size_t split = 0;       // the frame's size when it began: what follows in the frame goes after
  };

  /// Writes `bytes` where the answer being built goes on in the result area (room checked).
  void put(std::string_view bytes);

  detail::SharedArena arena_;
  detail::RingWriter results_{0};
  wire::SharedReference task_;  // the last task payload read from the arena
  std::optional<Building> building_;
};

}  // namespace dlpool::worker
