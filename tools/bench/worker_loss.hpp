#pragma once
// dlpool's own workload, with no CPython figure (its pool hangs when a worker is killed,
// bpo-22393): how long a SIGKILLed worker costs the caller.

#include "report.hpp"

namespace dlpool::bench {

/// `reps` times: a worker runs a call that never returns; this process SIGKILLs it and times
///   error_ms: the kill -> the call's get() throwing WorkerLostError;
///   value:    the kill -> a fresh apply answered by a different (replacement) worker (ms).
/// The pool has one worker, so that fresh apply can only be answered once the replacement is up
/// and serving: the figure is loss detected + chunk failed + worker respawned + HELLO + one
/// round trip, nothing hidden by a sibling worker. Value and error_ms are medians over the kills;
/// "runs" lists every kill's value.
[[nodiscard]] Row sigkill_recovery(int reps);

}  // namespace dlpool::bench
