#pragma once
// dlpool's own memory figures: the host's resident memory while an imap runs over an endless
// input (it must stay flat: the input is pulled lazily and results do not pile up), and each
// worker's resident memory.

#include "report.hpp"

#include <cstdint>

namespace dlpool {
class Pool;
}

namespace dlpool::bench {

/// This process's resident set size now, from /proc/self/statm.
[[nodiscard]] std::uint64_t host_rss_bytes();

/// Takes `items` results of imap(echo, endless generator of 1 KiB strings), chunksize 1, then
/// abandons the iterator. The heap is trimmed first (malloc_trim), then the host RSS is sampled
/// every 1% of the items: value is the largest sample (MiB); before_mib, first_mib (after the
/// first 1%), last_mib and max_mib show whether it stays flat.
[[nodiscard]] Row imap_endless_rss(Pool& pool, std::int64_t items);

/// Pool::workers() now: value is the largest worker RSS (MiB); "workers" lists each one's pid,
/// RSS and items done; host_rss_mib is this process's.
[[nodiscard]] Row worker_rss(Pool& pool);

}  // namespace dlpool::bench
