#pragma once
// An agent's death in the middle of a map: the figure mpi4py.futures has none for (a dead
// worker rank aborts its job or leaves the future pending; see ../shared/MPI.md).

#include "report.hpp"

#include <chrono>
#include <cstdint>

namespace dlpool {
class Pool;
}

namespace dlpool::bench {

/// SIGKILLs the dlpool-agent of the highest rank while a map of count_primes(limit) items has a
/// chunk running in each worker, and times how long the map then takes to return, with its
/// results or its WorkerLostError (ms). `heartbeat` is the pool's MpiOptions::heartbeat, which
/// bounds how late the death is noticed. The agents must run on this machine (as under one
/// mpirun): the agent is found as the ancestor of one of its workers. The pool keeps one agent
/// fewer afterwards, so this runs last.
[[nodiscard]] Row mpi_agent_loss(Pool& pool, std::chrono::milliseconds heartbeat, std::int64_t limit);

}  // namespace dlpool::bench
