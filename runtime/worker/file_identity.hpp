#pragma once

#include <cstdint>
#include <string>

namespace dlpool::worker {

/// What identifies the bytes of an open file: its inode and the SHA-256 of its contents.
struct FileIdentity {
  std::uint64_t inode = 0;
  std::string sha256;  // lowercase hex
};

/// Opens and reads the file at `path`. Throws std::system_error if it cannot be read.
FileIdentity identify_path(const std::string& path);

}  // namespace dlpool::worker
