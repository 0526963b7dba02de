#include "json_out.hpp"

#include <dlpool/wire/json_string.hpp>

#include <cmath>
#include <cstdio>
#include <string>

namespace dlpool::cli::report {

void write_string(JsonWriter& out, std::string_view bytes) {
  std::string json;
  wire::append_json_string(json, bytes);
  out.RawValue(json.data(), json.size(), rapidjson::kStringType);
}

void write_us(JsonWriter& out, std::int64_t ns) {
  if (ns % 1000 == 0) {
    out.Int64(ns / 1000);
    return;
  }
  const auto magnitude = ns < 0 ? -ns : ns;
  char text[32];
  const int n = std::snprintf(text, sizeof text, "%s%lld.%03lld", ns < 0 ? "-" : "",
                              static_cast<long long>(magnitude / 1000), static_cast<long long>(magnitude % 1000));
  out.RawValue(text, static_cast<std::size_t>(n), rapidjson::kNumberType);
}

void write_rounded(JsonWriter& out, double value, int decimals) {
  if (!std::isfinite(value)) value = 0;
  char text[64];
  int n = std::snprintf(text, sizeof text, "%.*f", decimals, value);
  if (std::string_view{text, static_cast<std::size_t>(n)}.find('.') != std::string_view::npos) {
    while (n > 0 && text[n - 1] == '0') --n;
    if (n > 0 && text[n - 1] == '.') --n;
  }
  if (std::string_view{text, static_cast<std::size_t>(n)} == "-0") {
    text[0] = '0';
    n = 1;
  }
  out.RawValue(text, static_cast<std::size_t>(n), rapidjson::kNumberType);
}

}  // namespace dlpool::cli::report
