#pragma once
// A parsed JSON value, the small document JsonInputArchive reads. A number keeps the text it was
// written as: which C++ type it becomes, and whether it fits, is decided only when it is loaded
// (json_number.hpp), so no digit is lost to a double on the way.

#include <cstdint>
#include <string>
#include <vector>

namespace dlpool::wire {

struct JsonValue {
  enum class Kind : std::uint8_t { null, boolean, number, string, array, object };

  Kind kind = Kind::null;
  bool boolean = false;
  /// A number as written ("-2.5e3"), or a string's bytes with its escapes decoded (a "\u0000"
  /// included: lengths, never NUL-terminated).
  std::string text;
  /// The elements of an array, or the values of an object's members in their order.
  std::vector<JsonValue> items;
  /// An object's member names, one per item.
  std::vector<std::string> names;
};

/// "an array", "a string", ...: what a value is, for error messages.
inline const char* kind_name(JsonValue::Kind kind) noexcept {
  switch (kind) {
    case JsonValue::Kind::null: return "null";
    case JsonValue::Kind::boolean: return "a boolean";
    case JsonValue::Kind::number: return "a number";
    case JsonValue::Kind::string: return "a string";
    case JsonValue::Kind::array: return "an array";
    case JsonValue::Kind::object: return "an object";
  }
  return "a value";
}

}  // namespace dlpool::wire
