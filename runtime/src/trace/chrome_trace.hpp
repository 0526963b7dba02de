#pragma once
// Writes a pool's trace file in the Chrome Trace Event Format, as docs/trace-format.md lays it
// out: one event per line, so that a file cut short by a crash loses at most its last line, and
// readers (Perfetto, `dlpool report`) can take it line by line.

#include "chunk_json.hpp"
#include "chunk_trace.hpp"
#include "sys/unique_fd.hpp"

#include <dlpool/observe.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlpool::detail {

class ChromeTraceWriter {
 public:
  using Clock = std::chrono::steady_clock;

  /// Creates (truncates) `path` and writes the file's head. Throws std::system_error naming it.
  ChromeTraceWriter(const std::string& path, Clock::time_point start);

  /// Appends the events, then the chunks (remote run times already on the host's clock), and an
  /// `events dropped` note for `dropped` records left out. A write error (a full disk) is
  /// logged once; the file then stays as it was and the pool goes on.
  void write(const std::vector<TraceEvent>& events, const std::vector<ChunkTrace>& chunks, std::uint64_t dropped);
  /// Completes the file ("]}"), once.
  void finish();

 private:
  void begin_event(std::string_view ph, std::string_view cat, std::string_view name, int pid, std::uint64_t tid,
                   Clock::time_point ts);
  void put_ts(std::string_view key, std::int64_t ns);
  /// Names a process (no `tid`) or a thread of the viewer's, and places it.
  void name_track(int pid, std::optional<std::uint64_t> tid, std::string_view name, std::uint64_t sort_index);
  void name_host_track(int track);
  void name_worker(const TraceEvent& event);
  void worker_event(const TraceEvent& event);
  void pool_event(const TraceEvent& event);
  void flush();

  const std::string path_;
  const Clock::time_point start_;
  ChunkJson chunks_;
  UniqueFd fd_;
  std::string out_;
  bool failed_ = false, finished_ = false;
  std::uint64_t next_flow_ = 1;
  int last_sender_ = 0;  // a host track named already
  std::set<int> named_pids_;
  std::set<std::pair<int, std::uint64_t>> named_tracks_;
};

}  // namespace dlpool::detail
