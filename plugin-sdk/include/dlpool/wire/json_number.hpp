#pragma once
// C++ arithmetic types as JSON numbers, both ways, exactly or not at all:
//
//  - Written with std::to_chars: integers in full, floating types as the shortest text that reads
//    back to the same value in that type (a float as a float: 0.1f is "0.1"). JSON has no NaN or
//    infinity, so those are written as null, as JavaScript's JSON.stringify does.
//  - Read from the number's text with std::from_chars, never through a double: an integer type
//    takes only a number written without fraction or exponent, within its range; a floating type
//    takes any number whose value is within its range (one that would overflow to infinity or
//    underflow to zero is refused). bool is true or false, never a number.

#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <locale.h>  // newlocale, for strtold_l
#include <stdlib.h>

namespace dlpool::wire {

/// Arithmetic types that travel as JSON numbers: all but bool.
template <class T>
concept JsonNumber = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;

/// Appends `value` as a JSON number, or null for NaN and infinities.
template <JsonNumber T>
void append_json_number(std::string& out, T value) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) {
      out += "null";
      return;
    }
  }
  char text[64];  // the longest, a long double such as -1.1897314953572317650e+4932, takes 28
  const auto written = std::to_chars(text, text + sizeof text, value);
  out.append(text, written.ptr);
}

enum class JsonNumberProblem { none, not_an_integer, out_of_range };

namespace json_detail {

/// `text` read as a long double by the C library, whatever the process's locale. Only for what
/// std::from_chars refuses: libstdc++ 12 reads a long double with strtold and reports strtold's
/// ERANGE, which glibc sets for every inexact subnormal result, so the smallest long doubles
/// would never read back.
inline long double c_strtold(const std::string& text) {
  static const locale_t c_locale = ::newlocale(LC_ALL_MASK, "C", nullptr);
  if (c_locale == nullptr) return 0;  // then refused as out of range
  return ::strtold_l(text.c_str(), nullptr, c_locale);
}

}  // namespace json_detail

/// Reads the JSON number `text` (already known to follow JSON's number grammar) into `value`,
/// which is left alone unless the answer is `none`.
template <JsonNumber T>
JsonNumberProblem read_json_number(std::string_view text, T& value) {
  const char* const end = text.data() + text.size();
  T read{};
  if constexpr (std::is_integral_v<T>) {
    if (text.find_first_of(".eE") != std::string_view::npos) return JsonNumberProblem::not_an_integer;
    if (std::is_unsigned_v<T> && text.front() == '-') {
      // from_chars takes no sign for unsigned types; JSON forbids leading zeros, so "-0" is the
      // only negative spelling of a value they can hold.
      if (text != "-0") return JsonNumberProblem::out_of_range;
      value = 0;
      return JsonNumberProblem::none;
    }
    const auto [at, error] = std::from_chars(text.data(), end, read);
    if (error != std::errc{} || at != end) return JsonNumberProblem::out_of_range;
  } else {
    const auto [at, error] = std::from_chars(text.data(), end, read);
    if (error == std::errc::result_out_of_range && std::is_same_v<T, long double>) {
      read = static_cast<T>(json_detail::c_strtold(std::string{text}));
      if (read == 0 || std::isinf(read)) return JsonNumberProblem::out_of_range;
    } else if (error != std::errc{} || at != end) {
      return JsonNumberProblem::out_of_range;
    }
  }
  value = read;
  return JsonNumberProblem::none;
}

/// The values T holds, for error messages: "0 to 255"; for a floating type, the magnitudes it
/// holds besides 0.
template <JsonNumber T>
std::string json_range() {
  using Limits = std::numeric_limits<T>;
  std::string range;
  if constexpr (std::is_integral_v<T>) {
    append_json_number(range, Limits::min());
    range += " to ";
    append_json_number(range, Limits::max());
  } else {
    range = "0, or magnitudes from ";
    append_json_number(range, Limits::denorm_min());
    range += " to ";
    append_json_number(range, Limits::max());
  }
  return range;
}

}  // namespace dlpool::wire
