#pragma once
// Blocking reads of whole frames from a worker's pipe, for tests that play the host by hand (the
// runtime reads its pipes non-blocking, through detail::FrameReader).

#include <cerrno>
#include <cstddef>
#include <system_error>

#include <unistd.h>

namespace dlpool::test {

/// Blocking read of exactly `size` bytes; returns false at EOF before the first byte, throws on a
/// short read at EOF or an error.
inline bool read_exact(int fd, char* data, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const auto n = ::read(fd, data + got, size - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error{errno, std::generic_category(), "read"};
    }
    if (n == 0) {  // EOF: clean only on a frame boundary
      if (got == 0) return false;
      throw std::system_error{std::make_error_code(std::errc::io_error), "read: EOF in the middle of a frame"};
    }
    got += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace dlpool::test
