// Test-only plugin: tasks that misbehave on purpose, and tiny ones for checking semantics.

#include "testkit_types.hpp"

#include <dlpool/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <unistd.h>

DLPOOL_PLUGIN(testkit, "1.0.0")

namespace {

int square(int x) { return x * x; }
DLPOOL_TASK(square)

std::string repeat(std::string s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
DLPOOL_TASK(repeat)

int add(int a, int b) { return a + b; }
DLPOOL_TASK(add)

std::string echo(std::string bytes) { return bytes; }
DLPOOL_TASK(echo)

// Views: arguments read where they lie, results written from where they are.
std::string_view echo_view(std::string_view bytes) { return bytes; }
DLPOOL_TASK(echo_view)

std::uint64_t byte_sum(std::span<const std::byte> bytes) {
  std::uint64_t sum = 0;
  for (const auto b : bytes) sum += std::to_integer<unsigned>(b);
  return sum;
}
DLPOOL_TASK(byte_sum)

std::span<const std::byte> tail_bytes(std::span<const std::byte> bytes, std::uint64_t n) {
  return bytes.last(std::min<std::size_t>(n, bytes.size()));
}
DLPOOL_TASK(tail_bytes)

// A view beside a type Cereal decodes (the archive's path, not the direct one).
std::string slice(std::string_view text, std::pair<std::uint64_t, std::uint64_t> range) {
  return std::string{text.substr(range.first, range.second)};
}
DLPOOL_TASK(slice)

/// The mapping `bytes` lie in, as /proc/self/maps names it ("" for an anonymous one): where
/// the worker found its argument.
std::string where(std::string_view bytes) {
  std::ifstream maps{"/proc/self/maps"};
  const auto at = reinterpret_cast<std::uintptr_t>(bytes.data());
  for (std::string line; std::getline(maps, line);) {
    std::uintptr_t from = 0, to = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &from, &to) != 2 || at < from || at >= to) continue;
    const auto path = line.find('/') != std::string::npos ? line.find('/') : line.find('[');
    return path == std::string::npos ? std::string{} : line.substr(path);
  }
  return "nowhere";
}
DLPOOL_TASK(where)

int pid() { return static_cast<int>(::getpid()); }
DLPOOL_TASK(pid)

/// Returns x, or throws std::invalid_argument when x is negative.
int fail_if_negative(int x) {
  if (x < 0) throw std::invalid_argument{"negative input " + std::to_string(x)};
  return x;
}
DLPOOL_TASK(fail_if_negative)

/// Throws an error whose message is `size` bytes long (CPython's test_map_no_failfast).
int fail_big(int size) { throw std::runtime_error(std::string(static_cast<std::size_t>(size), 'x')); }
DLPOOL_TASK(fail_big)

/// Throws something that is not a std::exception.
int throw_int(int x) { throw x; }
DLPOOL_TASK(throw_int)

/// Blocks until a line can be read from the fifo at `path`, then returns `value`. Tests use it
/// to hold a worker busy until they decide, without sleeping.
int wait_fifo(std::string path, int value) {
  std::ifstream fifo{path};
  std::string line;
  std::getline(fifo, line);
  return value;
}
DLPOOL_TASK(wait_fifo)

/// Appends a line to `path`, then blocks on the fifo `gate`: lets a test see that the task started.
int signal_then_wait(std::string started, std::string gate, int value) {
  { std::ofstream{started, std::ios::app} << value << '\n'; }
  return wait_fifo(std::move(gate), value);
}
DLPOOL_TASK(signal_then_wait)

/// Appends `value` to `path` and returns it: the order in which a worker started its tasks.
int note(std::string path, int value) {
  std::ofstream{path, std::ios::app} << value << '\n';
  return value;
}
DLPOOL_TASK(note)

/// Keeps its CPU busy for `ms` milliseconds, then returns it: a long chunk without sleeping.
int spin(int ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{ms};
  while (std::chrono::steady_clock::now() < until) {
  }
  return ms;
}
DLPOOL_TASK(spin)

/// Dies by the given signal, or exits with status 0 when sig is 0.
int die(int sig) {
  if (sig == 0) std::_Exit(0);
  std::raise(sig);
  return -1;
}
DLPOOL_TASK(die)

/// Reports its pid on `started`, then never returns; with `ignore_sigterm` only SIGKILL ends it.
/// What timeouts, cancel and terminate are tested against.
int hang(std::string started, bool ignore_sigterm) {
  if (ignore_sigterm) std::signal(SIGTERM, SIG_IGN);
  { std::ofstream{started, std::ios::app} << ::getpid() << '\n'; }
  for (;;) ::pause();
}
DLPOOL_TASK(hang)

/// x * x, except that item `at` ends its worker `how`: "segv", "abort", "exit" (status 0),
/// "sigkill", or "close_pipes" (closes the worker's task and result pipes, then returns).
int lethal(int x, int at, std::string how) {
  if (x == at) {
    if (how == "segv") std::raise(SIGSEGV);
    if (how == "abort") std::abort();
    if (how == "exit") std::exit(0);
    if (how == "sigkill") std::raise(SIGKILL);
    if (how == "close_pipes") {
      ::close(3);
      ::close(4);
    }
  }
  return x * x;
}
DLPOOL_TASK(lethal)

/// Remembers a value for the life of the worker: the initializer's target.
std::string& remembered() {
  static std::string value;
  return value;
}
void remember(std::string value) { remembered() = std::move(value); }
DLPOOL_TASK(remember)
std::string recall() { return remembered(); }
DLPOOL_TASK(recall)

testkit::Point mirror(testkit::Point p) { return {p.y, p.x}; }
DLPOOL_TASK(mirror)

std::map<std::string, int> count_words(std::vector<std::string> words) {
  std::map<std::string, int> counts;
  for (const auto& w : words) ++counts[w];
  return counts;
}
DLPOOL_TASK(count_words)

void nothing(int) {}
DLPOOL_TASK(nothing)

/// Writes to stdout and stderr: neither may reach the protocol or the host's stdout.
int chatty(int x) {
  std::printf("chatty stdout %d\n", x);
  std::fflush(stdout);
  std::fprintf(stderr, "chatty stderr %d\n", x);
  return x;
}
DLPOOL_TASK(chatty)

}  // namespace
