#pragma once
// file_report's settings, read from its JSON config file.

#include <dlpool/pool.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace file_report {

/// A config file that cannot be read or says something wrong; the message names the file and
/// the key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Every key is optional:
///
///   {
///     "processes": 2,            worker processes (default: one per hardware thread)
///     "chunksize": 1,            files sent to a worker at a time
///     "imap_window": 8,          chunks in flight ahead of the output (default: see PoolOptions)
///     "task_timeout_ms": 60000,  a file taking longer fails with TaskTimeout (default: no limit)
///     "plugin_path": ["dir"]     searched for the text plugin before the installed plugins;
///   }                            relative to the config file's directory
struct ReportConfig {
  std::optional<int> processes;
  int chunksize = 1;
  std::optional<int> imap_window;
  std::optional<std::chrono::milliseconds> task_timeout;
  std::vector<std::string> plugin_path;

  /// The pool these settings describe.
  [[nodiscard]] dlpool::PoolOptions pool_options() const;
};

/// Reads `file`. Throws ConfigError for a file that cannot be read, invalid JSON, a value of the
/// wrong type or range, and an unknown key (a misspelt setting must not be silently ignored).
[[nodiscard]] ReportConfig load_config(const std::filesystem::path& file);

}  // namespace file_report
