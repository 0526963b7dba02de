#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace dlpool::wire {

inline constexpr std::size_t max_plugin_name = 255;

// ASCII by hand, not <cctype>: those follow the host's locale, and the rule must not.
constexpr bool ascii_printable(char c) noexcept { return c >= 0x20 && c <= 0x7e; }
constexpr bool plugin_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/// What is wrong with a plugin name under the plugin-name rule, or "" when nothing is. The rule,
/// checked by the host before a request leaves it and by the worker before it touches the file
/// system: [A-Za-z0-9_.-]+, at most 255 characters, without "..". A name can therefore never be
/// a path, and never reach past the plugin directories.
inline std::string plugin_name_problem(std::string_view name) {
  if (name.empty()) return "it is empty";
  if (name.size() > max_plugin_name)
    return "it is " + std::to_string(name.size()) + " bytes long, over " + std::to_string(max_plugin_name);
  for (const char c : name) {
    if (plugin_name_char(c)) continue;
    if (c == '/') return "it contains '/': a plugin is named, not given as a path";
    if (ascii_printable(c)) return std::string{"it contains '"} + c + "'";
    char shown[16];
    std::snprintf(shown, sizeof shown, "byte 0x%02x", static_cast<unsigned char>(c));
    return std::string{"it contains "} + shown;
  }
  if (name.find("..") != std::string_view::npos) return "it contains '..'";
  return {};
}

inline bool valid_plugin_name(std::string_view name) noexcept {
  try {
    return plugin_name_problem(name).empty();
  } catch (...) {  // only allocation can fail
    return false;
  }
}

/// A name as an error message shows it: bytes outside printable ASCII escaped (\x00), and one
/// longer than `max_shown` cut short with "...". A hostile name cannot garble or flood a message.
inline std::string printable_name(std::string_view name, std::size_t max_shown = 64) {
  std::string shown;
  for (const char c : name.substr(0, max_shown)) {
    if (ascii_printable(c) && c != '\\') {
      shown += c;
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(c));
      shown += escaped;
    }
  }
  if (name.size() > max_shown) shown += "...";
  return shown;
}

/// The error message for an invalid name: the name as printable_name() shows it, what is wrong
/// with it, and the rule.
inline std::string invalid_plugin_name_message(std::string_view name) {
  return "invalid plugin name '" + printable_name(name) + "': " + plugin_name_problem(name) +
         " (a plugin name is letters, digits, '_', '.', '-', at most 255 of them, without '..')";
}

}  // namespace dlpool::wire
