#pragma once
// Reads a file block by block, so the bundled plugins handle files of any size in constant memory.
// Private to the plugins under plugins/: the runtime's syscall wrappers (runtime/src/sys/) are not
// available to them, since plugins depend on the SDK only.

#include <cerrno>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace dlpool::plugins {

/// Owns a read-only, close-on-exec fd on one file and hands out its contents in blocks.
///
/// Failures throw std::runtime_error naming the call, the path and strerror, such as
/// "open(/data/x.txt): No such file or directory". Not std::system_error: a task's exception
/// reaches the caller as its type name and message only, and callers match on the type name.
class BlockReader {
 public:
  static constexpr std::size_t block_size = 64 * 1024;

  /// Opens `path`; throws std::runtime_error if it cannot.
  explicit BlockReader(std::string path) : path_{std::move(path)} {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail("open");
  }
  ~BlockReader() { ::close(fd_); }
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  /// The next block, at most block_size bytes; empty at end of file. The view is valid until the
  /// next call. Throws std::runtime_error on a read error, e.g. EISDIR: open(2) accepts a
  /// directory, only read(2) refuses it.
  [[nodiscard]] std::string_view next() {
    for (;;) {
      const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
      if (n >= 0) return {buffer_.data(), static_cast<std::size_t>(n)};
      if (errno != EINTR) fail("read");
    }
  }

 private:
  [[noreturn]] void fail(const char* call) const {
    throw std::runtime_error{std::string{call} + "(" + path_ + "): " + std::generic_category().message(errno)};
  }

  std::string path_;
  std::vector<char> buffer_ = std::vector<char>(block_size);  // allocated before the fd is opened
  int fd_ = -1;
};

}  // namespace dlpool::plugins
