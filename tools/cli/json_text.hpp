#pragma once
// The JSON the command line reads and writes, built with rapidjson (never by hand).

#include <optional>
#include <string>
#include <string_view>

namespace dlpool::cli {

/// Why `text` cannot be the arguments of a call ("empty line", "invalid JSON at offset 3:
/// ...", "expected a JSON array of arguments ..., got an object"), or nothing when it is a JSON
/// array. Whether the elements fit the task's parameters is for the plugin to say.
[[nodiscard]] std::optional<std::string> arguments_problem(std::string_view text);

/// `json` as a single line: unchanged when it already is one (the SDK writes compact JSON),
/// otherwise re-emitted compactly. Throws std::runtime_error if it is not JSON.
[[nodiscard]] std::string one_line(std::string json);

/// `{"error":{"type":TYPE,"message":MESSAGE}}`, on one line.
[[nodiscard]] std::string error_object(std::string_view type, std::string_view message);

}  // namespace dlpool::cli
