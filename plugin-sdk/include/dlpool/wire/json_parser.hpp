#pragma once
// JSON text (RFC 8259, strictly) to a JsonValue. The text comes from a shell or a file, so:
//
//  - The parser is iterative: nesting costs heap, not stack, and beyond max_depth it is refused.
//  - Strings must be well-formed UTF-8 (utf8.hpp) without raw control characters; escapes are
//    decoded, "\u0000" to a NUL byte that stays in the string, and a lone surrogate is refused.
//  - Numbers are checked against JSON's grammar and kept as text (json_value.hpp).
//  - After the value comes only whitespace: a NUL byte or anything else is an error, not the end.
//  - No extensions: no NaN or Infinity, comments, trailing commas or byte-order mark.
//
// Both the SDK (decoding a task's arguments) and the command line (checking a line before it
// reaches a worker) use this parser, so they never disagree about what is JSON.

#include <dlpool/wire/bytes.hpp>
#include <dlpool/wire/json_escape.hpp>
#include <dlpool/wire/json_value.hpp>
#include <dlpool/wire/utf8.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dlpool::wire {

/// How deep arrays and objects may nest in parsed JSON: far deeper than any argument type, far
/// shallower than what would make a recursive consumer of the value run out of stack.
inline constexpr std::size_t max_json_depth = 128;

namespace json_detail {

class Parser {
 public:
  Parser(std::string_view text, std::size_t max_depth) noexcept : text_{text}, max_depth_{max_depth} {}

  JsonValue parse() {
    JsonValue root;
    // The arrays and objects being filled, outermost first. Only the innermost one grows, so
    // the pointers to the others (elements of their parents) stay valid.
    std::vector<JsonValue*> open;
    JsonValue* slot = &root;  // where the next value goes
    for (;;) {
      skip_whitespace();
      if (read_value(*slot)) {  // opened an array or an object
        if (open.size() == max_depth_)
          throw DecodeError{"arrays and objects nest deeper than " + std::to_string(max_depth_) +
                            " levels (at offset " + std::to_string(pos_ - 1) + ")"};
        open.push_back(slot);
        skip_whitespace();
        if (!consume(closer(*slot))) {
          slot = &next_slot(*slot);
          continue;
        }
        open.pop_back();
      }
      // A value is complete: close what it completes, then find the slot of the next one.
      for (;;) {
        skip_whitespace();
        if (open.empty()) {
          if (pos_ != text_.size()) fail("expected the end of the text after the value");
          return root;
        }
        JsonValue& container = *open.back();
        if (consume(',')) {
          skip_whitespace();
          slot = &next_slot(container);
          break;
        }
        if (!consume(closer(container)))
          fail(container.kind == JsonValue::Kind::array ? "expected ',' or ']'" : "expected ',' or '}'");
        open.pop_back();
      }
    }
  }

 private:
  static char closer(const JsonValue& container) noexcept {
    return container.kind == JsonValue::Kind::array ? ']' : '}';
  }

