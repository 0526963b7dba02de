#pragma once

#include <cstdint>
#include <string>

namespace dlpool::detail {

/// A size as people read it, exactly: "512 MiB", "2 GiB", "1000 bytes".
inline std::string readable_size(std::uint64_t bytes) {
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  const char* unit = "bytes";
  for (const char* u : units) {
    if (bytes == 0 || bytes % 1024 != 0) break;
    bytes /= 1024;
    unit = u;
  }
  return std::to_string(bytes) + " " + unit;
}

}  // namespace dlpool::detail
