#pragma once
// Bytes as a JSON string that any strict parser (RFC 8259) accepts. A std::string is bytes, not
// text, so two rules make every one of them writable:
//
//  - Embedded NUL and other control characters are escaped ("a\u0000b"), never cut off.
//  - Bytes that are not well-formed UTF-8 are replaced, each maximal ill-formed subpart by one
//    U+FFFD (utf8.hpp), as Unicode and the WHATWG Encoding Standard decode them. Well-formed text
//    passes through unchanged.

#include <dlpool/wire/json_escape.hpp>
#include <dlpool/wire/utf8.hpp>

#include <string>
#include <string_view>

namespace dlpool::wire {

/// Appends `bytes` as a quoted JSON string.
inline void append_json_string(std::string& out, std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  out.reserve(out.size() + bytes.size() + 2);
  out += '"';
  std::size_t plain = 0;  // bytes[plain, i) are copied as they are, in one append
  const auto flush = [&](std::size_t i) { out.append(bytes.substr(plain, i - plain)); };
  for (std::size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const auto sequence = utf8_sequence(bytes.substr(i));
      if (sequence.valid) {
        i += sequence.length;
        continue;
      }
      flush(i);
      out += utf8_replacement;
      plain = i += sequence.length;
      continue;
    }
    flush(i);
    out += '\\';
    if (const char letter = json_escape_letter(static_cast<char>(c)); letter != '\0') {
      out += letter;
    } else {
      out += "u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
    plain = ++i;
  }
  flush(bytes.size());
  out += '"';
}

}  // namespace dlpool::wire
