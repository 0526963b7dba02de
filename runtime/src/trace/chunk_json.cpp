#include "chunk_json.hpp"

#include <dlpool/wire/json_string.hpp>

#include <charconv>
#include <cstring>

namespace dlpool::detail {
namespace {

// Everything but the task's name and the error message, with room to spare.
constexpr std::size_t fixed_bound = 1024;

/// Writes forward from `at`; the caller has made room.
struct Cursor {
  char* at;

  template <std::size_t N>
  void text(const char (&s)[N]) noexcept {
    std::memcpy(at, s, N - 1);
    at += N - 1;
  }
  void text(std::string_view s) noexcept {
    std::memcpy(at, s.data(), s.size());
    at += s.size();
  }
  void number(std::uint64_t value) noexcept { at = std::to_chars(at, at + 20, value).ptr; }
  void micros(std::int64_t ns) noexcept { at = write_micros(at, ns); }
  /// `,"ts":…,"dur":…` from `from` to `to` (0 if `to` is not later).
  void span(std::int64_t from, std::int64_t to) noexcept {
    text(R"(,"ts":)");
    micros(from);
    text(R"(,"dur":)");
    micros(to > from ? to - from : 0);
  }
};

std::string_view status_of(Ending how) {
  switch (how) {
    case Ending::done: return R"("ok")";
    case Ending::failed: return R"("error")";
    case Ending::lost: return R"("lost")";
  }
  return R"("error")";
}

}  // namespace

char* write_micros(char* at, std::int64_t ns) noexcept {
  if (ns < 0) ns = 0;
  at = std::to_chars(at, at + 20, static_cast<std::uint64_t>(ns / 1000)).ptr;
  const auto frac = static_cast<int>(ns % 1000);
  at[0] = '.';
  at[1] = static_cast<char>('0' + frac / 100);
  at[2] = static_cast<char>('0' + frac / 10 % 10);
  at[3] = static_cast<char>('0' + frac % 10);
  return at + 4;
}

const std::string& ChunkJson::escaped_task(const std::string* task) {
  auto [it, added] = tasks_.try_emplace(task);
  if (added) wire::append_json_string(it->second, task != nullptr ? std::string_view{*task} : "task");
  return it->second;
}

void ChunkJson::append(std::string& out, const ChunkTrace& chunk, std::uint64_t flow, int workers_pid) {
  const auto& task = escaped_task(chunk.task);
  std::string error;
  if (!chunk.error.empty()) wire::append_json_string(error, chunk.error);
  scratch_.resize(fixed_bound + 2 * task.size() + error.size());  // a run names its task twice
  Cursor c{scratch_.data()};
  const auto ns = [&](Clock::time_point t) { return (t - start_).count(); };
  const auto bind = [&](bool in, bool on) {
    c.text(R"(,"bind_id":)");
    c.number(flow);
    if (in) c.text(R"(,"flow_in":true)");
    if (on) c.text(R"(,"flow_out":true)");
  };
  const auto details = [&] {
    c.text(R"(,"args":{"job":)");
    c.number(chunk.job);
    c.text(R"(,"chunk":)");
    c.number(chunk.chunk);
    c.text(R"(,"first":)");
    c.number(chunk.first);
    c.text(R"(,"items":)");
    c.number(chunk.items);
    c.text(R"(,"task":)");
    c.text(task);
    c.text(R"(,"status":)");
    c.text(status_of(chunk.how));
    if (!error.empty()) {
      c.text(R"(,"error":)");
      c.text(error);
    }
    const auto began = chunk.run_end_ns != 0
                           ? static_cast<std::int64_t>(chunk.run_start_ns) - start_.time_since_epoch().count()
                           : ns(chunk.started);
    if (chunk.run_end_ns != 0 || chunk.started != Clock::time_point{}) {
      c.text(R"(,"wait_us":)");
      c.micros(began - ns(chunk.submitted));
    }
    if (chunk.attempts > 1) {
      c.text(R"(,"attempts":)");
      c.number(chunk.attempts);
    }
    c.text("}}");
  };

  const bool sent = chunk.sender != 0;
  if (sent) {
    c.text(",\n{\"ph\":\"X\",\"name\":\"send\",\"pid\":1,\"tid\":");
    c.number(static_cast<std::uint64_t>(chunk.sender));
    c.span(ns(chunk.sent), chunk.written > chunk.sent ? ns(chunk.written) : ns(chunk.sent));
    bind(false, true);
    c.text("}");
  }
  // Its worker's times; a chunk lost with its worker: from reaching the front of its queue to
  // the loss being known.
  const bool ran = chunk.worker != 0 && (chunk.run_end_ns != 0 || chunk.started != Clock::time_point{});
  if (ran) {
    const auto epoch = start_.time_since_epoch().count();
    const auto from = chunk.run_end_ns != 0 ? static_cast<std::int64_t>(chunk.run_start_ns) - epoch : ns(chunk.started);
    const auto to = chunk.run_end_ns != 0 ? static_cast<std::int64_t>(chunk.run_end_ns) - epoch : ns(chunk.received);
    c.text(",\n{\"ph\":\"X\",\"cat\":\"chunk\",\"name\":");
    c.text(task);
    c.text(R"(,"pid":)");
    c.number(static_cast<std::uint64_t>(workers_pid));
    c.text(R"(,"tid":)");
    c.number(chunk.worker);
    c.span(from, to);
    bind(sent, true);
    details();
  }
  c.text(ran ? std::string_view{",\n{\"ph\":\"X\",\"name\":\"deliver\",\"pid\":1,\"tid\":3"}
             : std::string_view{",\n{\"ph\":\"X\",\"cat\":\"chunk\",\"name\":\"deliver\",\"pid\":1,\"tid\":3"});
  c.span(ns(chunk.received), ns(chunk.delivered));
  bind(sent || ran, false);
  if (ran)
    c.text("}");
  else
    details();
  out.append(scratch_.data(), static_cast<std::size_t>(c.at - scratch_.data()));
}

}  // namespace dlpool::detail
