#pragma once
// Types returned by the bundled `digest` plugin, shared with the hosts that call it: the same type
// on both sides gives the same task signature.
//
//   dlpool::Task<unsigned long(std::string)> crc32_file{"digest", "crc32_file"};
//   dlpool::Task<unsigned long(std::string)> adler32_file{"digest", "adler32_file"};
//   dlpool::Task<digest::DeflateStats(std::string, int)> deflate_ratio{"digest", "deflate_ratio"};

#include <cereal/cereal.hpp>

#include <cstdint>

namespace digest {

/// What digest.deflate_ratio measured: the file's size and the size of its zlib stream.
struct DeflateStats {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  /// bytes_out / bytes_in (below 1 when the data shrank); 0 for an empty file.
  double ratio = 0;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(bytes_in), CEREAL_NVP(bytes_out), CEREAL_NVP(ratio));
  }
  bool operator==(const DeflateStats&) const = default;
};

}  // namespace digest
