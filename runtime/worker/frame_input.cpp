#include "frame_input.hpp"

#include "sys/io.hpp"

#include <algorithm>

namespace dlpool::worker {

bool read_frame(int fd, std::uint32_t max_payload, wire::FrameHeader& header, std::string& payload) {
  char raw[wire::header_size];
  if (!detail::read_exact(fd, raw, sizeof raw)) return false;
  header = wire::decode_header(raw, max_payload);
  // The buffer grows with the bytes that arrive (doubling, so copies stay linear), not with what
  // the header announces: a length that lies costs no memory.
  constexpr std::size_t first_step = 64 * 1024;
  payload.clear();
  for (std::size_t got = 0; got < header.length;) {
    const auto step = std::min<std::size_t>(header.length - got, std::max(got, first_step));
    payload.resize(got + step);
    if (!detail::read_exact(fd, payload.data() + got, step))
      throw wire::DecodeError{"the task pipe ended after " + std::to_string(got) + " of the " +
                              std::to_string(header.length) + " payload bytes its header announced"};
    got += step;
  }
  return true;
}

}  // namespace dlpool::worker
