#include "log/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

namespace dlpool::detail {
namespace {

constexpr auto default_level = LogLevel::warn;
constexpr std::array<std::string_view, 7> level_names{"trace", "debug", "info", "warn", "error", "critical", "off"};

// The level is read on every log() call, so it lives apart from the logger, in an atomic.
std::atomic<LogLevel> level{default_level};
std::atomic<bool> configured{false};

struct LogState {
  std::mutex mutex;  // guards the logger's replacement by configure_log
  std::shared_ptr<spdlog::logger> logger;
};

LogState& state() {
  static LogState s;
  return s;
}

spdlog::level::level_enum to_spdlog(LogLevel l) { return static_cast<spdlog::level::level_enum>(l); }

void configure_from_environment() {
  if (configured.load(std::memory_order_acquire)) return;
  static std::once_flag from_environment;
  std::call_once(from_environment, [] {
    if (!configured.load(std::memory_order_acquire)) configure_log(std::getenv("DLPOOL_LOG"));
  });
}

}  // namespace

void configure_log(const char* setting, std::string_view program) {
  auto chosen = default_level;
  const std::string_view value = setting ? setting : "";
  if (!value.empty()) {
    const auto* it = std::find(level_names.begin(), level_names.end(), value);
    if (it != level_names.end())
      chosen = static_cast<LogLevel>(it - level_names.begin());
    else
      std::fprintf(
          stderr, "%.*s: DLPOOL_LOG=%.*s is not a level (off, critical, error, warn, info, debug, trace); using warn\n",
          static_cast<int>(program.size()), program.data(), static_cast<int>(value.size()), value.data());
  }
  // Workers share the host's stderr; unbuffered, each line leaves in one write and lines of
  // several processes do not interleave.
  auto logger =
      std::make_shared<spdlog::logger>(std::string{program}, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n %P] [%l] %v");
  logger->set_level(to_spdlog(chosen));
  {
    auto& s = state();
    std::lock_guard lock{s.mutex};
    s.logger = std::move(logger);
  }
  level.store(chosen, std::memory_order_relaxed);
  configured.store(true, std::memory_order_release);  // the environment no longer applies
}

bool log_enabled(LogLevel l) noexcept {
  configure_from_environment();
  return l >= level.load(std::memory_order_relaxed) && l != LogLevel::off;
}

std::string format_log(fmt::string_view format, fmt::format_args args) { return fmt::vformat(format, args); }

void log_line(LogLevel l, std::string_view message) noexcept {
  auto& s = state();
  std::shared_ptr<spdlog::logger> logger;
  {
    std::lock_guard lock{s.mutex};
    logger = s.logger;
  }
  if (!logger) return;
  try {
    logger->log(to_spdlog(l), message);
  } catch (...) {
  }
}

}  // namespace dlpool::detail
