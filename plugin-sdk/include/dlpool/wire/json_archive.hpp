#pragma once
// Cereal archives for JSON, so that every type Cereal serializes (user structs with serialize()
// included) also travels as JSON, in the shapes Cereal's own JSON archive gives it: a class is an
// object of its NVP names (or "value0", "value1", ... for unnamed fields); a container that
// Cereal sizes with a SizeTag (vector, set, map, ...) is an array; an optional is
// {"nullopt": b, "data": v}, a map entry {"key": k, "value": v}, a pair {"first", "second"}, a
// tuple {"tuple_element0", ...}, a std::array {"value0", ...}; enums and other minimal types are
// their value. Loading follows Cereal's rule too: values in order, and an NVP whose name is not
// the next member's is searched for among the object's members.
//
// What differs from cereal::JSON*Archive is numbers and strings: every arithmetic type is a JSON
// number, read and written exactly (json_number.hpp), every string keeps its NUL bytes
// (json_string.hpp), and input comes from the strict parser (json_parser.hpp) rather than
// rapidjson. A value that does not fit its type is refused with a DecodeError that says where it
// is: "argument 2 [3].x: expected an integer, got 2.5".

#include <dlpool/wire/bytes.hpp>
#include <dlpool/wire/json_number.hpp>
#include <dlpool/wire/json_string.hpp>
#include <dlpool/wire/json_value.hpp>
#include <dlpool/wire/signature.hpp>

#include <cereal/cereal.hpp>

#include <array>
#include <cstdint>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace dlpool::wire {

/// Writes one value as compact JSON text. Cereal drives it through the node protocol of its JSON
/// archive: start_node / finish_node around a class, make_array for a SizeTag, write_name before
/// each value.
class JsonOutputArchive : public cereal::OutputArchive<JsonOutputArchive>, public cereal::traits::TextArchive {
 public:
  /// Appends to `out`, which must outlive the archive, the one value it is given, bare.
  explicit JsonOutputArchive(std::string& out) : OutputArchive{this}, out_{out} { nodes_.push_back({State::root}); }

  void start_node() {
    write_name();
    nodes_.push_back({State::start_object});
  }
  /// The node just started is an array, not an object.
  void make_array() { nodes_.back().state = State::start_array; }
  void finish_node() {
    switch (nodes_.back().state) {
      case State::start_array: out_ += "[]"; break;
      case State::in_array: out_ += ']'; break;
      case State::start_object: out_ += "{}"; break;
      case State::in_object: out_ += '}'; break;
      case State::root: break;
    }
    nodes_.pop_back();
  }
  /// The member name of the next value (an NVP's); otherwise it is "value<N>".
  void set_next_name(const char* name) noexcept { next_name_ = name; }
  /// Opens the node on its first value, then separates values and names those of an object.
  void write_name() {
    auto& node = nodes_.back();
    const char* name = std::exchange(next_name_, nullptr);
    switch (node.state) {
      case State::root: return;
      case State::start_array:
        out_ += '[';
        node.state = State::in_array;
        return;
      case State::in_array: out_ += ','; return;
      case State::start_object:
        out_ += '{';
        node.state = State::in_object;
        break;
      case State::in_object: out_ += ','; break;
    }
    if (name != nullptr)
      append_json_string(out_, name);
    else
      append_json_string(out_, "value" + std::to_string(node.unnamed++));
    out_ += ':';
  }

  void save_value(bool value) { out_ += value ? "true" : "false"; }
  template <JsonNumber T>
  void save_value(T value) {
    append_json_number(out_, value);
  }
  void save_value(std::string_view value) { append_json_string(out_, value); }

 private:
  enum class State : std::uint8_t { root, start_object, in_object, start_array, in_array };
  struct Node {
    State state;
    std::uint32_t unnamed = 0;  // values named "value<N>" so far
  };

  std::string& out_;
  std::vector<Node> nodes_;
  const char* next_name_ = nullptr;
};

