#pragma once
// Values to bytes and back: Cereal's binary archive for the pool's fast path, Cereal's JSON
// archive for calls from a shell. Both host and plugin use exactly these functions, so the two
// ends of a task always agree on the encoding.
//
// The binary codec writes straight into caller-owned buffers and reads straight from byte views (no
// stringstream copies), and reuses its stream and archive objects, because constructing a
// std::ostream costs more than encoding a small value. Decoding goes through
// BoundedBinaryInputArchive: the bytes come from another process.

#include <dlpool/wire/bounded_archive.hpp>
#include <dlpool/wire/bytes.hpp>

#include <cereal/archives/binary.hpp>
#include <cereal/archives/json.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <cereal/types/array.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include <algorithm>
#include <optional>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace dlpool::wire {

/// A streambuf that appends to a std::string it does not own.
class AppendBuf final : public std::streambuf {
 public:
  void target(std::string* out) noexcept { out_ = out; }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_->append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) out_->push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

 private:
  std::string* out_ = nullptr;
};

/// Numbers are encoded by Cereal's binary archive as their raw bytes, with no tag: the codecs
/// copy those themselves (the same bytes), which spares a stream call per value for the tiny
/// items of a map. bool is left to Cereal, which reads it as it wrote it.
template <class... T>
inline constexpr bool raw_bytes = ((std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) && ...);

/// Strings and vectors of numbers are encoded by Cereal as a size_type count, then their
/// elements' raw bytes. The codecs copy those themselves too: one memcpy straight between the
/// value and the frame, where Cereal's stream would zero a decoded string before filling it and
/// check nothing before allocating it.
template <class T>
struct ContiguousTraits {
  static constexpr bool value = false;
};
template <class C, class Traits, class A>
  requires std::is_arithmetic_v<C>
struct ContiguousTraits<std::basic_string<C, Traits, A>> {
  static constexpr bool value = true;
  using Element = C;
};
template <class E, class A>
  requires(std::is_arithmetic_v<E> && !std::is_same_v<E, bool>)
struct ContiguousTraits<std::vector<E, A>> {
  static constexpr bool value = true;
  using Element = E;
};
template <class T>
inline constexpr bool contiguous_bytes = ContiguousTraits<T>::value;

/// Values the codecs encode without Cereal's stream: numbers and contiguous containers of them.
template <class... T>
inline constexpr bool direct_bytes = ((raw_bytes<T> || contiguous_bytes<T>) && ...);

/// The size of the Cereal binary encoding of `values`, all of them direct_bytes.
template <class... T>
  requires direct_bytes<T...>
std::size_t direct_size(const T&... values) noexcept {
  const auto one = [](const auto& v) -> std::size_t {
    using V = std::remove_cvref_t<decltype(v)>;
    if constexpr (raw_bytes<V>)
      return sizeof(V);
    else
      return sizeof(cereal::size_type) + v.size() * sizeof(typename ContiguousTraits<V>::Element);
  };
  return (std::size_t{0} + ... + one(values));
}

/// Writes the Cereal binary encoding of `value` (a direct_bytes type) through `write(data, size)`:
/// a number in one call; a container as its count, then its elements in one call.
template <class T, class Write>
  requires direct_bytes<T>
void write_direct(const T& value, Write&& write) {
  if constexpr (raw_bytes<T>) {
    write(reinterpret_cast<const char*>(&value), sizeof(T));
  } else {
    const auto count = static_cast<cereal::size_type>(value.size());
    write(reinterpret_cast<const char*>(&count), sizeof count);
    write(reinterpret_cast<const char*>(value.data()), value.size() * sizeof(typename ContiguousTraits<T>::Element));
  }
}

// Both codecs keep one Cereal archive per chunk rather than one per item: building an archive
// costs more than encoding a small value. Cereal records some things once per archive (a class's
// version), so each end of the pipe starts a fresh archive at the same place: restart() at the
// start of every chunk, on both sides.

/// Appends Cereal binary encodings to strings. Reusable; not thread-safe.
class BinaryEncoder {
 public:
  BinaryEncoder() : stream_{&buf_} { restart(); }
  BinaryEncoder(const BinaryEncoder&) = delete;
  BinaryEncoder& operator=(const BinaryEncoder&) = delete;

  /// Starts a new archive: call at the start of each chunk.
  void restart() { archive_.emplace(stream_); }

  template <class... T>
  void append(std::string& out, const T&... values) {
    if constexpr (direct_bytes<T...>) {  // void results encode as nothing
      if constexpr (!raw_bytes<T...>) out.reserve(out.size() + direct_size(values...));
      const auto to_out = [&](const char* data, std::size_t size) { out.append(data, size); };
      (write_direct(values, to_out), ...);
    } else {
      buf_.target(&out);
      (*archive_)(values...);
    }
  }

