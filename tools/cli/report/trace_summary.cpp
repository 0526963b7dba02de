#include "trace_summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace dlpool::cli::report {
namespace {

const rapidjson::Value* member(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string_view text(const rapidjson::Value& object, const char* name) {
  const auto* v = member(object, name);
  return v != nullptr && v->IsString() ? std::string_view{v->GetString(), v->GetStringLength()} : std::string_view{};
}

std::optional<std::int64_t> integer(const rapidjson::Value& object, const char* name) {
  const auto* v = member(object, name);
  if (v == nullptr || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}

std::uint64_t count(const rapidjson::Value& object, const char* name) {
  const auto* v = member(object, name);
  return v != nullptr && v->IsUint64() ? v->GetUint64() : 0;
}

/// Microseconds (the trace's unit, three decimals at most) as whole nanoseconds.
std::optional<std::int64_t> nanoseconds(const rapidjson::Value& object, const char* name) {
  const auto* v = member(object, name);
  if (v == nullptr || !v->IsNumber()) return std::nullopt;
  if (v->IsInt64()) return v->GetInt64() * 1000;
  const double us = v->GetDouble();
  if (!std::isfinite(us) || std::abs(us) > 9e12) return std::nullopt;  // past ~100 days: not a trace's
  return std::llround(us * 1000.0);
}

ChunkRef chunk_of(const rapidjson::Value& args) {
  return {count(args, "job"), count(args, "chunk"), count(args, "first"), count(args, "items"), {}, {}};
}

/// "Slower": the longer run, then the earlier chunk, so that the order is the same every time.
bool slower(const SlowRun& a, const SlowRun& b) {
  if (a.run != b.run) return a.run > b.run;
  if (a.chunk.job != b.chunk.job) return a.chunk.job < b.chunk.job;
  return a.chunk.chunk < b.chunk.chunk;
}

/// The jobs seen: a bitmap for the numbers a pool gives (1, 2, 3...), a set for anything else.
class JobSet {
 public:
  void insert(std::uint64_t job) {
    if (job < (std::uint64_t{1} << 28)) {
      if (job >= seen_.size()) seen_.resize(std::max<std::size_t>(job + 1, seen_.size() * 2));
      if (!seen_[job]) ++count_;
      seen_[job] = true;
    } else if (others_.insert(job).second) {
      ++count_;
    }
  }
  [[nodiscard]] std::uint64_t size() const noexcept { return count_; }

 private:
  std::vector<bool> seen_;
  std::unordered_set<std::uint64_t> others_;
  std::uint64_t count_ = 0;
};

class Aggregator {
 public:
  explicit Aggregator(TraceSummary& s) : s_{s} {}

  void event(const rapidjson::Value& e) {
    const auto ph = text(e, "ph"), cat = text(e, "cat"), name = text(e, "name");
    const auto pid = integer(e, "pid").value_or(0), tid = integer(e, "tid").value_or(0);
    static const rapidjson::Value no_args{rapidjson::kObjectType};
    const auto* args_member = member(e, "args");
    const auto& args = args_member != nullptr && args_member->IsObject() ? *args_member : no_args;
    if (ph == "M") return metadata(pid, tid, name, args);
    const auto ts = nanoseconds(e, "ts");
    if (!ts) return;
    const auto dur = std::max<std::int64_t>(nanoseconds(e, "dur").value_or(0), 0);
    if (!any_event_ || *ts < s_.start) s_.start = *ts;
    if (!any_event_ || *ts + dur > s_.end) s_.end = *ts + dur;
    any_event_ = true;

    if (cat == "chunk" && ph == "X") {
      // A chunk's details are on its run, or on the delivery of a chunk that never ran: the one
      // event of its three in category "chunk" (docs/trace-format.md).
      if (pid >= 2) run(track(pid, tid), *ts, dur, args);
      if (pid >= 2 || name == "deliver") deliver(args);
    } else if (cat == "worker" && pid >= 2) {
      worker(track(pid, tid), name, *ts, args);
    } else if (cat == "pool" && name == "restart") {
      ++s_.workers.restarts;
    } else if (cat == "trace" && name == "events dropped") {
      s_.events_dropped += count(args, "count");
    } else if (cat == "mark" && name == "input") {
      input_mark(args);
    }
  }

  void finish() {
    if (!any_event_)
      throw std::runtime_error{s_.path + " has no events: the pool did nothing, or the trace was cut short first"};
    s_.run.finish();
    s_.wait.finish();
    s_.jobs = jobs_.size();
    s_.bars = rows_.take();
    s_.bars.resize(s_.tracks.size());
    std::sort_heap(s_.slowest.begin(), s_.slowest.end(), slower);
    for (auto& slow : s_.slowest) locate(slow.chunk);
    for (auto& loss : s_.losses) {
      if (const auto& lost = s_.tracks[loss.track].lost_chunk) loss.chunk = lost;
      if (loss.chunk) locate(*loss.chunk);
    }
    std::stable_sort(s_.losses.begin(), s_.losses.end(), [](const Loss& a, const Loss& b) { return a.at < b.at; });
    std::vector<std::pair<std::string, std::uint64_t>> errors{errors_.begin(), errors_.end()};
    std::sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    for (std::size_t i = TraceSummary::error_kinds_kept; i < errors.size(); ++i) s_.other_errors += errors[i].second;
    if (errors.size() > TraceSummary::error_kinds_kept) errors.resize(TraceSummary::error_kinds_kept);
    s_.errors = std::move(errors);
  }

 private:
  // Beyond this many distinct error messages, failures are counted as "other": a task that puts
  // the item in its message would otherwise make one entry per chunk.
  static constexpr std::size_t error_kinds_tracked = 1000;

  std::size_t track(std::int64_t pid, std::int64_t tid) {
    const auto key = (static_cast<std::uint64_t>(pid) << 32) ^ static_cast<std::uint32_t>(tid);
    const auto [it, added] = track_index_.try_emplace(key, s_.tracks.size());
    if (added) {
      Track t;
      t.pid = pid;
      t.tid = tid;
      t.name = "worker " + std::to_string(tid);
      if (const auto p = process_names_.find(pid); p != process_names_.end()) t.process = p->second;
      s_.tracks.push_back(std::move(t));
      spawned_seen_.push_back(false);
    }
    return it->second;
  }

  /// Some sign of life of a worker whose `spawned` event is not in the trace.
  void alive_at(std::size_t index, std::int64_t ts) {
    auto& t = s_.tracks[index];
    if (!spawned_seen_[index] && (t.born < 0 || ts < t.born)) t.born = ts;
  }

  void metadata(std::int64_t pid, std::int64_t tid, std::string_view name, const rapidjson::Value& args) {
    const std::string label{text(args, "name")};
    if (name == "process_name" && pid >= 2) {
      process_names_[pid] = label;
      for (auto& t : s_.tracks)
        if (t.pid == pid) t.process = label;
    } else if (name == "thread_name" && pid >= 2 && !label.empty()) {
      s_.tracks[track(pid, tid)].name = label;
    }
  }

  void run(std::size_t index, std::int64_t ts, std::int64_t dur, const rapidjson::Value& args) {
    auto& t = s_.tracks[index];
    const auto status = text(args, "status");
    const auto run_ns = std::max<std::int64_t>(nanoseconds(args, "run_us").value_or(dur), 0);
    const auto wait_ns = nanoseconds(args, "wait_us");
    s_.run.add(run_ns);
    if (wait_ns) s_.wait.add(*wait_ns);
    alive_at(index, ts);
    t.busy += dur;
    ++t.runs;
    const bool lost = status == "lost", failed = lost || status == "error";
    rows_.add(index, {ts, ts + dur, dur, 1, failed ? 1u : 0u, lost ? 1u : 0u});
    s_.busy.add(ts, ts + dur);
    if (status == "lost") t.lost_chunk = chunk_of(args);

    SlowRun slow{chunk_of(args), std::string{text(args, "task")}, std::string{status}, index, ts, run_ns, wait_ns};
    auto& heap = s_.slowest;
    if (heap.size() < TraceSummary::slowest_kept) {
      heap.push_back(std::move(slow));
      std::push_heap(heap.begin(), heap.end(), slower);  // the top is the fastest kept
    } else if (slower(slow, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), slower);
      heap.back() = std::move(slow);
      std::push_heap(heap.begin(), heap.end(), slower);
    }
  }

  void deliver(const rapidjson::Value& args) {
    auto& c = s_.chunks;
    const auto items = count(args, "items");
    const auto status = text(args, "status");
    ++c.chunks;
    c.items += items;
    if (status == "ok") {
      ++c.ok;
      c.items_ok += items;
    } else if (status == "lost") {
      ++c.lost;
      c.items_lost += items;
    } else {
      ++c.error;
      c.items_error += items;
      const std::string error{text(args, "error")};
      if (const auto it = errors_.find(error); it != errors_.end())
        ++it->second;
      else if (errors_.size() < error_kinds_tracked)
        errors_.emplace(error, 1);
      else
        ++s_.other_errors;
    }
    if (count(args, "attempts") > 1) ++c.retried;
    jobs_.insert(count(args, "job"));
    auto& task = s_.tasks[std::string{text(args, "task")}];
    ++task.chunks;
    task.items += items;
  }

  void worker(std::size_t index, std::string_view name, std::int64_t ts, const rapidjson::Value& args) {
    auto& t = s_.tracks[index];
    if (name == "spawned") {
      ++s_.workers.spawned;
      t.born = ts;
      spawned_seen_[index] = true;
      return;
    }
    alive_at(index, ts);
    if (name == "ready") {
      t.os_pid = integer(args, "pid");
    } else if (name == "retired") {
      ++s_.workers.retired;
    } else if (name == "exited") {
      ++s_.workers.exited;
      t.gone = ts;
    } else if (name == "lost") {
      ++s_.workers.lost;
      t.gone = ts;
      const auto* chunk_lost = member(args, "chunk_lost");
      s_.losses.push_back({index, ts, std::string{text(args, "cause")}, integer(args, "status"),
                           chunk_lost != nullptr && chunk_lost->IsBool() && chunk_lost->GetBool(), std::nullopt});
    }
  }

  /// `{"job":1,"lines":[[first_item, first_line], ...]}`
  void input_mark(const rapidjson::Value& args) {
    const auto* lines = member(args, "lines");
    if (lines == nullptr || !lines->IsArray()) return;
    auto& pairs = input_lines_[integer(args, "job").value_or(1)];
    for (const auto& pair : lines->GetArray())
      if (pair.IsArray() && pair.Size() == 2 && pair[0].IsUint64() && pair[1].IsUint64())
        pairs.emplace_back(pair[0].GetUint64(), pair[1].GetUint64());
    std::sort(pairs.begin(), pairs.end());
  }

  /// Item i of the job came from line first_line + (i - first_item) of the last pair whose
  /// first_item <= i.
  std::optional<std::uint64_t> line_of(std::uint64_t job, std::uint64_t item) const {
    const auto it = input_lines_.find(static_cast<std::int64_t>(job));
    if (it == input_lines_.end()) return std::nullopt;
    const auto& pairs = it->second;
    auto after = std::upper_bound(pairs.begin(), pairs.end(), std::pair{item, ~std::uint64_t{0}});
    if (after == pairs.begin()) return std::nullopt;
    --after;
    return after->second + (item - after->first);
  }

  void locate(ChunkRef& chunk) const {
    chunk.line = line_of(chunk.job, chunk.first);
    if (chunk.line && chunk.items > 1) chunk.last_line = line_of(chunk.job, chunk.first + chunk.items - 1);
  }

  TraceSummary& s_;
  bool any_event_ = false;
  std::unordered_map<std::uint64_t, std::size_t> track_index_;
  std::vector<bool> spawned_seen_;  // per track
  std::unordered_map<std::int64_t, std::string> process_names_;
  std::unordered_map<std::string, std::uint64_t> errors_;
  std::map<std::int64_t, std::vector<std::pair<std::uint64_t, std::uint64_t>>> input_lines_;
  JobSet jobs_;
  BarRows rows_;
};

}  // namespace

std::vector<std::size_t> TraceSummary::tracks_in_order() const {
  std::vector<std::size_t> order(tracks.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::pair{tracks[a].pid, tracks[a].tid} < std::pair{tracks[b].pid, tracks[b].tid};
  });
  return order;
}

std::pair<std::int64_t, std::int64_t> TraceSummary::live(const Track& track) const {
  const auto from = track.born >= 0 ? track.born : start;
  return {from, std::max(from, track.gone >= 0 ? track.gone : end)};
}

double TraceSummary::utilisation() const {
  std::int64_t busy_ns = 0, live_ns = 0;
  for (const auto& t : tracks) {
    const auto [from, to] = live(t);
    busy_ns += t.busy;
    live_ns += to - from;
  }
  return live_ns > 0 ? std::min(1.0, static_cast<double>(busy_ns) / static_cast<double>(live_ns)) : 0.0;
}

TraceSummary summarise_trace(const std::string& path) {
  TraceSummary summary;
  summary.path = path;
  Aggregator aggregator{summary};
  summary.read = read_trace(path, summary.header, [&](const rapidjson::Value& e) { aggregator.event(e); });
  aggregator.finish();
  return summary;
}

}  // namespace dlpool::cli::report
