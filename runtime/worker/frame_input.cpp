#include "frame_input.hpp"

#include <string>

namespace dlpool::worker {

bool FrameInput::next(wire::FrameHeader& header, std::string_view& payload) {
  while (!reader_.next(header, payload)) {
    // Blocking fd: `drained` cannot happen, a read waits for bytes or EOF.
    if (reader_.fill(fd_) != detail::FrameReader::Fill::eof) continue;
    if (reader_.partial() == 0) return false;
    throw wire::DecodeError{"the task pipe reached EOF in the middle of a frame, after " +
                            std::to_string(reader_.partial()) + " bytes of it"};
  }
  return true;
}

}  // namespace dlpool::worker
