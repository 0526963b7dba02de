#pragma once

#include "sys/shared_arena.hpp"

#include <dlpool/wire/frame.hpp>

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
  /// `frame` is the complete answer to the last frame, whose payload is no longer needed. Moves
  /// its payload into the result area when it is large and fits, and leaves in `frame` the
  /// reference the host reads it by.
  void answer(std::string& frame);

 private:
  detail::SharedArena arena_;
  detail::RingWriter results_{0};
  wire::SharedReference task_;  // the last task payload read from the arena
};

}  // namespace dlpool::worker
