#pragma once
// JSON's two-character escapes (RFC 8259, section 7): one table, read by the parser
// (json_parser.hpp) and written by the writer (json_string.hpp), so that the two cannot disagree.

#include <array>

namespace dlpool::wire {

/// `\` then `letter` in JSON text stands for `byte`.
struct JsonEscape {
  char letter;
  char byte;
};

/// Every two-character escape. The parser accepts all of them. The writer escapes only '"', '\\'
/// and control bytes, so it never writes "\/" (a '/' goes out as itself), and writes a control
/// byte missing here as \u00XX.
inline constexpr std::array<JsonEscape, 8> json_escapes{{
    {'"', '"'},
    {'\\', '\\'},
    {'/', '/'},
    {'b', '\b'},
    {'f', '\f'},
    {'n', '\n'},
    {'r', '\r'},
    {'t', '\t'},
}};

/// The byte that `\` + `letter` stands for, or '\0' if that is not a two-character escape.
constexpr char json_unescaped(char letter) noexcept {
  for (const auto& escape : json_escapes)
    if (escape.letter == letter) return escape.byte;
  return '\0';
}

/// The letter that escapes `byte` as `\` + letter, or '\0' if it has none.
constexpr char json_escape_letter(char byte) noexcept {
  for (const auto& escape : json_escapes)
    if (escape.byte == byte) return escape.letter;
  return '\0';
}

}  // namespace dlpool::wire
