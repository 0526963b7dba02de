#pragma once
// Values to JSON text and back, for calls from a shell (`dlpool call`, `dlpool map`, JsonTask).
// The binary codec (codec.hpp) is the pool's fast path; this one is only included where JSON is
// spoken: the SDK's per-task entry points and the command line.

#include <dlpool/wire/bytes.hpp>
#include <dlpool/wire/cereal_types.hpp>
#include <dlpool/wire/json_archive.hpp>
#include <dlpool/wire/json_parser.hpp>
#include <dlpool/wire/json_value.hpp>

#include <string>
#include <string_view>
#include <tuple>

namespace dlpool::wire {

/// A value as bare, compact JSON text on one line: `49`, `"ab"`, `[1,2]`, `{"x":1}`. NaN and
/// infinities are written as null, bytes that are not UTF-8 as U+FFFD (json_archive.hpp).
template <class T>
std::string to_json(const T& value) {
  std::string out;
  {
    JsonOutputArchive archive{out};
    archive(value);
  }
  return out;
}

/// Parses `text` as the arguments of a call: a JSON array (json_parser.hpp). Throws DecodeError
/// when it is not JSON, nests too deep or is not an array.
inline JsonValue parse_json_arguments(std::string_view text) {
  auto arguments = parse_json(text);
  if (arguments.kind != JsonValue::Kind::array)
    throw DecodeError{std::string{"arguments must be a JSON array such as [\"ab\", 3], got "} +
                      kind_name(arguments.kind)};
  return arguments;
}

/// Decodes a JSON array of arguments (`["ab", 3]`) into a tuple, element by element. Throws
/// DecodeError, naming the argument and what is wrong with it, unless the text is an array of
/// exactly sizeof...(T) values that each fit their type exactly.
template <class... T>
void from_json_args(std::string_view json, std::tuple<T...>& args) {
  const auto arguments = parse_json_arguments(json);
  if (arguments.items.size() != sizeof...(T))
    throw DecodeError{"expected " + std::to_string(sizeof...(T)) + " argument(s), got " +
                      std::to_string(arguments.items.size())};
  JsonInputArchive archive{arguments};
  try {
    std::apply([&](auto&... arg) { (archive(arg), ...); }, args);
  } catch (const cereal::Exception& e) {  // Cereal's own checks, such as a class version's
    throw DecodeError{std::string{"arguments do not match the task's parameter types: "} + e.what()};
  }
}

}  // namespace dlpool::wire
