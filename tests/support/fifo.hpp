#pragma once
// Event-based synchronisation between a test and the tasks it runs: a per-test temp directory
// and fifos in it, for testkit's wait_fifo (a gate the test opens) and signal_then_wait (which
// also reports "started" through a second fifo).

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::test {

/// A mkdtemp directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const auto base = std::filesystem::temp_directory_path() / "dlpool-test-XXXXXX";
    std::string name = base.string();
    if (::mkdtemp(name.data()) == nullptr)
      throw std::system_error{errno, std::generic_category(), "mkdtemp(" + name + ")"};
    path_ = name;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// A fifo that the test holds open read-write for its whole life. Because the test always holds
/// both ends:
///  - a task's open() of it, for reading or writing, never blocks;
///  - what the test writes stays in the fifo until a task reads it, however late the task comes,
///    so release() never waits for anyone and never loses a wake-up;
///  - when it is destroyed, a task still blocked reading it sees EOF (testkit's wait_fifo then
///    returns), so a failing test cannot leave a worker stuck.
/// One fifo gates one task: wait_fifo reads through a buffered stream, which may swallow several
/// lines at once.
class Fifo {
 public:
  explicit Fifo(std::filesystem::path path) : path_{std::move(path)} {
    if (::mkfifo(path_.c_str(), 0600) != 0)
      throw std::system_error{errno, std::generic_category(), "mkfifo(" + path_.string() + ")"};
    // O_CLOEXEC: a worker that inherited this fd would keep the fifo's writer alive.
    fd_ = ::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) throw std::system_error{errno, std::generic_category(), "open(" + path_.string() + ")"};
  }
  Fifo(Fifo&& other) noexcept : path_{std::move(other.path_)}, fd_{std::exchange(other.fd_, -1)} {}
  Fifo& operator=(Fifo&&) = delete;
  Fifo(const Fifo&) = delete;
  ~Fifo() {
    if (fd_ >= 0) ::close(fd_);
  }

  [[nodiscard]] std::string path() const { return path_.string(); }

  /// Lets the task blocked (or about to block) on this fifo go on.
  void release() {
    constexpr char line[] = "go\n";
    if (::write(fd_, line, sizeof line - 1) != static_cast<ssize_t>(sizeof line - 1))
      throw std::system_error{errno, std::generic_category(), "write(" + path_.string() + ")"};
  }

  /// Reads lines that tasks wrote (signal_then_wait's "started" reports) until `count` have
  /// arrived or `bound` has passed; returns what arrived, so the caller can assert on the count.
  std::vector<std::string> read_lines(std::size_t count, std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    std::vector<std::string> lines;
    while (lines.size() < count) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      char buf[512];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) continue;
      partial_.append(buf, static_cast<std::size_t>(n));
      for (auto nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n')) {
        lines.push_back(partial_.substr(0, nl));
        partial_.erase(0, nl + 1);
      }
    }
    return lines;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::string partial_;
};

}  // namespace dlpool::test
