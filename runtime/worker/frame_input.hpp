#pragma once

#include "frame_reader.hpp"

#include <dlpool/wire/frame.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace dlpool::worker {

/// The worker's side of the task pipe (a blocking fd): frames as the host wrote them, read in as
/// few syscalls as they arrive in. Chunks the host queued behind the running one, or wrote in one
/// batch, come out of a single read.
///
/// With a doorbell, a worker that has just run a long chunk waits on it as well as on the pipe,
/// to be woken on its own CPU (see sys/doorbell.hpp). After short ones it blocks in read(), or
/// when the next frame is expected soon, polls the pipe for up to frame_spin first.
class FrameInput {
 public:
  FrameInput(int fd, std::uint32_t max_payload, int doorbell = -1)
      : fd_{fd}, doorbell_{doorbell}, reader_{max_payload} {}

  /// The next frame; its payload stays valid until the next call. Blocks while none is complete.
  /// Returns false at EOF between frames. Throws wire::DecodeError for an unknown kind, a payload
  /// over the limit (decided from the header alone, before the payload is read or allocated), or
  /// a pipe that ends inside a frame; std::system_error when reading fails.
  bool next(wire::FrameHeader& header, std::string_view& payload);
  /// Whether the next frame is likely to follow at once (the chunk just run was awaited by its
  /// caller: wire::flag_awaited).
  void expect_next_soon(bool soon) noexcept { next_soon_ = soon; }

 private:
  static constexpr auto frame_spin = std::chrono::microseconds{50};

  /// Blocks until the pipe has bytes or is closed, woken by the doorbell.
  void wait_for_doorbell();
  /// Returns once the pipe has bytes or is closed, or after frame_spin.
  void poll_briefly() const;

  int fd_;
  int doorbell_;
  detail::FrameReader reader_;
  bool next_soon_ = false;
  std::chrono::steady_clock::time_point returned_ = std::chrono::steady_clock::now();  // next() last returned
};

}  // namespace dlpool::worker
