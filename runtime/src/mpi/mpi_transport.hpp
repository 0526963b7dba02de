#pragma once
// The MPI transport: executors are worker processes on the nodes of an MPI job, each started and
// run by that node's dlpool-agent (agent/). Rank 0 is the host; this file is all the pool sees of
// MPI (the implementation, in mpi_transport.cpp, keeps <mpi.h> to itself).
//
// One worker on an agent is one executor (a slot), so routing treats it as it treats a local
// worker: one chunk running, the ones behind it queued (the queue is the slot's credit), its
// deadline, its halt, its loss. The agent writes a slot's next task frame to its worker only once
// MPI has taken the previous chunk's result (a blocking send): so if the agent dies, the chunk at
// the front of the host's queue for the slot is the only one that may have started (it fails),
// and the ones behind it never did (they are sent to another agent).
//
// The end of a pool is a handshake: every agent ends its workers and answers, and MPI_Finalize,
// which hangs in every survivor once a rank has died, is called only if all did. A restart's
// probe runs on every agent, and its plugin files are committed on all of them or on none.
//
// Threads: one thread of the transport's own makes every MPI call (MPI_THREAD_FUNNELED); it
// sends what routing's threads post, receives everything, and watches the agents' heartbeats.
// What it receives for executors goes to the pool's result handler, which runs the events.

#include <dlpool/pool.hpp>

#include "transport.hpp"

#include <memory>

namespace dlpool::detail {

/// Starts MPI (unless the program did), finds the agents (the job's other ranks, or
/// MpiOptions::spawn_agents spawned) and sends them the pool's settings; returns once every
/// agent has said how many workers it runs (Transport::room). Throws WorkerStartError naming
/// what went wrong (no agents, an agent that cannot serve, one that did not answer in
/// start_timeout) and UsageError for options MPI cannot honour.
std::unique_ptr<Transport> make_mpi_transport(const PoolOptions& options, TransportEvents& events);

}  // namespace dlpool::detail
