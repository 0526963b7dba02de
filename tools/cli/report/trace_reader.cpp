#include "trace_reader.hpp"

#include "sys/io.hpp"

#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>

namespace dlpool::cli::report {
namespace {

// A line longer than this is no event dlpool writes (one holds a chunk's args and an error
// message): it is skipped rather than buffered, so a file that is one huge line (another tool's
// trace, a binary file) costs bounded memory.
constexpr std::size_t max_line = std::size_t{16} << 20;

std::string_view trimmed(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  return line;
}

std::optional<std::int64_t> integer_member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

std::string string_member(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

/// Splits the file into lines and sorts them: the header, events, the closing line.
class LineParser {
 public:
  LineParser(const std::string& path, TraceHeader& header, const std::function<void(const rapidjson::Value&)>& on_event)
      : path_{path}, header_{header}, on_event_{on_event} {}

  /// One line without its newline. `last`: the file ended without a newline after it.
  void line(std::string_view text, bool last) {
    text = trimmed(text);
    if (!seen_header_) {
      if (text.empty() && !last) return;
      header(text, last);
      seen_header_ = true;
      return;
    }
    if (text.empty()) return;
    if (text == "]}") {
      stats_.complete = true;
      return;
    }
    if (text.back() == ',') text.remove_suffix(1);
    // The allocator's chunks are freed for each line: a reused document would otherwise keep
    // every line's values until the end.
    doc_.SetNull();
    doc_.GetAllocator().Clear();
    doc_.Parse(text.data(), text.size());
    if (doc_.HasParseError() || !doc_.IsObject()) {
      if (last)
        stats_.truncated = true;
      else
        ++stats_.skipped_lines;
      return;
    }
    ++stats_.events;
    on_event_(doc_);
  }

  void skipped_long_line() {
    if (!seen_header_) not_a_trace("its first line is not a dlpool trace's header");
    ++stats_.skipped_lines;
  }

  /// The end of the file.
  void end() {
    if (!seen_header_) not_a_trace("it is empty");
  }

  [[nodiscard]] const ReadStats& stats() const noexcept { return stats_; }

 private:
  [[noreturn]] void not_a_trace(const std::string& why) const {
    throw std::runtime_error{path_ + " is not a dlpool trace: " + why};
  }

  /// `{"otherData":{...},"displayTimeUnit":"ms","traceEvents":[`: with `]}` after it, the
  /// header is a whole JSON object.
  void header(std::string_view text, bool last) {
    constexpr std::string_view opening = "\"traceEvents\":[";
    if (!text.starts_with('{') || !text.ends_with(opening))
      not_a_trace(last ? "its first line is cut short or not a trace's header"
                       : "its first line is not a dlpool trace's header (\"traceEvents\":[ at its end)");
    std::string whole{text};
    whole += "]}";
    rapidjson::Document doc;
    doc.Parse(whole.data(), whole.size());
    if (doc.HasParseError() || !doc.IsObject()) not_a_trace("its first line is not a JSON object's start");
    const auto other = doc.FindMember("otherData");
    if (other == doc.MemberEnd() || !other->value.IsObject() || string_member(other->value, "tool") != "dlpool")
      not_a_trace("its header has no \"otherData\":{\"tool\":\"dlpool\"}");
    header_.version = string_member(other->value, "version");
    header_.host = string_member(other->value, "host");
    header_.clock = string_member(other->value, "clock");
    header_.pid = integer_member(other->value, "pid");
    header_.start_unix_us = integer_member(other->value, "start_unix_us");
  }

  const std::string& path_;
  TraceHeader& header_;
  const std::function<void(const rapidjson::Value&)>& on_event_;
  rapidjson::Document doc_;
  ReadStats stats_;
  bool seen_header_ = false;
};

}  // namespace

ReadStats read_trace(const std::string& path, TraceHeader& header,
                     const std::function<void(const rapidjson::Value&)>& on_event) {
  detail::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  std::vector<char> block(std::size_t{1} << 20);
  LineParser parser{path, header, on_event};
  std::string pending;   // the start of a line whose newline has not been read yet
  bool discarding = false;  // within a line over max_line: dropped up to its newline
  try {
    if (!fd) detail::throw_errno("open");
    for (;;) {
      const long n = detail::read_some(fd.get(), block.data(), block.size());
      if (n <= 0) break;  // a regular file never says EAGAIN (-1)
      std::string_view data{block.data(), static_cast<std::size_t>(n)};
      for (auto newline = data.find('\n'); newline != std::string_view::npos; newline = data.find('\n')) {
        if (discarding) {
          discarding = false;
        } else if (pending.empty()) {
          parser.line(data.substr(0, newline), false);
        } else {
          pending.append(data.substr(0, newline));
          parser.line(pending, false);
          pending.clear();
        }
        data.remove_prefix(newline + 1);
      }
      if (discarding) continue;
      pending.append(data);
      if (pending.size() > max_line) {
        pending.clear();
        discarding = true;
        parser.skipped_long_line();
      }
    }
  } catch (const std::system_error& e) {
    throw std::runtime_error{"cannot read " + path + ": " + e.code().message()};
  }
  if (!pending.empty()) parser.line(pending, true);
  parser.end();
  return parser.stats();
}

}  // namespace dlpool::cli::report
