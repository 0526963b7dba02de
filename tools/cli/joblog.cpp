#include "joblog.hpp"

#include "checked_write.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>

namespace dlpool::cli {
namespace {

/// The header of logs written before the offset column: still read.
constexpr std::string_view header_without_offsets = "line\tstatus\tpid\tseconds";
constexpr std::string_view start_status = "start";

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0;;) {
    const auto tab = line.find('\t', at);
    out.push_back(line.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at));
    if (tab == std::string_view::npos) return out;
    at = tab + 1;
  }
}

template <class T>
bool parse_number(std::string_view text, T& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

/// What goes in the status column: one field, on one line.
std::string column(std::string text) {
  for (auto& c : text)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return text.empty() ? "-" : text;
}

std::string number_or_dash(std::optional<std::uint64_t> value) { return value ? std::to_string(*value) : "-"; }

}  // namespace

JobLog::JobLog(const std::string& path, bool resume) : path_{path} {
  std::error_code missing;
  if (resume && std::filesystem::exists(path, missing)) {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw std::runtime_error{path + ": cannot be read to resume from"};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    if (!text.empty() && text.back() != '\n') {
      const auto last = text.rfind('\n');
      std::fprintf(stderr, "dlpool: %s: ignoring its incomplete last line '%s' (a run stopped while writing it)\n",
                   path.c_str(), text.substr(last == std::string::npos ? 0 : last + 1).c_str());
      text.erase(last == std::string::npos ? 0 : last + 1);
      // Cut from the file too: appended to, the fragment would be a malformed line next time.
      std::error_code ec;
      std::filesystem::resize_file(path, text.size(), ec);
      if (ec) throw std::runtime_error{path + ": cannot drop its incomplete last line: " + ec.message()};
    }
    fresh_ = text.empty();
    read(text);
  }
  fd_.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (fresh_ ? O_TRUNC : O_APPEND), 0666));
  if (!fd_) throw std::runtime_error{"cannot open " + path + " for writing: " + std::strerror(errno)};
  if (fresh_) append(std::string{header} + '\n');
}

void JobLog::read(const std::string& text) {
  std::istringstream lines{text};
  std::size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line == header || line == header_without_offsets || line.empty()) continue;
    const auto f = fields(line);
    std::size_t item = 0;
    int pid = 0;
    double seconds = 0;
    std::uint64_t offset = 0;
    const bool has_offset = f.size() == 5 && f[4] != "-";
    if ((f.size() != 4 && f.size() != 5) || !parse_number(f[0], item) || (item == 0) != (f[1] == start_status) ||
        f[1].empty() || (f[2] != "-" && !parse_number(f[2], pid)) || !parse_number(f[3], seconds) ||
        (has_offset && !parse_number(f[4], offset)))
      throw std::runtime_error{path_ + ":" + std::to_string(number) + ": not a joblog line (" + header +
                               ", separated by tabs): '" + line + "'"};
    if (f[1] == ok) done_.insert(item);
    output_end_ = has_offset ? std::optional{offset} : std::nullopt;
  }
}

void JobLog::write_start(std::optional<std::uint64_t> offset) {
  append("0\t" + std::string{start_status} + "\t-\t0.000\t" + number_or_dash(offset) + '\n');
}

void JobLog::write(const Entry& entry) {
  const auto pid = entry.pid > 0 ? std::to_string(entry.pid) : std::string{"-"};
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", entry.seconds);
  append(std::to_string(entry.line) + '\t' + column(entry.status) + '\t' + pid + '\t' + seconds + '\t' +
         number_or_dash(entry.offset) + '\n');
}

void JobLog::append(const std::string& text) {
  const std::string_view piece{text};
  write_fully(fd_.get(), {&piece, 1}, path_);
}

}  // namespace dlpool::cli
