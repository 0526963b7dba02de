#pragma once

#include <dlpool/wire/frame.hpp>

#include <cstdint>
#include <string>

namespace dlpool::worker {

/// Reads the next frame from the blocking fd `fd` (the host's task pipe). Returns false at EOF
/// between frames. Throws wire::DecodeError for an unknown kind or a payload over `max_payload`
/// (decided from the header alone, before a byte of the payload is allocated or read), and
/// std::system_error when the pipe ends inside a frame or fails.
bool read_frame(int fd, std::uint32_t max_payload, wire::FrameHeader& header, std::string& payload);

}  // namespace dlpool::worker