/// Reads the elements of a parsed JSON array of arguments, one per load at the top level, and
/// throws DecodeError naming the argument, the place inside it and the problem.
class JsonInputArchive : public cereal::InputArchive<JsonInputArchive>, public cereal::traits::TextArchive {
 public:
  /// `arguments` is a JSON array, which must outlive the archive.
  explicit JsonInputArchive(const JsonValue& arguments) : InputArchive{this} { cursors_.push_back({&arguments, 0}); }

  /// Enters the next value, which must be an array or an object (`expected` says which the type
  /// would rather have, for the error message).
  void start_node(const char* expected) {
    const auto& value = next_value();
    if (value.kind != JsonValue::Kind::array && value.kind != JsonValue::Kind::object)
      fail_here("expected " + std::string{expected} + ", got " + describe(value));
    cursors_.push_back({&value, 0});
  }
  void finish_node() {
    cursors_.pop_back();
    ++cursors_.back().index;
  }
  /// The member name of the next value (an NVP's): searched for when the next member has
  /// another name.
  void set_next_name(const char* name) noexcept { next_name_ = name; }

  void load_value(bool& value) {
    value = next_value(JsonValue::Kind::boolean, "true or false").boolean;
    ++cursors_.back().index;
  }
  template <JsonNumber T>
  void load_value(T& value) {
    const auto& json = next_value(JsonValue::Kind::number, std::is_integral_v<T> ? "an integer" : "a number");
    switch (read_json_number(json.text, value)) {
      case JsonNumberProblem::none: break;
      case JsonNumberProblem::not_an_integer: fail_here("expected an integer, got " + describe(json));
      case JsonNumberProblem::out_of_range:
        fail_here(describe(json) + " is out of range for " + type_name<T>() + " (" + json_range<T>() + ")");
    }
    ++cursors_.back().index;
  }
  template <class Traits, class Alloc>
  void load_value(std::basic_string<char, Traits, Alloc>& value) {
    const auto& json = next_value(JsonValue::Kind::string, "a string");
    value.assign(json.text.data(), json.text.size());
    ++cursors_.back().index;
  }
  /// The element count of the array just entered (a SizeTag's).
  void load_size(cereal::size_type& size) {
    const auto& node = *cursors_.back().node;
    if (node.kind != JsonValue::Kind::array) fail_in_node("expected an array, got " + describe(node));
    size = node.items.size();
  }

 private:
  struct Cursor {
    const JsonValue* node;  // an array or an object
    std::size_t index;      // of the next value to load in it
  };

  /// Fails about the next value: "argument 2 [3].x: MESSAGE".
  [[noreturn]] void fail_here(const std::string& message) const { throw DecodeError{path(true) + ": " + message}; }
  /// Fails about the array or object the next value is in: "argument 2 [3]: MESSAGE".
  [[noreturn]] void fail_in_node(const std::string& message) const { throw DecodeError{path(false) + ": " + message}; }

  /// The value the next load reads: the next one in order, or the member the pending NVP names.
  const JsonValue& next_value() {
    auto& cursor = cursors_.back();
    const auto& node = *cursor.node;
    if (const char* name = std::exchange(next_name_, nullptr)) {
      if (node.kind != JsonValue::Kind::object)
        fail_in_node("expected an object with a member \"" + std::string{name} + "\", got " + describe(node));
      if (cursor.index >= node.names.size() || node.names[cursor.index] != name) {
        std::size_t i = 0;
        while (i < node.names.size() && node.names[i] != name) ++i;
        if (i == node.names.size()) fail_in_node("missing member \"" + std::string{name} + "\"");
        cursor.index = i;
      }
    }
    if (cursor.index >= node.items.size())
      fail_in_node("expected more than " + std::to_string(node.items.size()) +
                   (node.kind == JsonValue::Kind::array ? " elements in the array" : " members in the object"));
    return node.items[cursor.index];
  }
  /// The next value, which must be of `kind` (`expected` names it for the error message).
  const JsonValue& next_value(JsonValue::Kind kind, const char* expected) {
    const auto& value = next_value();
    if (value.kind != kind) fail_here("expected " + std::string{expected} + ", got " + describe(value));
    return value;
  }

