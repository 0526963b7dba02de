#pragma once
// Values to bytes and back with Cereal's binary archive: the pool's fast path. Both host and
// plugin use exactly these functions, so the two ends of a task always agree on the encoding.
// (JSON, for calls from a shell, is json_codec.hpp's, apart: every host includes this header.)
//
// The binary codec writes straight into caller-owned buffers and reads straight from byte views (no
// stringstream copies), and reuses its stream and archive objects, because constructing a
// std::ostream costs more than encoding a small value. Decoding goes through
// BoundedBinaryInputArchive: the bytes come from another process.

#include <dlpool/wire/bounded_archive.hpp>
#include <dlpool/wire/bytes.hpp>
#include <dlpool/wire/cereal_types.hpp>

#include <cereal/archives/binary.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>
#include <span>
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
inline constexpr bool raw_bytes = ((std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)&&...);

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
/// Views, for a plugin's parameters and results: the same encoding as a string (std::string_view)
/// or a vector of unsigned char (std::span<const std::byte>). A decoded view points into the
/// bytes it was decoded from, which for a task's arguments stay where they are (the worker's
/// frame, or the shared arena) until the chunk is answered: a large argument is read in place.
/// Only at the top level of a task's signature, and only in a plugin: a host's arguments are
/// stored before they are encoded, and a view there could outlive what it shows.
template <class C, class Traits>
  requires(std::is_arithmetic_v<C> && sizeof(C) == 1)  // wider ones may not be aligned in the bytes
struct ContiguousTraits<std::basic_string_view<C, Traits>> {
  static constexpr bool value = true;
  static constexpr bool view = true;
  using Element = C;
};
template <>
struct ContiguousTraits<std::span<const std::byte>> {
  static constexpr bool value = true;
  static constexpr bool view = true;
  using Element = std::byte;
};
template <class T>
inline constexpr bool contiguous_bytes = ContiguousTraits<T>::value;
template <class T>
concept byte_view = requires { requires ContiguousTraits<T>::view; };

/// Values the codecs encode without Cereal's stream: numbers and contiguous containers of them.
template <class... T>
inline constexpr bool direct_bytes = ((raw_bytes<T> || contiguous_bytes<T>)&&...);

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
      if constexpr (byte_view<T>) {
        value = T{reinterpret_cast<const Element*>(data), static_cast<std::size_t>(count)};  // in place
      } else if constexpr (sizeof(Element) == 1) {
        value.assign(reinterpret_cast<const Element*>(data), reinterpret_cast<const Element*>(data) + count);
      } else {  // the bytes may not be aligned for Element
        value.resize(static_cast<std::size_t>(count));
        if (count != 0) std::memcpy(value.data(), data, static_cast<std::size_t>(count) * sizeof(Element));
      }
    }
  }

  std::optional<BoundedBinaryInputArchive> archive_;  // optional: Cereal archives cannot be reassigned
};

}  // namespace dlpool::wire
