#pragma once
// Trace files written by hand, line by line as docs/trace-format.md lays them out, for the tests
// of `dlpool report`: whatever a pool would write about workers, chunks, losses and marks, with
// times and numbers the test chooses.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlpool::test {

/// A chunk's three events (send, run, deliver), as a pool writes them once it is delivered.
struct SyntheticChunk {
  int worker = 1;  // its worker's number (tid on pid 2); 0: it never reached a worker
  std::uint64_t job = 1, chunk = 0, first = 0, items = 1;
  std::string task = "testkit.square";
  std::string status = "ok";  // ok, error, lost
  std::string error;          // for error and lost
  double start = 0, run_us = 0, wait_us = 0;  // µs since the pool started
  unsigned attempts = 1;
};

class SyntheticTrace {
 public:
  explicit SyntheticTrace(std::string host = "node1") : host_{std::move(host)} {
    add(R"({"ph":"M","pid":1,"name":"process_name","args":{"name":)" + quoted("dlpool host (" + host_ + ")") + "}}");
    add(R"({"ph":"M","pid":2,"name":"process_name","args":{"name":"workers on )" + host_ + R"("}})");
  }

  /// µs with three decimals, as a pool writes `ts` and `dur`.
  static std::string us(double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.3f", value);
    return text;
  }
  /// A JSON string for the few characters the tests put in names and messages.
  static std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + '"';
  }

  /// A worker's track: its name, `spawned` at `at`, `ready` 100 µs later with pid 4100 + tid.
  void worker(int tid, double at, std::optional<int> replaces = std::nullopt, unsigned generation = 0) {
    const auto where = R"("pid":2,"tid":)" + std::to_string(tid);
    add(R"({"ph":"M",)" + where + R"(,"name":"thread_name","args":{"name":)" +
        quoted("worker " + std::to_string(tid) + " (generation " + std::to_string(generation) + ")") + "}}");
    add(R"({"ph":"i","s":"t","cat":"worker","name":"spawned",)" + where + R"(,"ts":)" + us(at) +
        R"(,"args":{"generation":)" + std::to_string(generation) +
        (replaces ? R"(,"replaces":)" + std::to_string(*replaces) : std::string{}) + "}}");
    add(R"({"ph":"i","s":"t","cat":"worker","name":"ready",)" + where + R"(,"ts":)" + us(at + 100) +
        R"(,"args":{"pid":)" + std::to_string(4100 + tid) + "}}");
  }

  void chunk(const SyntheticChunk& c) {
    ++bind_id_;
    std::string args = R"("args":{"job":)" + std::to_string(c.job) + R"(,"chunk":)" + std::to_string(c.chunk) +
                       R"(,"first":)" + std::to_string(c.first) + R"(,"items":)" + std::to_string(c.items) +
                       R"(,"task":)" + quoted(c.task) + R"(,"status":)" + quoted(c.status) +
                       (c.error.empty() ? std::string{} : R"(,"error":)" + quoted(c.error)) + R"(,"wait_us":)" +
                       us(c.wait_us) + R"(,"run_us":)" + us(c.worker != 0 ? c.run_us : 0) + R"(,"attempts":)" +
                       std::to_string(c.attempts) + "}";
    const auto bind = R"(,"bind_id":)" + std::to_string(bind_id_);
    // As ChunkJson writes them: the details on the run only, or on the delivery of a chunk that
    // never ran, which is then the one of the three in category "chunk".
    if (c.worker != 0) {
      add(R"({"ph":"X","name":"send","pid":1,"tid":2,"ts":)" + us(c.start - 50) + R"(,"dur":10.000)" + bind +
          R"(,"flow_out":true})");
      add(R"({"ph":"X","cat":"chunk","name":)" + quoted(c.task) + R"(,"pid":2,"tid":)" + std::to_string(c.worker) +
          R"(,"ts":)" + us(c.start) + R"(,"dur":)" + us(c.run_us) + bind + R"(,"flow_in":true,"flow_out":true,)" +
          args + "}");
      add(R"({"ph":"X","name":"deliver","pid":1,"tid":3,"ts":)" + us(c.start + c.run_us + 10) + R"(,"dur":5.000)" +
          bind + R"(,"flow_in":true})");
    } else {
      add(R"({"ph":"X","cat":"chunk","name":"deliver","pid":1,"tid":3,"ts":)" + us(c.start + c.run_us + 10) +
          R"(,"dur":5.000)" + bind + R"(,"flow_in":true,)" + args + "}");
    }
  }

  void lost(int tid, double at, std::string_view cause, int status, bool chunk_lost) {
    add(R"({"ph":"i","s":"t","cat":"worker","name":"lost","pid":2,"tid":)" + std::to_string(tid) + R"(,"ts":)" +
        us(at) + R"(,"args":{"cause":)" + quoted(cause) + R"(,"status":)" + std::to_string(status) +
        R"(,"chunk_lost":)" + (chunk_lost ? "true" : "false") + "}}");
  }

  void exited(int tid, double at, std::string_view cause = "close") {
    add(R"({"ph":"i","s":"t","cat":"worker","name":"exited","pid":2,"tid":)" + std::to_string(tid) + R"(,"ts":)" +
        us(at) + R"(,"args":{"cause":)" + quoted(cause) + "}}");
  }

  void close(double at) {
    add(R"({"ph":"i","s":"g","cat":"pool","name":"close","pid":1,"tid":1,"ts":)" + us(at) + "}");
  }

  /// `dlpool map`'s `input` mark: item i of `job` came from line first_line + (i - first_item) of
  /// the last pair whose first_item <= i.
  void input_mark(std::uint64_t job, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& pairs, double at) {
    std::string lines;
    for (const auto& [item, line] : pairs)
      lines += (lines.empty() ? "[" : ",[") + std::to_string(item) + "," + std::to_string(line) + "]";
    add(R"({"ph":"i","s":"p","cat":"mark","name":"input","pid":1,"tid":1,"ts":)" + us(at) + R"(,"args":{"job":)" +
        std::to_string(job) + R"(,"lines":[)" + lines + "]}}");
  }

  /// Any event line, as is.
  void add(std::string line) { events_.push_back(std::move(line)); }

  [[nodiscard]] std::size_t events() const noexcept { return events_.size(); }

  /// The file's text: the header, the events one a line, and the closing line if `complete`
  /// (else the last event line keeps its comma, as when a pool was killed after writing it).
  [[nodiscard]] std::string text(bool complete = true) const {
    std::string out =
        R"({"otherData":{"tool":"dlpool","version":"0.1.0","host":)" + quoted(host_) +
        R"(,"pid":4100,"clock":"steady","start_unix_us":1765120000000000},"displayTimeUnit":"ms","traceEvents":[)" +
        "\n";
    for (std::size_t i = 0; i < events_.size(); ++i) {
      out += events_[i];
      out += i + 1 < events_.size() || !complete ? ",\n" : "\n";
    }
    if (complete) out += "]}\n";
    return out;
  }

  void write(const std::filesystem::path& path, bool complete = true, std::string_view tail = {}) const {
    std::ofstream{path, std::ios::binary} << text(complete) << tail;
  }

 private:
  std::string host_;
  std::vector<std::string> events_;
  std::uint64_t bind_id_ = 0;
};

}  // namespace dlpool::test
