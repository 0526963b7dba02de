#include "frame_input.hpp"

#include "sys/doorbell.hpp"
#include "sys/io.hpp"

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include <poll.h>
#include <unistd.h>

namespace dlpool::worker {

bool FrameInput::next(wire::FrameHeader& header, std::string_view& payload) {
  // After a long chunk, when other workers are likely busy on their CPUs and a pipe's wake-up
  // would stack this worker onto one of theirs. Only the first wait goes by the doorbell: it is
  // the wake-up that places the worker; the rest of a frame read in parts is on its way.
  bool doorbell_wait =
      doorbell_ >= 0 && std::chrono::steady_clock::now() - returned_ >= detail::doorbell_after_chunks_of;
  while (!reader_.next(header, payload)) {
    if (std::exchange(doorbell_wait, false)) wait_for_doorbell();
    // Blocking fd: `drained` cannot happen, a read waits for bytes or EOF.
    if (reader_.fill(fd_) != detail::FrameReader::Fill::eof) continue;
    if (reader_.partial() == 0) return false;
    throw wire::DecodeError{"the task pipe reached EOF in the middle of a frame, after " +
                            std::to_string(reader_.partial()) + " bytes of it"};
  }
  if (doorbell_ >= 0) returned_ = std::chrono::steady_clock::now();
  return true;
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
