// `dlpool report TRACE [--html OUT.html]`: what a pool's trace (docs/trace-format.md) says, as
// one JSON object on stdout.

#include "commands.hpp"

#include "report/summary_json.hpp"
#include "report/trace_summary.hpp"

#include <cstdio>

namespace dlpool::cli {

int run_report(const ReportOptions& options) {
  const auto summary = report::summarise_trace(options.trace);
  std::printf("%s\n", report::summary_json(summary).c_str());
  return 0;
}

}  // namespace dlpool::cli