  /// Appends u32 size + encoding, the item layout of an items block.
  template <class... T>
  void append_item(std::string& out, const T&... values) {
    if constexpr (raw_bytes<T...>) {  // the common case of numbers: one append, size known now
      constexpr auto size = static_cast<std::uint32_t>((sizeof(T) + ... + 0));
      char item[sizeof size + size];
      std::memcpy(item, &size, sizeof size);
      char* at = item + sizeof size;
      ((std::memcpy(at, &values, sizeof(T)), at += sizeof(T)), ...);
      out.append(item, sizeof item);
      return;
    }
    const auto at = out.size();
    put(out, std::uint32_t{0});
    append(out, values...);
    const auto size = static_cast<std::uint32_t>(out.size() - at - sizeof(std::uint32_t));
    std::memcpy(out.data() + at, &size, sizeof size);
  }

 private:
  AppendBuf buf_;
  std::ostream stream_;
  std::optional<cereal::BinaryOutputArchive> archive_;
};

/// Decodes Cereal binary from byte views. Reusable; not thread-safe. Throws DecodeError when the
/// bytes are short, when a length in them exceeds the bytes that follow (so a hostile length
/// never allocates: see bounded_archive.hpp), or when bytes are left over (the sender encoded
/// other types than we expect).
class BinaryDecoder {
 public:
  BinaryDecoder() { restart(); }
  BinaryDecoder(const BinaryDecoder&) = delete;
  BinaryDecoder& operator=(const BinaryDecoder&) = delete;

  /// Starts a new archive: call at the start of each chunk.
  void restart() { archive_.emplace(); }

  template <class... T>
  void decode(std::string_view bytes, T&... values) {
    if constexpr (raw_bytes<T...>) {
      // The messages Cereal's path gives, so that an error reads the same whatever the type.
      constexpr std::size_t size = (sizeof(T) + ... + 0);
      if (bytes.size() < size) [[unlikely]]
        short_read(size, bytes.size());
      if (bytes.size() > size) [[unlikely]]
        left_over(bytes.size() - size, bytes.size());
      const char* at = bytes.data();
      ((std::memcpy(&values, at, sizeof(T)), at += sizeof(T)), ...);
      return;
    } else if constexpr (direct_bytes<T...>) {
      std::string_view rest = bytes;
      (read_direct(rest, values), ...);
      if (!rest.empty()) [[unlikely]]
        left_over(rest.size(), bytes.size());
      return;
    }
    archive_->view(bytes);
    try {
      if constexpr (sizeof...(T) > 0) (*archive_)(values...);
    } catch (const cereal::Exception& e) {
      throw DecodeError{e.what()};
    }
    if (const auto left = archive_->remaining(); left != 0) left_over(left, bytes.size());
  }

 private:
  // The errors, out of line so that decoding a number inlines into its caller.
  [[noreturn, gnu::noinline, gnu::cold]] static void short_read(std::size_t wanted, std::size_t left) {
    throw DecodeError{"failed to read " + std::to_string(wanted) + " bytes: " + std::to_string(left) + " left"};
  }
  [[noreturn, gnu::noinline, gnu::cold]] static void left_over(std::size_t left, std::size_t size) {
    throw DecodeError{std::to_string(left) + " of " + std::to_string(size) + " bytes left undecoded"};
  }

  /// Reads one direct_bytes value from the front of `rest`. The count is checked against the
  /// bytes there before anything is allocated for it.
  template <class T>
  static void read_direct(std::string_view& rest, T& value) {
    const auto take = [&](std::size_t n) {
      if (n > rest.size()) [[unlikely]]
        short_read(n, rest.size());
      const char* at = rest.data();
      rest.remove_prefix(n);
      return at;
    };
    if constexpr (raw_bytes<T>) {
      std::memcpy(&value, take(sizeof(T)), sizeof(T));
    } else {
      using Element = typename ContiguousTraits<T>::Element;
      cereal::size_type count;
      std::memcpy(&count, take(sizeof count), sizeof count);
      if (count > rest.size() / sizeof(Element))
        throw DecodeError{"a length of " + std::to_string(count) + " with only " + std::to_string(rest.size()) +
                          " bytes left"};
      const char* data = take(static_cast<std::size_t>(count) * sizeof(Element));
      if constexpr (sizeof(Element) == 1) {
        value.assign(reinterpret_cast<const Element*>(data), reinterpret_cast<const Element*>(data) + count);
      } else {  // the bytes may not be aligned for Element
        value.resize(static_cast<std::size_t>(count));
        if (count != 0) std::memcpy(value.data(), data, static_cast<std::size_t>(count) * sizeof(Element));
      }
    }
  }

  std::optional<BoundedBinaryInputArchive> archive_;  // optional: Cereal archives cannot be reassigned
};

/// A value as bare, compact JSON text: `49`, `"ab"`, `[1,2]`, `{"x":1}`.
template <class T>
std::string to_json(const T& value) {
  std::ostringstream os;
  {
    cereal::JSONOutputArchive archive{os, cereal::JSONOutputArchive::Options::NoIndent()};
    archive(cereal::make_nvp("v", value));
  }
  // Cereal always wraps the root in an object ({"v": ...}) and pretty-prints; rapidjson (which
  // Cereal uses underneath) re-emits just the value, compactly.
  RAPIDJSON_NAMESPACE::Document doc;
  doc.Parse(os.str().c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("v")) throw DecodeError{"unexpected JSON archive layout"};
  RAPIDJSON_NAMESPACE::StringBuffer text;
  RAPIDJSON_NAMESPACE::Writer<RAPIDJSON_NAMESPACE::StringBuffer> writer{text};
  doc["v"].Accept(writer);
  return {text.GetString(), text.GetSize()};
}

