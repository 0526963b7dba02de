#pragma once
// What tracing costs (PoolOptions::trace): a workload on a pool with a trace file against the
// same workload on a pool without, run by turns so that both see the same machine.

#include "report.hpp"

#include <string>

namespace dlpool {
class Pool;
}

namespace dlpool::bench {

using Workload = Row (*)(Pool& pool, int size);

/// `workload` (named `name`) on a traced and an untraced pool of `processes` workers, `repeat`
/// times each by turns after one warm-up each: "<name>_traced", whose value is the untraced
/// median rate ("untraced") times the median ratio of each traced run to the untraced run beside
/// it, with that overhead in percent and the trace's size over all the traced runs.
[[nodiscard]] Row trace_overhead(const std::string& name, Workload workload, int processes, int size, int repeat);

}  // namespace dlpool::bench
