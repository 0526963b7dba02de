#pragma once
// The summary `dlpool report TRACE` prints: one JSON object, every number exact (integers as
// integers, microseconds with at most three decimals, as the trace has them).

#include "json_out.hpp"
#include "trace_summary.hpp"

#include <functional>
#include <string>

namespace dlpool::cli::report {

/// How many of the slowest runs and of the losses the printed summary lists (the page lists
/// more: see html_report.hpp).
inline constexpr std::size_t summary_slowest = 5;
inline constexpr std::size_t summary_losses = 20;

/// Writes the summary object; `slowest` and `losses` cap its two lists, `more` may add members
/// at its end.
void write_summary(JsonWriter& out, const TraceSummary& s, std::size_t slowest = summary_slowest,
                   std::size_t losses = summary_losses, const std::function<void(JsonWriter&)>& more = {});

/// A chunk as {"job","chunk","first","items"[,"line"[,"last_line"]]} members of the object open.
void write_chunk_members(JsonWriter& out, const ChunkRef& chunk);

/// A track as "worker" (its number), "rank" (a remote one's MPI rank) and "pid" (its OS pid).
void write_worker_members(JsonWriter& out, const Track& track);

/// The summary as one line of JSON, without the newline; `more` may add members at its end.
[[nodiscard]] std::string summary_json(const TraceSummary& s, const std::function<void(JsonWriter&)>& more = {});

}  // namespace dlpool::cli::report
