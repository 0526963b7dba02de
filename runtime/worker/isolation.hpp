#pragma once
// What keeps a worker's tasks from reaching past it: its own process group, protocol descriptors
// that processes its tasks fork do not inherit, and a watchdog that ends the worker once its host
// is gone, even while a task runs.

namespace dlpool::detail {
class Ledger;
}

namespace dlpool::worker {

/// Puts this worker in a process group of its own (a task's kill(0, sig), or a terminal's ^C,
/// then reaches the worker and what it started, never the host), and makes every process a task
/// fork()s close the protocol descriptors (`fds`, -1 entries skipped) and unmap `ledger` in the
/// child, before the task's code runs there: a grandchild holding the task pipe open would keep
/// the host's writes to a dead worker from failing. (A raw clone() or vfork() skips fork
/// handlers; what it execs still loses them, as they are close-on-exec.)
void isolate_from_host(const int (&fds)[3], detail::Ledger& ledger);

/// Adds `fd` to the descriptors a process a task forks closes (the sandbox's listener: a child
/// holding it would wait forever on its own signals once the worker is gone).
void close_in_forked_children(int fd);

/// Starts a thread that ends this worker (exit status 1) as soon as its host is gone: the parent
/// process exits (a pidfd of it polled, and the parent pid re-checked: PR_SET_PDEATHSIG would
/// follow the host thread that spawned the worker, not the host process) or the host's end of
/// `results_fd` is closed. Without it a worker in the middle of a long task would run on, an
/// orphan, until the task returned.
void watch_host(int results_fd);

}  // namespace dlpool::worker
