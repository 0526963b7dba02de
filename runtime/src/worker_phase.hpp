#pragma once
// The life of a worker as one state machine: the phase it is in, and every transition the pool
// may make, listed in one place (allowed()).
//
//   starting ──HELLO──> initializing ──INIT ok──> ready ──> retiring ──> exiting ──> stopping ──> killed ──> reaped
//   (spawned)           (initializer runs)        (takes   (no more      (asked to   (SIGTERM     (SIGKILL    (exit
//                                                  work)    work, ends   exit, or    sent: time-  sent)       status
//                                                           what it      announced   out, cancel,             known)
//                                                           holds)       it: SIGKILL terminate,
//                                                                        after the   lost, start
//                                                                        grace)      timeout)
//
// Phases only move forward, but may skip: any phase from `retiring` on can be entered from any
// earlier one (a worker that never said hello is stopped for its start timeout, a worker killed
// for a protocol error goes straight to `killed`, a worker may exit at any time). Being busy is
// not a phase: a worker may hold several chunks at once, and whether it holds any is its queue's
// business, not its life's.
//
// A worker's progress towards ready may be heard of after it has left those phases: a worker
// being stopped for its start timeout may still say hello, which the pool reads while it drains
// the dead worker's pipe, and which decides the error it reports. Such late news is recorded
// (reached() says so) without moving the phase back; see reach().

#include <cstdint>
#include <stdexcept>
#include <string>

namespace dlpool::detail {

enum class WorkerPhase : std::uint8_t {
  starting,  // spawned; no HELLO yet
  initializing,  // said HELLO; runs the pool's initializer (left at once without one)
  ready,  // takes work
  retiring,  // takes no more work and finishes what it holds (maxtasksperchild, restart)
  exiting,  // asked to exit (EOF on its task pipe), or announced it: SIGKILL after kill_grace
  stopping,  // the pool sent SIGTERM (see Worker::Stop for why): SIGKILL after kill_grace
  killed,  // SIGKILL sent
  reaped,  // its exit status is known
};

[[nodiscard]] constexpr const char* to_string(WorkerPhase phase) noexcept {
  constexpr const char* names[] = {"starting", "initializing", "ready",  "retiring",
                                   "exiting",  "stopping",     "killed", "reaped"};
  return names[static_cast<int>(phase)];
}

/// The transitions the pool makes. Everything else is a bug in the pool.
[[nodiscard]] constexpr bool allowed(WorkerPhase from, WorkerPhase to) noexcept {
  using enum WorkerPhase;
  switch (to) {
    case starting: return false;  // only a new worker starts
    case initializing: return from == starting;  // HELLO
    case ready: return from == initializing;  // INIT succeeded, or no initializer
    case retiring: return from <= ready;  // maxtasksperchild reached, restart
    case exiting: return from <= retiring;  // EOF sent, RETIRE, initializer failed
    case stopping: return from <= exiting;  // stop_worker (SIGTERM)
    case killed: return from <= stopping;  // kill_grace over, protocol error
    case reaped: return from <= killed;  // a worker may exit in any phase
  }
  return false;
}

/// Throws std::logic_error for a transition allowed() does not list.
inline void transition(WorkerPhase from, WorkerPhase to) {
  if (!allowed(from, to))
    throw std::logic_error{std::string{"worker phase: illegal transition "} + to_string(from) + " -> " + to_string(to)};
}

/// A worker's phase, and the phases it has been in. Guarded by the pool lock.
class WorkerLife {
 public:
  [[nodiscard]] WorkerPhase phase() const noexcept { return phase_; }
  /// Whether it is in `phase` or has been.
  [[nodiscard]] bool reached(WorkerPhase phase) const noexcept { return (reached_ & bit(phase)) != 0; }
  /// Whether it is before `phase` (and so may still enter it).
  [[nodiscard]] bool before(WorkerPhase phase) const noexcept { return phase_ < phase; }

  /// Enters `to`; throws std::logic_error if the transition is not allowed().
  void to(WorkerPhase to) {
    transition(phase_, to);
    phase_ = to;
    reached_ |= bit(to);
  }
  /// Progress towards ready (`initializing` or `ready`): entered if the worker is still on its way,
  /// only recorded as late news if it has moved on (retiring already, or being stopped).
  /// News already heard (a second HELLO) changes nothing.
  void reach(WorkerPhase to) {
    if (reached(to)) return;
    if (phase_ < WorkerPhase::retiring) {
      this->to(to);
      return;
    }
    if (to != WorkerPhase::initializing && to != WorkerPhase::ready)
      throw std::logic_error{std::string{"worker phase: "} + to_string(to) + " is not progress towards ready"};
    if (to == WorkerPhase::ready && !reached(WorkerPhase::initializing))
      throw std::logic_error{"worker phase: ready before initializing"};
    reached_ |= bit(to);
  }

 private:
  static constexpr std::uint16_t bit(WorkerPhase phase) noexcept {
    return static_cast<std::uint16_t>(1U << static_cast<unsigned>(phase));
  }
  WorkerPhase phase_ = WorkerPhase::starting;
  std::uint16_t reached_ = bit(WorkerPhase::starting);
};

}  // namespace dlpool::detail