  [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  bool consume(char c) noexcept {
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  [[nodiscard]] bool at_digit() const noexcept { return !at_end() && text_[pos_] >= '0' && text_[pos_] <= '9'; }
  void skip_digits() noexcept {
    while (at_digit()) ++pos_;
  }
  void skip_whitespace() noexcept {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  /// Throws "invalid JSON at offset N: EXPECTED, found WHAT IS THERE".
  [[noreturn]] void fail(std::string_view expected) const {
    std::string found;
    if (at_end()) {
      found = "the end of the text";
    } else if (const auto c = static_cast<unsigned char>(text_[pos_]); c == 0) {
      found = "a NUL byte";
    } else if (c > 0x20 && c < 0x7F) {
      found = std::string{"'"} + static_cast<char>(c) + "'";
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      found = std::string{"byte 0x"} + hex[c >> 4] + hex[c & 0xF];
    }
    throw DecodeError{"invalid JSON at offset " + std::to_string(pos_) + ": " + std::string{expected} + ", found " +
                      found};
  }

  /// The slot of `container`'s next element; for an object, after reading the member's name.
  JsonValue& next_slot(JsonValue& container) {
    if (container.kind == JsonValue::Kind::object) {
      if (peek() != '"') fail("expected a member name in quotes");
      read_string(container.names.emplace_back());
      skip_whitespace();
      if (!consume(':')) fail("expected ':' after the member name");
      skip_whitespace();
    }
    return container.items.emplace_back();
  }

  /// Reads a value into `value`; for an array or object only its opening bracket. True if it
  /// opened one.
  bool read_value(JsonValue& value) {
    switch (peek()) {
      case '[':
        value.kind = JsonValue::Kind::array;
        ++pos_;
        return true;
      case '{':
        value.kind = JsonValue::Kind::object;
        ++pos_;
        return true;
      case '"':
        value.kind = JsonValue::Kind::string;
        read_string(value.text);
        return false;
      case 't': read_literal("true", value, JsonValue::Kind::boolean, true); return false;
      case 'f': read_literal("false", value, JsonValue::Kind::boolean, false); return false;
      case 'n': read_literal("null", value, JsonValue::Kind::null, false); return false;
      default: read_number(value); return false;
    }
  }

  void read_literal(std::string_view word, JsonValue& value, JsonValue::Kind kind, bool boolean) {
    if (text_.substr(pos_, word.size()) != word) fail("expected a value");
    pos_ += word.size();
    value.kind = kind;
    value.boolean = boolean;
  }

  /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, kept as written.
  void read_number(JsonValue& value) {
    const auto start = pos_;
    const bool minus = consume('-');
    if (consume('0')) {
    } else if (at_digit()) {
      skip_digits();
    } else {
      fail(minus ? "expected a digit after '-'" : "expected a value");
    }
    if (consume('.')) {
      if (!at_digit()) fail("expected a digit after the decimal point");
      skip_digits();
    }
    if (consume('e') || consume('E')) {
      if (!consume('+')) consume('-');
      if (!at_digit()) fail("expected a digit in the exponent");
      skip_digits();
    }
    value.kind = JsonValue::Kind::number;
    value.text.assign(text_.substr(start, pos_ - start));
  }

  /// Reads a quoted string into `out`, its escapes decoded.
  void read_string(std::string& out) {
    ++pos_;  // the opening quote
    for (;;) {
      const auto run = pos_;  // bytes that are themselves, appended at once
      while (!at_end()) {
        const auto c = static_cast<unsigned char>(text_[pos_]);
        if (c == '"' || c == '\\' || c < 0x20) break;
        if (c < 0x80) {
          ++pos_;
          continue;
        }
        const auto sequence = utf8_sequence(text_.substr(pos_));
        if (!sequence.valid) fail("expected UTF-8 text in the string");
        pos_ += sequence.length;
      }
      out.append(text_.substr(run, pos_ - run));
      if (at_end()) fail("expected '\"' to end the string");
      if (consume('"')) return;
      if (!consume('\\')) fail("expected an escape such as \\n or \\u0000 for a control character in the string");
      read_escape(out);
    }
  }

  void read_escape(std::string& out) {
    if (const char byte = json_unescaped(peek()); byte != '\0') {
      ++pos_;
      out += byte;
      return;
    }
    if (!consume('u')) fail("expected an escape: one of \"\\/bfnrt or u");
    std::uint32_t code = read_hex4();
    if (code >= 0xDC00 && code <= 0xDFFF) fail("expected a high surrogate before this low one");
    if (code >= 0xD800 && code <= 0xDBFF) {
      if (!consume('\\') || !consume('u')) fail("expected \\u and a low surrogate after a high surrogate");
      const std::uint32_t low = read_hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("expected a low surrogate after a high surrogate");
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, code);
  }

  std::uint32_t read_hex4() {
    std::uint32_t code = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = peek();
      std::uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        digit = static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        digit = static_cast<std::uint32_t>(c - 'A' + 10);
      else
        fail("expected 4 hexadecimal digits after \\u");
      code = code * 16 + digit;
    }
    return code;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    const auto put = [&](std::uint32_t byte) { out += static_cast<char>(byte); };
    if (code < 0x80) {
      put(code);
    } else if (code < 0x800) {
      put(0xC0 | code >> 6);
      put(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      put(0xE0 | code >> 12);
      put(0x80 | (code >> 6 & 0x3F));
      put(0x80 | (code & 0x3F));
    } else {
      put(0xF0 | code >> 18);
      put(0x80 | (code >> 12 & 0x3F));
      put(0x80 | (code >> 6 & 0x3F));
      put(0x80 | (code & 0x3F));
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t max_depth_;
};

}  // namespace json_detail

/// Parses `text`, one JSON value with optional whitespace around it. Throws DecodeError: "invalid
/// JSON at offset 7: expected ',' or ']', found 'x'", or "arrays and objects nest deeper than 128
/// levels (at offset 128)".
inline JsonValue parse_json(std::string_view text, std::size_t max_depth = max_json_depth) {
  return json_detail::Parser{text, max_depth}.parse();
}

}  // namespace dlpool::wire
