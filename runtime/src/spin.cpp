// Why results are waited for with a spin first: the answer to a short task arrives a few tens of
// microseconds after it was sent, and waking a thread that has gone to sleep on a futex costs
// about as much again on a virtual machine (an inter-processor interrupt, then the scheduler).
// A caller that keeps polling for that long instead sees the result the moment the result
// handler publishes it. The budget is small enough that a caller waiting on a long task wastes
// next to nothing before it blocks.

#include <dlpool/detail/spin.hpp>

#include <chrono>

#include <sched.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace dlpool::detail {
namespace {

constexpr auto spin_budget = std::chrono::microseconds{100};

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

bool spin_until_changed(const std::atomic<std::uint32_t>& word, std::uint32_t seen) noexcept {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + spin_budget;
  for (;;) {
    // The clock is read once per 64 polls: a poll costs a few nanoseconds, a clock read ~20.
    for (int i = 0; i < 64; ++i) {
      if (word.load(std::memory_order_acquire) != seen) return true;
      cpu_relax();
    }
    if (Clock::now() >= until) return false;
    sched_yield();
  }
}

}  // namespace dlpool::detail
