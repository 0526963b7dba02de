// `dlpool report TRACE [--html OUT.html]`: what a pool's trace (docs/trace-format.md) says, as
// one JSON object on stdout, and with --html a self-contained page of charts and tables.

#include "commands.hpp"

#include "report/html_report.hpp"
#include "report/summary_json.hpp"
#include "report/trace_summary.hpp"

#include <cstdio>

namespace dlpool::cli {

int run_report(const ReportOptions& options) {
  const auto summary = report::summarise_trace(options.trace);
  std::uint64_t page_bytes = 0;
  if (options.html) page_bytes = report::write_html_report(summary, *options.html);
  const auto line = report::summary_json(summary, [&](report::JsonWriter& out) {
    if (!options.html) return;
    out.Key("html");
    out.StartObject();
    out.Key("file");
    report::write_string(out, *options.html);
    out.Key("bytes");
    out.Uint64(page_bytes);
    out.EndObject();
  });
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace dlpool::cli
