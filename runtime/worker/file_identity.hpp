#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace dlpool::worker {

/// What identifies the bytes of an open file: its inode and the SHA-256 of its contents.
struct FileIdentity {
  std::uint64_t inode = 0;
  std::string sha256;  // lowercase hex
};

/// What changes when a file is replaced or written to: compared to tell whether what was learnt
/// from its bytes still holds (a rename gives another inode; a write in place, new times).
struct FileKey {
  std::uint64_t device = 0, inode = 0, size = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileKey&) const = default;
  /// Whether the file last changed before the current tick of the clock that stamps file times
  /// (CLOCK_REALTIME_COARSE), so that any later write shows in them: a second write of the same
  /// size within the tick of the first, and of our read, would leave the key as it was. (A
  /// filesystem with coarser times than the tick, ext3's seconds, narrows this guard for writes
  /// in place, which hot swap never makes: it renames.)
  [[nodiscard]] bool settled() const noexcept;
};

/// The key of the file at `path` now, or nothing if it cannot be stat()ed.
std::optional<FileKey> file_key(const std::string& path) noexcept;

/// A file's bytes, read whole through one descriptor: a plugin's are hashed for its identity and
/// searched for its symbols, so that what the host is told is what was checked. Read, not mapped:
/// a file truncated meanwhile would make a mapping raise SIGBUS.
class FileImage {
 public:
  /// The largest plugin file read (1 GiB): a plugin's code and data, with room to spare.
  static constexpr std::uint64_t max_plugin_bytes = std::uint64_t{1} << 30;

  /// Throws std::system_error if the file cannot be opened or read, std::runtime_error if it is
  /// over max_plugin_bytes or not an ELF file (judged from its size and first bytes).
  explicit FileImage(const std::string& path);
  ~FileImage();
  FileImage(const FileImage&) = delete;
  FileImage& operator=(const FileImage&) = delete;

  /// Writable, as libelf's elf_memory wants it; nothing here writes to it.
  [[nodiscard]] std::span<char> bytes() const noexcept { return {data_, size_}; }
  [[nodiscard]] FileIdentity identity() const;
  /// The file's key when it was opened.
  [[nodiscard]] const FileKey& key() const noexcept { return key_; }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;      // bytes read
  std::size_t capacity_ = 0;  // bytes mapped
  FileKey key_;
};

/// FileImage{path}.identity().
FileIdentity identify_path(const std::string& path);

}  // namespace dlpool::worker
