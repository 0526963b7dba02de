#include "joblog.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <vector>

namespace dlpool::cli {
namespace {

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

}  // namespace

JobLog::JobLog(const std::string& path, bool resume) : path_{path} {
  bool fresh = true;
  std::error_code missing;
  if (resume && std::filesystem::exists(path, missing)) {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw std::runtime_error{path + ": cannot be read to resume from"};
    {
      std::string text{std::istreambuf_iterator<char>{in}, {}};
      if (!text.empty()) {
        fresh = false;
        if (text.back() != '\n') {
          const auto last = text.rfind('\n');
          std::fprintf(stderr, "dlpool: %s: ignoring its incomplete last line '%s' (a run stopped while writing it)\n",
                       path.c_str(), text.substr(last == std::string::npos ? 0 : last + 1).c_str());
          text.erase(last == std::string::npos ? 0 : last + 1);
          // Cut from the file too: appended to, the fragment would be a malformed line next time.
          std::error_code ec;
          std::filesystem::resize_file(path, text.size(), ec);
          if (ec) throw std::runtime_error{path + ": cannot drop its incomplete last line: " + ec.message()};
          fresh = text.empty();
        }
        read(text);
      }
    }
  }
  file_.reset(std::fopen(path.c_str(), fresh ? "w" : "a"));
  if (!file_) throw std::runtime_error{path + ": cannot be opened for writing"};
  if (fresh) std::fprintf(file_.get(), "%s\n", header);
  if (std::fflush(file_.get()) != 0) throw std::runtime_error{path + ": cannot be written"};
}

void JobLog::read(const std::string& text) {
  std::istringstream lines{text};
  std::size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line == header || line.empty()) continue;
    const auto f = fields(line);
    std::size_t item = 0;
    int pid = 0;
    double seconds = 0;
    if (f.size() != 4 || !parse_number(f[0], item) || item == 0 || f[1].empty() ||
        (f[2] != "-" && !parse_number(f[2], pid)) || !parse_number(f[3], seconds))
      throw std::runtime_error{path_ + ":" + std::to_string(number) + ": not a joblog line (" + header +
                               ", separated by tabs): '" + line + "'"};
    if (f[1] == ok) done_.insert(item);
  }
}

void JobLog::write(const Entry& entry) {
  const auto pid = entry.pid > 0 ? std::to_string(entry.pid) : std::string{"-"};
  if (std::fprintf(file_.get(), "%zu\t%s\t%s\t%.3f\n", entry.line, column(entry.status).c_str(), pid.c_str(),
                   entry.seconds) < 0 ||
      std::fflush(file_.get()) != 0)
    throw std::runtime_error{path_ + ": cannot be written"};
}

}  // namespace dlpool::cli
