#pragma once
// Diagnostics for operators, quiet by default: DLPOOL_LOG sets the level (off, critical, error,
// warn, info, debug, trace; default warn, which a healthy pool never reaches). Host and workers
// read it alike; lines go to stderr through spdlog, tagged with the program and its pid.
//
// Only this header's few declarations reach the files that log: spdlog stays in log.cpp, and a
// message is formatted only when its level is on.
//
// The shared runtime exports configure_log and log_enabled although they are no public API (they
// are declared only here): log_test sets and reads the level of the library's own log, the one
// its pools use.

#include <dlpool/export.hpp>

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace dlpool::detail {

enum class LogLevel { trace, debug, info, warn, error, critical, off };

/// Configures the log from a DLPOOL_LOG value (nullptr or "": the default). An unknown value
/// keeps the default and says so on stderr, naming it. Called on first use with
/// getenv("DLPOOL_LOG"); `program` names the lines' source ("dlpool", "dlpool-worker").
DLPOOL_API void configure_log(const char* setting, std::string_view program = "dlpool");

[[nodiscard]] DLPOOL_API bool log_enabled(LogLevel level) noexcept;
void log_line(LogLevel level, std::string_view message) noexcept;
/// fmt::vformat, out of line: {fmt}'s formatting code is then compiled once, in log.cpp, rather
/// than in every file that logs (the worker compiles {fmt} in, header-only, where it is heavy).
std::string format_log(fmt::string_view format, fmt::format_args args);

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) noexcept {
  if (!log_enabled(level)) return;
  try {
    // What fmt::format(format, args...) does, but for the out-of-line vformat.
    log_line(level, format_log(format, fmt::make_format_args(args...)));
  } catch (...) {  // a diagnostic never fails the operation it describes
  }
}

}  // namespace dlpool::detail
