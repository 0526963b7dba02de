// The bundled `text` plugin: statistics over text files, streamed in blocks so that file size
// does not matter. The types it returns are in <dlpool/plugins/text.hpp>.

#include <dlpool/plugins/text.hpp>

#include <dlpool/plugin.hpp>
#include <dlpool/plugins/block_reader.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

DLPOOL_PLUGIN(text, "1.0.0")

namespace {

using dlpool::plugins::BlockReader;

// ASCII rather than <cctype>: results must not depend on the worker's locale.
bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

void check_count(int n) {
  if (n < 0) throw std::invalid_argument{"n must not be negative (got " + std::to_string(n) + ")"};
}

/// FileStats accumulated block by block; a line or a word may span blocks.
class StatsCounter {
 public:
  explicit StatsCounter(std::string path) { stats_.path = std::move(path); }

  void add(std::string_view block) {
    stats_.bytes += block.size();
    for (const char c : block) {
      if (c == '\n')
        end_line();
      else
        ++line_length_;
      if (!is_space(c) && !in_word_) ++stats_.words;
      in_word_ = !is_space(c);
    }
  }

  text::FileStats finish() && {
    if (line_length_ > 0) end_line();  // the last line has no '\n'
    return std::move(stats_);
  }

 private:
  void end_line() {
    ++stats_.lines;
    stats_.longest_line = std::max(stats_.longest_line, line_length_);
    line_length_ = 0;
  }

  text::FileStats stats_;
  std::uint64_t line_length_ = 0;
  bool in_word_ = false;
};

/// Counts lowercase words (runs of ASCII letters and digits) block by block.
class WordCounter {
 public:
  void add(std::string_view block) {
    for (const char c : block) {
      if (is_word_char(c))
        word_ += to_lower(c);
      else
        end_word();
    }
  }

  std::unordered_map<std::string, long> finish() && {
    end_word();
    return std::move(counts_);
  }

 private:
  void end_word() {
    if (word_.empty()) return;
    ++counts_[word_];
    word_.clear();
  }

  std::unordered_map<std::string, long> counts_;
  std::string word_;
};

/// Bytes, lines, words and the longest line of the file at `path`. Throws std::runtime_error
/// naming the path if it cannot be read.
text::FileStats file_stats(std::string path) {
  BlockReader file{path};
  StatsCounter counter{std::move(path)};
  for (auto block = file.next(); !block.empty(); block = file.next()) counter.add(block);
  return std::move(counter).finish();
}
DLPOOL_TASK(file_stats)

/// The `n` most frequent words of the file at `path` (lowercased runs of ASCII letters and
/// digits) with their counts, most frequent first, ties in alphabetical order. Throws
/// std::invalid_argument if n < 0 and std::runtime_error if the file cannot be read.
std::vector<std::pair<std::string, long>> top_words(std::string path, int n) {
  check_count(n);
  BlockReader file{std::move(path)};
  WordCounter counter;
  for (auto block = file.next(); !block.empty(); block = file.next()) counter.add(block);
  const auto counts = std::move(counter).finish();

  std::vector<std::pair<std::string, long>> words(counts.begin(), counts.end());
  const auto kept = std::min(words.size(), static_cast<std::size_t>(n));
  std::partial_sort(
      words.begin(), words.begin() + static_cast<std::ptrdiff_t>(kept), words.end(),
      [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  words.resize(kept);
  return words;
}
DLPOOL_TASK(top_words)

/// `s` repeated `n` times: repeat("ab", 3) is "ababab". Throws std::invalid_argument if n < 0.
std::string repeat(std::string s, int n) {
  check_count(n);
  std::string out;
  out.reserve(s.size() * static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
DLPOOL_TASK(repeat)

}  // namespace
