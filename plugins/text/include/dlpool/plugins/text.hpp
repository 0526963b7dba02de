#pragma once
// Types returned by the bundled `text` plugin, shared with the hosts that call it: the same type
// on both sides gives the same task signature.
//
//   dlpool::Task<text::FileStats(std::string)> file_stats{"text", "file_stats"};
//   dlpool::Task<std::vector<std::pair<std::string, long>>(std::string, int)> top_words{"text", "top_words"};
//   dlpool::Task<std::string(std::string, int)> repeat{"text", "repeat"};

#include <cereal/cereal.hpp>

#include <cstdint>
#include <string>

namespace text {

/// What text.file_stats counts in one file.
struct FileStats {
  std::string path;
  std::uint64_t bytes = 0;
  /// Newline-terminated lines, plus a last line without a newline (so "a\nb" has 2, "" has 0).
  std::uint64_t lines = 0;
  /// Maximal runs of non-whitespace bytes, as wc -w counts in the C locale.
  std::uint64_t words = 0;
  /// Bytes in the longest line, not counting its '\n'.
  std::uint64_t longest_line = 0;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(path), CEREAL_NVP(bytes), CEREAL_NVP(lines), CEREAL_NVP(words), CEREAL_NVP(longest_line));
  }
  bool operator==(const FileStats&) const = default;
};

}  // namespace text
