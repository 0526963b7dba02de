#pragma once
// Publishing a file into a directory atomically: the copy is written and synced out of sight,
// then rename()d over the old name. A process that has the old file open or mapped (a worker
// running the old plugin) keeps its inode intact; writing over the old file instead would change
// the code under its feet.

#include <string>

namespace dlpool::cli {

/// A copy of a file staged inside `dir` under a fresh private directory (`dir`/.dlpool-install-*),
/// so the same file system holds it and rename() can move it into place. Removed with its
/// directory on destruction unless published. Not copyable.
class StagedFile {
 public:
  /// Copies `source` to `dir`/.dlpool-install-XXXXXX/`file_name` with permissions `mode` and
  /// syncs it to disk. Throws std::system_error naming the call and the file.
  StagedFile(const std::string& source, const std::string& dir, const std::string& file_name, unsigned mode);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  /// The private directory, and the staged copy in it.
  [[nodiscard]] const std::string& directory() const noexcept { return staging_; }
  [[nodiscard]] const std::string& path() const noexcept { return staged_; }

  /// rename()s the copy to `dir`/`file_name`, replacing whatever had that name in one step, and
  /// syncs `dir` so the new name survives a crash. Returns the published path. Throws
  /// std::system_error; the old file is then untouched.
  std::string publish();

 private:
  std::string dir_, file_name_, staging_, staged_;
  bool published_ = false;
};

}  // namespace dlpool::cli
