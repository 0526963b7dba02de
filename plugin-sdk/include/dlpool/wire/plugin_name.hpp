#pragma once

#include <cctype>
#include <string_view>

namespace dlpool::wire {

/// The plugin-name rule, checked by the host before a request leaves it and by the worker before
/// it touches the file system: [A-Za-z0-9_.-]+, at most 255 characters, without "..". A name can
/// therefore never be a path.
inline bool valid_plugin_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 255 || name.find("..") != std::string_view::npos) return false;
  for (const char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

}  // namespace dlpool::wire