/// The deepest nesting of JSON arguments accepted. rapidjson parses recursively (and Cereal's JSON
/// archive parses again, the same way), so a line of a million '[' would overflow the stack of
/// whoever parses it; no argument type nests anywhere near this deep.
inline constexpr std::size_t max_json_depth = 128;

/// How deep arrays and objects nest in `json` (brackets inside strings do not count), counted up
/// to `stop_after` + 1 at most: one pass, no parsing, nothing allocated.
inline std::size_t json_depth(std::string_view json, std::size_t stop_after = max_json_depth) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : json) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > stop_after) break;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

/// `json` with every number that is zero but not written plainly ("0e40", "-0.00E+7",
/// "0.0000000000000000000000000") rewritten as "0.0 " (or "-0.0 "), or nothing when it has none
/// (the common case: one scan, no copy). The space keeps a malformed document malformed: "0e5e3"
/// must not become "0.0e3".
///
/// Why: rapidjson 1.1.0 (Debian 12's, under Cereal's JSON archive) misreads such numbers when
/// their decimal exponent is beyond +-22. Its full-precision strtod normalizes the zero
/// significand with __builtin_clzll(0), undefined behaviour that the task fuzzer found, and in
/// practice "0e40" parses as 2.36e21 and "0e400" as a number too big for a double. Later
/// rapidjson fixed it; until then, zero is written plainly.
inline std::optional<std::string> with_plain_zeros(std::string_view json) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto number_char = [&](char c) {
    return digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  };
  /// The length of the JSON number of value zero, -?0(.[0-9]+)?([eE][+-]?[0-9]+)? with only zeros
  /// for fraction digits, that starts `n`; 0 if none does. Only the grammar's own span: rapidjson
  /// reads that much as a number whatever follows.
  const auto zero = [&](std::string_view n) -> std::size_t {
    std::size_t i = 0;
    if (i < n.size() && n[i] == '-') ++i;
    if (i >= n.size() || n[i++] != '0') return 0;
    if (i + 1 < n.size() && n[i] == '.' && digit(n[i + 1])) {
      for (++i; i < n.size() && digit(n[i]); ++i)
        if (n[i] != '0') return 0;
    }
    if (i + 1 < n.size() && (n[i] == 'e' || n[i] == 'E')) {
      auto exponent = i + 1;
      if (n[exponent] == '+' || n[exponent] == '-') ++exponent;
      if (exponent < n.size() && digit(n[exponent])) {
        for (i = exponent; i < n.size() && digit(n[i]);) ++i;
      }
    }
    return i;
  };
  std::optional<std::string> fixed;
  std::size_t copied = 0;  // json[0, copied) is in *fixed
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if ((c != '-' && c != '0') || (i > 0 && number_char(json[i - 1]))) continue;
    const auto length = zero(json.substr(i));
    if (length == 0) continue;
    if (const auto number = json.substr(i, length);
        number != "0" && number != "-0" && number != "0.0" && number != "-0.0") {
      if (!fixed) fixed.emplace();
      fixed->append(json.substr(copied, i - copied));
      fixed->append(c == '-' ? "-0.0 " : "0.0 ");
      copied = i + length;
    }
    i += length - 1;
  }
  if (fixed) fixed->append(json.substr(copied));
  return fixed;
}

/// Decodes a JSON array of arguments (`["ab", 3]`) into a tuple, element by element. Throws
/// DecodeError when the text is not an array of exactly sizeof...(T) values of the right types,
/// or nests deeper than max_json_depth.
template <class... T>
void from_json_args(std::string_view json, std::tuple<T...>& args) {
  if (json_depth(json) > max_json_depth)
    throw DecodeError{"arguments nest deeper than " + std::to_string(max_json_depth) + " levels"};
  const auto fixed = with_plain_zeros(json);
  if (fixed) json = *fixed;
  RAPIDJSON_NAMESPACE::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) throw DecodeError{"arguments are not valid JSON"};
  if (!doc.IsArray())
    throw DecodeError{"arguments must be a JSON array such as [1, \"text\"]"};
  if (doc.Size() != sizeof...(T))
    throw DecodeError{"expected " + std::to_string(sizeof...(T)) + " argument(s), got " + std::to_string(doc.Size())};
  std::istringstream is{std::string{json}};
  try {
    cereal::JSONInputArchive archive{is};
    std::apply([&](auto&... arg) { (archive(arg), ...); }, args);
  } catch (const std::exception& e) {
    throw DecodeError{std::string{"arguments do not match the task's parameter types: "} + e.what()};
  }
}

}  // namespace dlpool::wire
