#include "summary_json.hpp"

#include <algorithm>

namespace dlpool::cli::report {
namespace {

void write_durations(JsonWriter& out, const Durations& d) {
  out.StartObject();
  out.Key("count");
  out.Uint64(d.count());
  for (const unsigned p : {50u, 90u, 99u}) {
    const std::string key = "p" + std::to_string(p);
    out.Key(key.c_str());
    write_us(out, d.percentile(p));
  }
  out.Key("max");
  write_us(out, d.max());
  out.EndObject();
}

/// Opens an object with the four counts; the caller may add to it, then closes it.
void start_counts(JsonWriter& out, std::uint64_t total, std::uint64_t ok, std::uint64_t error, std::uint64_t lost) {
  out.StartObject();
  out.Key("total");
  out.Uint64(total);
  out.Key("ok");
  out.Uint64(ok);
  out.Key("error");
  out.Uint64(error);
  out.Key("lost");
  out.Uint64(lost);
}

}  // namespace

void write_chunk_members(JsonWriter& out, const ChunkRef& chunk) {
  out.Key("job");
  out.Uint64(chunk.job);
  out.Key("chunk");
  out.Uint64(chunk.chunk);
  out.Key("first");
  out.Uint64(chunk.first);
  out.Key("items");
  out.Uint64(chunk.items);
  if (chunk.line) {
    out.Key("line");
    out.Uint64(*chunk.line);
  }
  if (chunk.last_line) {
    out.Key("last_line");
    out.Uint64(*chunk.last_line);
  }
}

void write_worker_members(JsonWriter& out, const Track& track) {
  out.Key("worker");
  out.Int64(track.tid);
  if (track.pid > 2) {
    out.Key("rank");
    out.Int64(track.pid - 2);
  }
  if (track.os_pid) {
    out.Key("pid");
    out.Int64(*track.os_pid);
  }
}

void write_summary(JsonWriter& out, const TraceSummary& s, std::size_t slowest, std::size_t losses,
                   const std::function<void(JsonWriter&)>& more) {
  out.StartObject();
  out.Key("trace");
  write_string(out, s.path);
  out.Key("host");
  write_string(out, s.header.host);
  out.Key("version");
  write_string(out, s.header.version);
  out.Key("complete");
  out.Bool(s.read.complete);
  out.Key("truncated");
  out.Bool(s.read.truncated);
  out.Key("events");
  out.Uint64(s.read.events);
  out.Key("skipped_lines");
  out.Uint64(s.read.skipped_lines);
  out.Key("events_dropped");
  out.Uint64(s.events_dropped);

  out.Key("span_us");
  out.StartObject();
  out.Key("start");
  write_us(out, s.start);
  out.Key("end");
  write_us(out, s.end);
  out.Key("length");
  write_us(out, s.end - s.start);
  out.EndObject();

  out.Key("jobs");
  out.Uint64(s.jobs);
  const auto& c = s.chunks;
  out.Key("chunks");
  start_counts(out, c.chunks, c.ok, c.error, c.lost);
  out.Key("retried");
  out.Uint64(c.retried);
  out.EndObject();
  out.Key("items");
  start_counts(out, c.items, c.items_ok, c.items_error, c.items_lost);
  out.EndObject();
  out.Key("tasks");
  out.StartArray();
  for (const auto& [name, counts] : s.tasks) {
    out.StartObject();
    out.Key("task");
    write_string(out, name);
    out.Key("chunks");
    out.Uint64(counts.chunks);
    out.Key("items");
    out.Uint64(counts.items);
    out.EndObject();
  }
  out.EndArray();

  const auto& w = s.workers;
  out.Key("workers");
  out.StartObject();
  out.Key("tracks");
  out.Uint64(s.tracks.size());
  out.Key("spawned");
  out.Uint64(w.spawned);
  out.Key("lost");
  out.Uint64(w.lost);
  out.Key("exited");
  out.Uint64(w.exited);
  out.Key("retired");
  out.Uint64(w.retired);
  out.Key("restarts");
  out.Uint64(w.restarts);
  out.Key("utilisation");
  write_rounded(out, s.utilisation(), 4);
  out.EndObject();

  out.Key("run_us");
  write_durations(out, s.run);
  out.Key("wait_us");
  write_durations(out, s.wait);

  out.Key("slowest");
  out.StartArray();
  for (std::size_t i = 0; i < std::min(slowest, s.slowest.size()); ++i) {
    const auto& slow = s.slowest[i];
    out.StartObject();
    write_chunk_members(out, slow.chunk);
    out.Key("task");
    write_string(out, slow.task);
    out.Key("status");
    write_string(out, slow.status);
    write_worker_members(out, s.tracks[slow.track]);
    out.Key("start_us");
    write_us(out, slow.start);
    out.Key("run_us");
    write_us(out, slow.run);
    if (slow.wait) {
      out.Key("wait_us");
      write_us(out, *slow.wait);
    }
    out.EndObject();
  }
  out.EndArray();

  out.Key("losses");
  out.StartArray();
  for (std::size_t i = 0; i < std::min(losses, s.losses.size()); ++i) {
    const auto& loss = s.losses[i];
    out.StartObject();
    write_worker_members(out, s.tracks[loss.track]);
    out.Key("at_us");
    write_us(out, loss.at);
    out.Key("cause");
    write_string(out, loss.cause);
    if (loss.status) {
      out.Key("status");
      out.Int64(*loss.status);
    }
    out.Key("chunk");
    if (loss.chunk) {
      out.StartObject();
      write_chunk_members(out, *loss.chunk);
      out.EndObject();
    } else {
      out.Null();
    }
    out.EndObject();
  }
  out.EndArray();

  out.Key("errors");
  out.StartArray();
  for (const auto& [error, chunks] : s.errors) {
    out.StartObject();
    out.Key("error");
    write_string(out, error);
    out.Key("chunks");
    out.Uint64(chunks);
    out.EndObject();
  }
  out.EndArray();
  if (s.other_errors > 0) {
    out.Key("other_errors");
    out.Uint64(s.other_errors);
  }
  if (more) more(out);
  out.EndObject();
}

std::string summary_json(const TraceSummary& s, const std::function<void(JsonWriter&)>& more) {
  rapidjson::StringBuffer buffer;
  JsonWriter out{buffer};
  write_summary(out, s, summary_slowest, summary_losses, more);
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace dlpool::cli::report
