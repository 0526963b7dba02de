// The bundled `bench` plugin: the tasks dlpool-bench runs. The first four are the functions of
// the CPython peer (tools/bench/peer/mp_pool_bench.py), so both pools time the same work:
//
//   dlpool::Task<std::int64_t(std::int64_t)> noop{"bench", "noop"};
//   dlpool::Task<std::string(std::string)> echo{"bench", "echo"};           // bytes in, bytes out
//   dlpool::Task<std::int64_t(std::int64_t)> fail{"bench", "fail"};         // always throws
//   dlpool::Task<std::int64_t(std::int64_t)> count_primes{"bench", "count_primes"};
//
// The last two exist for the worker-loss measurement: worker_pid tells which worker answered,
// hold_until_killed reports its pid through a fifo and then never returns.

#include <dlpool/plugin.hpp>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

DLPOOL_PLUGIN(bench, "1.0.0")

namespace {

std::int64_t noop(std::int64_t x) { return x; }
DLPOOL_TASK(noop)

/// Python's echo(b) on bytes: std::string carries any bytes, NULs included.
std::string echo(std::string bytes) { return bytes; }
DLPOOL_TASK(echo)

/// The same for a task that reads its argument where it lies and returns it from there: a large
/// one is read in the shared arena, and copied once, into the arena, as the result.
std::string_view echo_view(std::string_view bytes) { return bytes; }
DLPOOL_TASK(echo_view)

/// The peer raises ValueError; std::invalid_argument is its C++ counterpart.
std::int64_t fail(std::int64_t x) { throw std::invalid_argument{"task " + std::to_string(x) + " failed on purpose"}; }
DLPOOL_TASK(fail)

/// CPU-bound work: count primes below limit by trial division. Statement for statement the
/// peer's loop (for n in range(2, limit): d = 2; while d * d <= n: ...; else: count += 1), so the
/// two pools do the same number of divisions.
std::int64_t count_primes(std::int64_t limit) {
  std::int64_t count = 0;
  for (std::int64_t n = 2; n < limit; ++n) {
    bool prime = true;
    for (std::int64_t d = 2; d * d <= n; ++d) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    if (prime) ++count;
  }
  return count;
}
DLPOOL_TASK(count_primes)

/// The pid of the worker that ran this call (the argument is ignored: tasks take a value).
std::int64_t worker_pid(std::int64_t) { return static_cast<std::int64_t>(::getpid()); }
DLPOOL_TASK(worker_pid)

/// Writes "<pid>\n" to the fifo at `fifo_path`, then waits for a signal forever: the caller
/// learns which worker holds the call, kills it and times what the pool does about it. The
/// caller holds the fifo open for reading, so open() does not block.
std::int64_t hold_until_killed(std::string fifo_path) {
  const int fd = ::open(fifo_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error{errno, std::generic_category(), "open(" + fifo_path + ")"};
  const std::string line = std::to_string(::getpid()) + "\n";
  // Shorter than PIPE_BUF, so the write is atomic: all of it or an error.
  const auto written = ::write(fd, line.data(), line.size());
  const int write_errno = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size()))
    throw std::system_error{write_errno, std::generic_category(), "write(" + fifo_path + ")"};
  for (;;) ::pause();
}
DLPOOL_TASK(hold_until_killed)

}  // namespace
