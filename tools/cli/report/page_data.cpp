// The data embedded in the report page, as JSON:
//
//   {"summary": the summary (summary_json.hpp; 20 slowest, up to PageLimits::losses losses),
//    "start", "end": the trace's span (µs),
//    "rows": [{"label", "process", "pid"?, "busy" (0..1), "workers" (tracks in it),
//              "bars": [start, end, runs, busy percent, failed runs, lost runs, start, ...]}],
//    "loss_rows", "loss_names": the row and the worker's name of each listed loss,
//    "slow_names": the worker's name of each slowest run,
//    "util": {"width": µs, "busy": [fraction of live worker time busy, or null: none live]},
//    "run_hist", "wait_hist": [[low, high or null, count], ...] (µs; log-scale buckets)}

#include "html_report.hpp"
#include "summary_json.hpp"

#include <algorithm>
#include <queue>

namespace dlpool::cli::report {
namespace {

struct Row {
  std::string label, process;
  std::optional<std::int64_t> os_pid;
  std::vector<std::size_t> tracks;
};

/// One row per track, or, past `limit` tracks, tracks packed into rows ("lanes") by their live
/// spans: a track goes in the first row free by its birth, as a worker slot is reused.
std::vector<Row> make_rows(const TraceSummary& s, std::size_t limit, std::vector<std::size_t>& row_of) {
  const auto order = s.tracks_in_order();
  row_of.assign(s.tracks.size(), 0);
  std::vector<Row> rows;
  if (order.size() <= limit) {
    for (const auto index : order) {
      const auto& t = s.tracks[index];
      row_of[index] = rows.size();
      rows.push_back({t.name, t.process, t.os_pid, {index}});
    }
    return rows;
  }
  auto by_birth = order;
  std::stable_sort(by_birth.begin(), by_birth.end(),
                   [&](std::size_t a, std::size_t b) { return s.live(s.tracks[a]).first < s.live(s.tracks[b]).first; });
  using Free = std::pair<std::int64_t, std::size_t>;  // when a row's last track ended, the row
  std::priority_queue<Free, std::vector<Free>, std::greater<>> free_at;
  for (const auto index : by_birth) {
    const auto [from, to] = s.live(s.tracks[index]);
    std::size_t row;
    if (!free_at.empty() && free_at.top().first <= from) {
      row = free_at.top().second;
      free_at.pop();
    } else {
      row = rows.size();
      rows.push_back({"lane " + std::to_string(row + 1), {}, std::nullopt, {}});
    }
    rows[row].tracks.push_back(index);
    row_of[index] = row;
    free_at.emplace(to, row);
  }
  for (auto& row : rows) row.process = std::to_string(row.tracks.size()) + " workers in turn";
  return rows;
}

void write_bars(JsonWriter& out, std::vector<Bar> bars, std::int64_t resolution) {
  merge_bars(bars, resolution);
  out.StartArray();
  for (const auto& bar : bars) {
    write_us(out, bar.start);
    write_us(out, bar.end);
    out.Uint(bar.runs);
    const auto length = bar.end - bar.start;
    out.Int64(length > 0 ? std::min<std::int64_t>(100, bar.busy * 100 / length) : 100);
    out.Uint(bar.failed);
    out.Uint(bar.lost);
  }
  out.EndArray();
}

void write_histogram(JsonWriter& out, const Durations& d) {
  out.StartArray();
  for (const auto& bucket : d.buckets()) {
    out.StartArray();
    write_us(out, bucket.low);
    if (bucket.high < 0)
      out.Null();
    else
      write_us(out, bucket.high);
    out.Uint64(bucket.count);
    out.EndArray();
  }
  out.EndArray();
}

void write_utilisation(JsonWriter& out, const TraceSummary& s, std::size_t buckets) {
  const auto busy = s.busy.coarsened(buckets);
  // Live worker time in each bucket, from each track's live span.
  std::vector<std::int64_t> live(busy.busy.size(), 0);
  for (const auto& t : s.tracks) {
    const auto [from, to] = s.live(t);
    if (busy.width <= 0) break;
    for (auto i = from / busy.width; i < static_cast<std::int64_t>(live.size()) && i * busy.width < to; ++i)
      live[static_cast<std::size_t>(i)] += std::min(to, (i + 1) * busy.width) - std::max(from, i * busy.width);
  }
  out.StartObject();
  out.Key("width");
  write_us(out, busy.width);
  out.Key("busy");
  out.StartArray();
  for (std::size_t i = 0; i < live.size(); ++i) {
    if (live[i] <= 0)
      out.Null();
    else
      write_rounded(out, std::min(1.0, static_cast<double>(busy.busy[i]) / static_cast<double>(live[i])), 3);
  }
  out.EndArray();
  out.EndObject();
}

}  // namespace

std::string page_data_json(const TraceSummary& s, const PageLimits& limits) {
  rapidjson::StringBuffer buffer;
  JsonWriter out{buffer};
  out.StartObject();
  out.Key("summary");
  write_summary(out, s, TraceSummary::slowest_kept, limits.losses);
  out.Key("start");
  write_us(out, s.start);
  out.Key("end");
  write_us(out, s.end);

  std::vector<std::size_t> row_of;
  const auto rows = make_rows(s, limits.rows_unpacked, row_of);
  // A row gets as many px as the budget allows, and never bars closer than one px.
  const auto px =
      std::clamp<std::size_t>(limits.bar_budget / std::max<std::size_t>(rows.size(), 1), 1, limits.plot_width);
  const auto resolution = (s.end - s.start + static_cast<std::int64_t>(px) - 1) / static_cast<std::int64_t>(px);
  out.Key("rows");
  out.StartArray();
  for (const auto& row : rows) {
    out.StartObject();
    out.Key("label");
    write_string(out, row.label);
    out.Key("process");
    write_string(out, row.process);
    if (row.os_pid) {
      out.Key("pid");
      out.Int64(*row.os_pid);
    }
    std::int64_t busy = 0, live = 0;
    std::vector<Bar> bars;
    for (const auto index : row.tracks) {
      const auto [from, to] = s.live(s.tracks[index]);
      busy += s.tracks[index].busy;
      live += to - from;
      bars.insert(bars.end(), s.bars[index].begin(), s.bars[index].end());
    }
    out.Key("busy");
    write_rounded(out, live > 0 ? std::min(1.0, static_cast<double>(busy) / static_cast<double>(live)) : 0.0, 3);
    out.Key("workers");
    out.Uint64(row.tracks.size());
    out.Key("bars");
    write_bars(out, std::move(bars), resolution);
    out.EndObject();
  }
  out.EndArray();

  const auto listed_losses = std::min(limits.losses, s.losses.size());
  out.Key("loss_rows");
  out.StartArray();
  for (std::size_t i = 0; i < listed_losses; ++i) out.Uint64(row_of[s.losses[i].track]);
  out.EndArray();
  out.Key("loss_names");
  out.StartArray();
  for (std::size_t i = 0; i < listed_losses; ++i) write_string(out, s.tracks[s.losses[i].track].name);
  out.EndArray();
  out.Key("slow_names");
  out.StartArray();
  for (const auto& slow : s.slowest) write_string(out, s.tracks[slow.track].name);
  out.EndArray();

  out.Key("util");
  write_utilisation(out, s, limits.util_buckets);
  out.Key("run_hist");
  write_histogram(out, s.run);
  out.Key("wait_hist");
  write_histogram(out, s.wait);
  out.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace dlpool::cli::report
