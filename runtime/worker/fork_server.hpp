#pragma once

namespace dlpool::worker {

class PluginLoader;

/// `dlpool-worker --fork-server`: a pool's zygote. It starts like any worker (exec, dynamic
/// linking, C++ runtime), loads no plugin, and then makes each worker of its pool by cloning
/// itself, which skips all of that: the host sends a request on fd 3 (a SOCK_SEQPACKET socket)
/// carrying the new worker's task-pipe read end and result-pipe write end; the server clones
/// with CLONE_PARENT, so that every process involved is the host's child exactly as a spawned one
/// (the host's pidfd and waitpid work unchanged). The clone becomes the server and the process
/// that received the request becomes the worker: the answer (i64) is the new server's pid, or
/// -errno if it could not clone (and stays the server).
///
/// A request's bytes are the names of plugins the pool's workers have loaded, each followed by
/// '\0': before it clones, the server inspects those files (PluginLoader::inspect_ahead), so
/// that this worker and every later one inherit that work instead of repeating it.
///
/// Returns only in a new worker, with its pipes on fds 3 and 4. The server itself exits when the
/// host closes the socket, or with status 3 at once when it cannot clone safely here (a
/// sanitizer build, or no PR_GET_TID_ADDRESS): the host then spawns every worker itself.
void serve_forks(PluginLoader& loader);

}  // namespace dlpool::worker
