#pragma once

namespace dlpool::worker {

/// `dlpool-worker --fork-server`: a pool's zygote. It starts like any worker (exec, dynamic
/// linking, C++ runtime), loads no plugin, and then makes each further worker of its pool by
/// cloning itself, which skips all of that: the host sends a request on fd 3 (a SOCK_SEQPACKET
/// socket) carrying the new worker's task-pipe read end and result-pipe write end; the server
/// clones with CLONE_PARENT, so that the worker is the host's child exactly as a spawned one
/// (the host's pidfd and waitpid work unchanged), and answers with the worker's pid (i64), or
/// -errno if it could not.
///
/// Returns only in a new worker, with its pipes on fds 3 and 4. The server itself exits when the
/// host closes the socket, or with status 3 at once when it cannot clone safely here (a
/// sanitizer build, or no PR_GET_TID_ADDRESS): the host then spawns every worker itself.
void serve_forks();

}  // namespace dlpool::worker
