#pragma once
// One rank's MPI traffic, for the one thread of the process that makes MPI calls
// (MPI_THREAD_FUNNELED): messages sent without blocking, their buffers kept until MPI is done
// with them, and messages received whole, from any rank. Includes <mpi.h>: only mpi/ sees it.

#include <mpi.h>

#include <chrono>
#include <string>
#include <vector>

namespace dlpool::detail::mpi {

/// Initializes MPI on the calling thread unless the program has. Returns whether it did (and so
/// finalizes it). Throws std::runtime_error if MPI was finalized already, or if the program
/// initialized it for threads below MPI_THREAD_MULTIPLE (the caller is not its main thread).
bool initialize();

/// What an MPI error code means.
std::string error_string(int code);

class Channel {
 public:
  explicit Channel(MPI_Comm comm) noexcept : comm_{comm} {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel();

  [[nodiscard]] MPI_Comm comm() const noexcept { return comm_; }
  /// Sends `bytes` to `rank` without blocking.
  void send(int rank, std::string bytes);
  /// Sends `bytes` to `rank` and returns once MPI is done with them: once a message too large to
  /// be buffered has been taken by `rank`. Throws std::runtime_error if MPI refuses.
  void send_now(int rank, std::string_view bytes);
  /// Whether sends are under way.
  [[nodiscard]] bool sending() const noexcept { return !requests_.empty(); }
  /// Completes sends until none is under way or `bound` has passed (an agent that died meanwhile
  /// never receives). Returns whether all completed.
  bool drain(std::chrono::milliseconds bound);
  /// Lets go of the sends MPI is done with. Returns whether any were.
  bool complete_sends();
  /// A whole message, if one has arrived: true, with its source and bytes.
  bool receive(int& source, std::string& bytes);
  /// `rank` is gone: its sends will never complete. Their requests are freed, and their buffers
  /// kept (MPI may still read them) until this channel is destroyed.
  void abandon(int rank);

 private:
  /// Keeps the sends `keep(i)` is true of, in order.
  template <class Keep>
  void keep_if(Keep keep);

  MPI_Comm comm_;
  // Parallel: a request and what it sends (MPI_Testsome wants the requests contiguous).
  std::vector<MPI_Request> requests_;
  std::vector<std::string> buffers_;
  std::vector<int> ranks_;
  std::vector<std::string> abandoned_;
  std::vector<int> done_;  // MPI_Testsome's scratch
};

/// How an MPI thread waits for work: it spins for a while after its last activity (while work
/// flows the next message comes within microseconds, and a sleep would cost more than it
/// saves), then sleeps for longer each time, up to a millisecond, so that an idle rank does not
/// burn a core its node's workers need. (../shared/MPI.md: sleeping alone cut tiny-chunk
/// throughput 20-fold; spinning alone takes a core.) A spinning thread yields on every round:
/// the workers run under SCHED_BATCH and never preempt it, so on a node with fewer cores than
/// processes a spin that does not yield holds up the very chunk it waits for.
class Backoff {
 public:
  using Clock = std::chrono::steady_clock;
  void active() noexcept {
    last_ = Clock::now();
    sleep_ = min_sleep;
  }
  /// How long to sleep before looking again: zero while it spins.
  [[nodiscard]] std::chrono::microseconds next() noexcept {
    if (Clock::now() - last_ < spin) return {};
    const auto sleep = sleep_;
    sleep_ = std::min(sleep_ * 2, max_sleep);
    return sleep;
  }

 private:
  // Spin long enough to cover a round trip through the host and a worker (~50-300 us on a busy
  // 2-core VM): sleeps overshoot there by far more than they are asked for (timer slack, and the
  // wake-up waits for a CPU), which made every apply cost 3 ms with a 50 us spin.
  static constexpr std::chrono::microseconds spin{2000}, min_sleep{20}, max_sleep{1000};
  Clock::time_point last_ = Clock::now();
  std::chrono::microseconds sleep_ = min_sleep;
};

}  // namespace dlpool::detail::mpi