  /// Where the archive is: "argument 2 [3].x", down to the next value (`to_value`) or to the
  /// array or object that holds it.
  [[nodiscard]] std::string path(bool to_value) const {
    std::string out = "argument " + std::to_string(cursors_.front().index + 1);
    const auto levels = to_value ? cursors_.size() : cursors_.size() - 1;
    for (std::size_t level = 1; level < levels; ++level) {
      const auto& [node, index] = cursors_[level];
      if (level == 1) out += ' ';
      if (node->kind == JsonValue::Kind::array || index >= node->names.size()) {
        out += '[' + std::to_string(index) + ']';
      } else if (const auto& name = node->names[index]; is_identifier(name)) {
        out += '.' + name;
      } else {
        out += '[';
        append_json_string(out, name);
        out += ']';
      }
    }
    return out;
  }

  static bool is_identifier(std::string_view name) noexcept {
    const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    if (name.empty() || !letter(name.front())) return false;
    for (const char c : name)
      if (!letter(c) && !(c >= '0' && c <= '9')) return false;
    return true;
  }

  /// A value as an error message shows it: "2.5", "\"7\"", "true", "null", "an array".
  static std::string describe(const JsonValue& value) {
    constexpr std::size_t shown = 40;  // bytes of a long number or string
    switch (value.kind) {
      case JsonValue::Kind::null: return "null";
      case JsonValue::Kind::boolean: return value.boolean ? "true" : "false";
      case JsonValue::Kind::number:
        return value.text.size() <= shown ? value.text : value.text.substr(0, shown) + "...";
      case JsonValue::Kind::string: {
        if (value.text.size() <= shown) {
          std::string out;
          append_json_string(out, value.text);
          return out;
        }
        auto cut = shown;  // not inside a UTF-8 sequence
        while (cut > 0 && (static_cast<unsigned char>(value.text[cut]) & 0xC0) == 0x80) --cut;
        std::string out;
        append_json_string(out, std::string_view{value.text}.substr(0, cut));
        return out + "...";
      }
      case JsonValue::Kind::array:
      case JsonValue::Kind::object: return kind_name(value.kind);
    }
    return kind_name(value.kind);
  }

  std::vector<Cursor> cursors_;
  const char* next_name_ = nullptr;
};

// How Cereal drives the two archives: the same prologues, epilogues and primitives as
// cereal::JSONOutputArchive and cereal::JSONInputArchive, hence the same JSON shapes.

namespace json_detail {

/// Types that are a node of their own: neither numbers nor minimal types, which are values.
template <class T, class Archive, template <class, class> class HasMinimal>
inline constexpr bool is_node =
    !std::is_arithmetic_v<T> && !cereal::traits::has_minimal_base_class_serialization<T, HasMinimal, Archive>::value &&
    !HasMinimal<T, Archive>::value;

template <class T>
struct IsStdArray : std::false_type {};
template <class T, std::size_t N>
struct IsStdArray<std::array<T, N>> : std::true_type {};

/// What a type would rather read, for the message when the value is neither: Cereal sizes the
/// standard containers by a SizeTag, which is an array, and writes a std::array and a class as
/// an object (it reads them from an array as well).
template <class T>
constexpr const char* expected_node() {
  return std::ranges::range<T> && !IsStdArray<T>::value ? "an array" : "an object";
}

}  // namespace json_detail

template <class T>
void prologue(JsonOutputArchive&, const cereal::NameValuePair<T>&) {}
template <class T>
void epilogue(JsonOutputArchive&, const cereal::NameValuePair<T>&) {}
template <class T>
void prologue(JsonInputArchive&, const cereal::NameValuePair<T>&) {}
template <class T>
void epilogue(JsonInputArchive&, const cereal::NameValuePair<T>&) {}

template <class T>
void prologue(JsonOutputArchive&, const cereal::DeferredData<T>&) {}
template <class T>
void epilogue(JsonOutputArchive&, const cereal::DeferredData<T>&) {}
template <class T>
void prologue(JsonInputArchive&, const cereal::DeferredData<T>&) {}
template <class T>
void epilogue(JsonInputArchive&, const cereal::DeferredData<T>&) {}

