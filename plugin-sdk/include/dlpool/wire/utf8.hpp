#pragma once
// UTF-8 well-formedness, as the Unicode Standard defines it (chapter 3, table 3-7): what the JSON
// parser refuses and what the JSON writer replaces. One definition, so that what one end writes
// the other always reads.

#include <cstddef>
#include <string_view>

namespace dlpool::wire {

/// What starts a non-empty byte string: a well-formed UTF-8 sequence of `length` bytes, or, when
/// !`valid`, an ill-formed one whose maximal subpart is `length` bytes (at least 1). Maximal
/// subparts are the unit Unicode ("U+FFFD substitution of maximal subparts") and the WHATWG
/// Encoding Standard replace with one U+FFFD each: "\xE2\x82" is one, "\xC0\xAF" is two.
struct Utf8Sequence {
  std::size_t length;
  bool valid;
};

inline Utf8Sequence utf8_sequence(std::string_view bytes) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {1, true};
  // Table 3-7: how many continuation bytes follow each lead, and the narrower range of the first
  // (which excludes overlong forms, surrogates and code points beyond U+10FFFF).
  std::size_t continuations = 0;
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuations = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuations = 2;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuations = 3;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return {1, false};  // a continuation byte, or a byte that never occurs in UTF-8
  }
  for (std::size_t i = 1; i <= continuations; ++i) {
    if (i >= bytes.size() || byte(i) < low || byte(i) > high) return {i, false};
    low = 0x80;
    high = 0xBF;
  }
  return {continuations + 1, true};
}

/// The UTF-8 encoding of U+FFFD REPLACEMENT CHARACTER.
inline constexpr std::string_view utf8_replacement = "\xEF\xBF\xBD";

}  // namespace dlpool::wire
