// The report page's HTML and CSS. Self-contained on purpose: a page opened from a cluster's
// scratch directory, offline, or mailed around must look the same, so it loads nothing (system
// fonts, inline SVG), and its Content-Security-Policy forbids any fetch at all, which also keeps
// a trace's strings from ever loading anything even if an escape were missed.

#include "page_parts.hpp"

namespace dlpool::cli::report {

std::string_view page_template() noexcept {
  return R"page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dlpool report">
<title>@TITLE@</title>
<style>
:root {
  --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --panel: #ffffff; --page: #f3f4f6;
  --ok: #2563eb; --error: #d97706; --lost: #dc2626; --util: #059669; --run: #4f46e5; --wait: #0891b2;
}
* { box-sizing: border-box; }
body {
  margin: 0; padding: 20px 28px 40px; background: var(--page); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
}
header h1 { margin: 0; font-size: 22px; }
header h1 span { color: var(--muted); font-weight: normal; }
#subtitle { margin: 4px 0 0; color: var(--muted); }
#warning { margin: 10px 0 0; padding: 8px 12px; border-left: 4px solid var(--error); background: #fffbeb; }
#error { margin: 12px 0; padding: 10px 14px; border-left: 4px solid var(--lost); background: #fef2f2;
         color: #991b1b; font-weight: 600; white-space: pre-wrap; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px;
          margin-top: 16px; }
section h2 { margin: 0 0 4px; font-size: 16px; }
p.note { margin: 0 0 10px; color: var(--muted); font-size: 12.5px; }
#cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr)); gap: 10px; margin: 0; }
#cards div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
#cards dt { color: var(--muted); font-size: 12px; }
#cards dd { margin: 2px 0 0; font-size: 17px; font-weight: 600; }
#cards dd small { display: block; font-size: 12px; font-weight: normal; color: var(--muted); }
.scroll { overflow-x: auto; }
svg { display: block; font-size: 11px; }
svg text { fill: var(--ink); }
svg text.muted, svg .axis text { fill: var(--muted); }
svg .grid line { stroke: var(--line); }
svg .axis line, svg .axis path { stroke: #9ca3af; }
rect.row-bg { fill: #f9fafb; }
rect.run-bar { fill: var(--ok); }
rect.run-bar[data-s="1"] { fill: var(--error); }
rect.run-bar[data-s="2"] { fill: var(--lost); }
rect.fail-strip { fill: var(--error); }
path.loss-mark { fill: var(--lost); stroke: #fff; stroke-width: 1; }
rect.util-bar { fill: var(--util); }
#run-hist rect.hist-bar { fill: var(--run); }
#wait-hist rect.hist-bar { fill: var(--wait); }
rect.run-bar:hover, rect.util-bar:hover, rect.hist-bar:hover { fill-opacity: 0.7; }
.legend { display: flex; gap: 16px; margin: 0 0 8px; font-size: 12.5px; color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px;
            vertical-align: -2px; }
.hists { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.hists section { margin-top: 0; }
.hists-wrap { margin-top: 16px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.cause { max-width: 520px; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; color: #fff; background: var(--ok); }
.badge.error { background: var(--error); }
.badge.lost { background: var(--lost); }
p.empty { color: var(--muted); margin: 6px 0 0; }
#errors li { margin: 2px 0; overflow-wrap: anywhere; }
#tip { position: fixed; pointer-events: none; background: #111827; color: #f9fafb; padding: 6px 9px;
       border-radius: 5px; font-size: 12px; white-space: pre; z-index: 10; }
footer { margin-top: 18px; color: var(--muted); font-size: 12px; }
</style>
</head>
<body data-rendered="no">
<header>
<h1>dlpool report <span id="host"></span></h1>
<p id="subtitle"></p>
<p id="warning" hidden></p>
</header>
<div id="error" hidden></div>
<noscript><div id="noscript">This report is drawn by its own inline script: allow JavaScript to see it.</div></noscript>

<section id="overview">
<h2>Overview</h2>
<dl id="cards"></dl>
</section>

<section id="timeline-section">
<h2>Timeline</h2>
<p class="note" id="timeline-note">One row per worker, one bar per chunk run. Hover over a bar for its times.</p>
<div class="legend"><span><i style="background:var(--ok)"></i>ok</span><span><i style="background:var(--error)"></i>failed</span><span><i style="background:var(--lost)"></i>lost with its worker</span><span><i style="background:var(--ok);opacity:.45"></i>runs merged, partly idle</span><span><i style="background:linear-gradient(var(--error) 25%, var(--ok) 25%)"></i>merged, some failed</span><span style="color:var(--lost)">&#9660;</span><span style="margin-left:-12px">worker lost</span></div>
<div class="scroll"><svg id="timeline" role="img" aria-label="timeline per worker"></svg></div>
</section>

<section id="utilisation-section">
<h2>Worker utilisation</h2>
<p class="note">Fraction of the live workers' time spent running chunks, per slice of the run.</p>
<div class="scroll"><svg id="utilisation" role="img" aria-label="worker utilisation over time"></svg></div>
</section>

<div class="hists hists-wrap">
<section>
<h2>Run time</h2>
<p class="note">Chunks by their time in a worker (log-scale buckets).</p>
<svg id="run-hist" role="img" aria-label="histogram of run times"></svg>
</section>
<section>
<h2>Queue wait</h2>
<p class="note">Chunks by their wait from entering the pool to starting in a worker.</p>
<svg id="wait-hist" role="img" aria-label="histogram of queue waits"></svg>
</section>
</div>

<section id="slowest-section">
<h2>Slowest chunks</h2>
<table>
<thead><tr><th>#</th><th>Run time</th><th>Queue wait</th><th>Input</th><th>Task</th><th>Job / chunk</th><th>Worker</th><th>Status</th></tr></thead>
<tbody id="slowest"></tbody>
</table>
<p class="empty" id="no-slowest" hidden>No chunk ran.</p>
</section>

<section id="losses-section">
<h2>Worker losses</h2>
<table>
<thead><tr><th>When</th><th>Worker</th><th>PID</th><th>Cause</th><th>Wait status</th><th>Chunk lost</th></tr></thead>
<tbody id="losses"></tbody>
</table>
<p class="empty" id="no-losses" hidden>No worker was lost.</p>
<p class="note" id="more-losses" hidden></p>
</section>

<section id="errors-section" hidden>
<h2>Errors</h2>
<ul id="errors"></ul>
</section>

<footer id="footer"></footer>
<div id="tip" hidden></div>
<script type="application/json" id="report-data">@DATA@</script>
<script>@SCRIPT@</script>
</body>
</html>
)page";
}

}  // namespace dlpool::cli::report