template <class T>
void prologue(JsonOutputArchive& ar, const cereal::SizeTag<T>&) {
  ar.make_array();
}
template <class T>
void epilogue(JsonOutputArchive&, const cereal::SizeTag<T>&) {}
template <class T>
void prologue(JsonInputArchive&, const cereal::SizeTag<T>&) {}
template <class T>
void epilogue(JsonInputArchive&, const cereal::SizeTag<T>&) {}

template <class T>
  requires json_detail::is_node<T, JsonOutputArchive, cereal::traits::has_minimal_output_serialization>
void prologue(JsonOutputArchive& ar, const T&) {
  ar.start_node();
}
template <class T>
  requires json_detail::is_node<T, JsonOutputArchive, cereal::traits::has_minimal_output_serialization>
void epilogue(JsonOutputArchive& ar, const T&) {
  ar.finish_node();
}
template <class T>
  requires json_detail::is_node<T, JsonInputArchive, cereal::traits::has_minimal_input_serialization>
void prologue(JsonInputArchive& ar, const T&) {
  ar.start_node(json_detail::expected_node<T>());
}
template <class T>
  requires json_detail::is_node<T, JsonInputArchive, cereal::traits::has_minimal_input_serialization>
void epilogue(JsonInputArchive& ar, const T&) {
  ar.finish_node();
}

template <class T>
  requires std::is_arithmetic_v<T>
void prologue(JsonOutputArchive& ar, const T&) {
  ar.write_name();
}
template <class T>
  requires std::is_arithmetic_v<T>
void epilogue(JsonOutputArchive&, const T&) {}
template <class T>
  requires std::is_arithmetic_v<T>
void prologue(JsonInputArchive&, const T&) {}
template <class T>
  requires std::is_arithmetic_v<T>
void epilogue(JsonInputArchive&, const T&) {}

template <class Traits, class Alloc>
void prologue(JsonOutputArchive& ar, const std::basic_string<char, Traits, Alloc>&) {
  ar.write_name();
}
template <class Traits, class Alloc>
void epilogue(JsonOutputArchive&, const std::basic_string<char, Traits, Alloc>&) {}
template <class Traits, class Alloc>
void prologue(JsonInputArchive&, const std::basic_string<char, Traits, Alloc>&) {}
template <class Traits, class Alloc>
void epilogue(JsonInputArchive&, const std::basic_string<char, Traits, Alloc>&) {}

template <class T>
void CEREAL_SAVE_FUNCTION_NAME(JsonOutputArchive& ar, const cereal::NameValuePair<T>& nvp) {
  ar.set_next_name(nvp.name);
  ar(nvp.value);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(JsonInputArchive& ar, cereal::NameValuePair<T>& nvp) {
  ar.set_next_name(nvp.name);
  ar(nvp.value);
}

template <class T>
  requires std::is_arithmetic_v<T>
void CEREAL_SAVE_FUNCTION_NAME(JsonOutputArchive& ar, const T& value) {
  ar.save_value(value);
}
template <class T>
  requires std::is_arithmetic_v<T>
void CEREAL_LOAD_FUNCTION_NAME(JsonInputArchive& ar, T& value) {
  ar.load_value(value);
}

template <class Traits, class Alloc>
void CEREAL_SAVE_FUNCTION_NAME(JsonOutputArchive& ar, const std::basic_string<char, Traits, Alloc>& value) {
  ar.save_value(std::string_view{value.data(), value.size()});
}
template <class Traits, class Alloc>
void CEREAL_LOAD_FUNCTION_NAME(JsonInputArchive& ar, std::basic_string<char, Traits, Alloc>& value) {
  ar.load_value(value);
}

/// A JSON array has its size in it: nothing to write.
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(JsonOutputArchive&, const cereal::SizeTag<T>&) {}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(JsonInputArchive& ar, cereal::SizeTag<T>& tag) {
  ar.load_size(tag.size);
}

}  // namespace dlpool::wire

CEREAL_REGISTER_ARCHIVE(dlpool::wire::JsonOutputArchive)
CEREAL_REGISTER_ARCHIVE(dlpool::wire::JsonInputArchive)
// Cereal finds load_minimal functions through the output archive an input archive pairs with.
CEREAL_SETUP_ARCHIVE_TRAITS(dlpool::wire::JsonInputArchive, dlpool::wire::JsonOutputArchive)
