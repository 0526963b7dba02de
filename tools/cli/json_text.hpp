#pragma once
// The JSON the command line reads and writes, with the SDK's JSON parser and writer (wire/json_*),
// so that a line is judged here exactly as a worker will judge it.

#include <optional>
#include <string>
#include <string_view>

namespace dlpool::cli {

/// Why `text` cannot be the arguments of a call ("empty line: ...", "invalid JSON at offset 3:
/// ...", "arguments must be a JSON array such as [\"ab\", 3], got an object"), or nothing when it
/// is a JSON array. Whether the elements fit the task's parameters is for the plugin to say.
[[nodiscard]] std::optional<std::string> arguments_problem(std::string_view text);

/// `json` as a single line: unchanged when it already is one (the SDK writes compact JSON),
/// otherwise re-emitted compactly. Throws std::runtime_error if it is not JSON.
[[nodiscard]] std::string one_line(std::string json);

/// `{"error":{"type":TYPE,"message":MESSAGE}}`, on one line, valid JSON whatever the bytes of
/// TYPE and MESSAGE (see wire/json_string.hpp).
[[nodiscard]] std::string error_object(std::string_view type, std::string_view message);

}  // namespace dlpool::cli
