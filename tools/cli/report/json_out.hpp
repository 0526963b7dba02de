#pragma once
// Writing the report's JSON with rapidjson's writer (commas, nesting) and two values of our own:
// strings taken from a trace, which may hold any bytes, and microseconds written exactly.

#include "../rapidjson.hpp"

#include <cstdint>
#include <string_view>

namespace dlpool::cli::report {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

/// `bytes` as a JSON string that strict parsers accept whatever the bytes (the SDK's
/// append_json_string: control characters escaped, ill-formed UTF-8 replaced by U+FFFD).
void write_string(JsonWriter& out, std::string_view bytes);

/// `ns` nanoseconds as microseconds, exactly: an integer when it is whole ("1500"), else with
/// three decimals as in the trace ("1234.567").
void write_us(JsonWriter& out, std::int64_t ns);

/// A fraction rounded to `decimals` places, without trailing zeros ("0.75", "1", "0").
void write_rounded(JsonWriter& out, double value, int decimals);

}  // namespace dlpool::cli::report
