#pragma once
// `dlpool report TRACE --html OUT.html`: a self-contained page (inline CSS and script, no
// network fetch: its Content-Security-Policy forbids any) that draws the trace's timeline,
// worker utilisation, run time and queue wait histograms, slowest chunks and worker losses
// from the summary, embedded as JSON. Its size is bounded whatever the trace's: bars closer
// than a pixel are merged, and the lists are capped.

#include "trace_summary.hpp"

#include <cstdint>
#include <string>

namespace dlpool::cli::report {

/// What bounds the page.
struct PageLimits {
  std::size_t plot_width = 1200;   // px of the timeline: a row never has more bars
  std::size_t bar_budget = 40000;  // bars on the whole timeline: rows get fewer px when many
  std::size_t util_buckets = 240;  // bars of the utilisation chart
  std::size_t losses = 1000;       // losses listed (the count of all is in the summary)
  // Up to this many worker tracks get a row each; past it (workers replaced often, as with
  // maxtasksperchild), tracks whose lives do not overlap share a row.
  std::size_t rows_unpacked = 128;
};

/// The data the page's script draws, as JSON (see page_data.cpp for its members).
[[nodiscard]] std::string page_data_json(const TraceSummary& s, const PageLimits& limits = {});

/// The whole page.
[[nodiscard]] std::string html_report(const TraceSummary& s, const PageLimits& limits = {});

/// Writes the page to `path` (replaced if it exists). Returns its size in bytes. Throws
/// std::runtime_error naming the file.
std::uint64_t write_html_report(const TraceSummary& s, const std::string& path);

}  // namespace dlpool::cli::report
