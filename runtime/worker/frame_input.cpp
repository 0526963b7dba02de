#include "frame_input.hpp"

#include "sys/doorbell.hpp"
#include "sys/io.hpp"

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include <poll.h>
#include <sched.h>
#include <unistd.h>

namespace dlpool::worker {

bool FrameInput::next(wire::FrameHeader& header, std::string_view& payload) {
  // After a long chunk, when other workers are likely busy on their CPUs and a pipe's wake-up
  // would stack this worker onto one of theirs. Only the first wait goes by the doorbell: it is
  // the wake-up that places the worker; the rest of a frame read in parts is on its way.
  // (Read from the clock only when a wait is due: a frame already buffered needs no decision.)
  bool first_wait = true;
  while (!reader_.next(header, payload)) {
    if (std::exchange(first_wait, false)) {
      const bool long_chunk = std::chrono::steady_clock::now() - returned_ >= detail::doorbell_after_chunks_of;
      if (long_chunk && doorbell_ >= 0)
        wait_for_doorbell();
      else if (!long_chunk && next_soon_)
        poll_briefly();
    }
    // Blocking fd: `drained` cannot happen, a read waits for bytes or EOF.
    if (reader_.fill(fd_) != detail::FrameReader::Fill::eof) continue;
    if (reader_.partial() == 0) return false;
    throw wire::DecodeError{"the task pipe reached EOF in the middle of a frame, after " +
                            std::to_string(reader_.partial()) + " bytes of it"};
  }
  returned_ = std::chrono::steady_clock::now();
  return true;
}

void FrameInput::poll_briefly() const {
  // After a short awaited chunk the next one is a round trip away (an apply in a loop: the host
  // reads the answer and writes the next call at once). Polling the pipe for that long takes it
  // the moment it lands; asleep in read(), this worker would first have to be woken, which on a
  // VM costs about as much as the round trip again (apply latency: ~19 us without, ~12 with).
  // Only after awaited chunks: after every short one it cost 6-9% of tiny-item throughput on 2
  // CPUs, the host's threads waiting for the CPU it held. It yields at each poll for the same
  // reason, and spends the budget once per wait.
  const auto until = std::chrono::steady_clock::now() + frame_spin;
  pollfd ready{fd_, POLLIN, 0};
  while (::poll(&ready, 1, 0) == 0 && std::chrono::steady_clock::now() < until) sched_yield();
}

void FrameInput::wait_for_doorbell() {
  // The host rings before it writes: the ring's wake-up places this process, and the pipe's,
  // coming next, finds it awake already and changes nothing. The pipe is watched too, so that
  // nothing depends on the ring: a frame written without one, or EOF, ends the wait as well.
  for (;;) {
    pollfd ready[2] = {{fd_, POLLIN, 0}, {doorbell_, POLLIN, 0}};
    if (::poll(ready, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::system_error{errno, std::generic_category(), "poll on the task pipe"};
    }
    if (ready[0].revents != 0) return;  // bytes, EOF or an error: the read says which
    // Rings of frames read already are drained too. Anything but an eventfd's 8 bytes (or
    // nothing yet) means fd 5 is not the doorbell: the worker does without it, rather than spin.
    std::uint64_t rings = 0;
    const auto n = ::read(doorbell_, &rings, sizeof rings);
    if (n != static_cast<ssize_t>(sizeof rings) && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
      doorbell_ = -1;
      return;
    }
  }
}

}  // namespace dlpool::worker
