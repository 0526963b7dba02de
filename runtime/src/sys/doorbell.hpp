#pragma once
// A worker's doorbell: an eventfd the host signals just before it writes to the worker's task
// pipe, and which a worker that has just run a long chunk waits on (with the pipe) instead of
// blocking in read().
//
// Why: a pipe write wakes its reader as a "sync" wake-up, which the scheduler serves on the
// writer's CPU, even when the reader's own CPU is idle; always so where CPUs share no cache in
// the scheduler's view, as on many VMs. A host thread handing out work on a CPU where another
// worker runs a CPU-bound task then stacks the two workers there, and the CPU the woken one left
// sits idle until the load balancer moves one of them, milliseconds later (seen with ftrace in
// cpu_speedup). An eventfd's wake-up is not sync: the worker goes back to its own, idle CPU, and
// the pipe's wake-up that follows finds it awake already and changes nothing.
//
// After short chunks the worker blocks in read(), one syscall, and the host does not ring: the
// apply path stays as it was. Both sides judge "long" by the same bound; the host's measure of
// a chunk (from sending it, or from its predecessor's result when queued behind one, to reading
// its result) spans the worker's in the cases that matter, so the host rings when the worker
// waits on the doorbell. A ring too many only leaves a count that the next wait drains; one
// missing only costs that wake-up its placement, as the pipe is watched too.

#include <chrono>

namespace dlpool::detail {

inline constexpr std::chrono::milliseconds doorbell_after_chunks_of{1};

}  // namespace dlpool::detail
