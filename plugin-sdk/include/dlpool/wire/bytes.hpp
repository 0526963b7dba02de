#pragma once
// Little-endian scalars and length-prefixed strings: the primitives every frame payload is made of.
// The reader never trusts a length it reads: each access is checked against what is left, so a
// malformed payload is a DecodeError, never an out-of-bounds read or a huge allocation.

#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace dlpool::wire {

static_assert(std::endian::native == std::endian::little,
              "dlpool's wire is little-endian and written with plain memcpy; port put/get first");

/// Thrown by the decoders when a payload is truncated or inconsistent.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class Buffer, class T>
  requires std::is_integral_v<T>
void put(Buffer& out, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.append(raw, sizeof(T));
}

template <class Buffer>
void put_string(Buffer& out, std::string_view s) {
  put(out, static_cast<std::uint32_t>(s.size()));
  out.append(s.data(), s.size());
}

/// A bounds-checked cursor over a payload it does not own.
class ByteReader {
 public:
  ByteReader(const char* data, std::size_t size) noexcept : pos_{data}, end_{data + size} {}
  explicit ByteReader(std::string_view bytes) noexcept : ByteReader{bytes.data(), bytes.size()} {}

  template <class T>
    requires std::is_integral_v<T>
  T get(const char* what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }

  /// A u32 length then that many bytes; the view points into the payload.
  std::string_view get_string(const char* what) {
    const auto size = get<std::uint32_t>(what);
    return {take(size, what), size};
  }

  const char* take(std::size_t n, const char* what) {
    if (n > remaining()) [[unlikely]]
      truncated(n, what);
    const char* at = pos_;
    pos_ += n;
    return at;
  }

  [[nodiscard]] std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }
  [[nodiscard]] const char* position() const noexcept { return pos_; }

 private:
  // Out of line, so that take() stays small enough to inline into every field read.
  [[noreturn, gnu::noinline, gnu::cold]] void truncated(std::size_t n, const char* what) const {
    throw DecodeError{std::string{"truncated payload: "} + what + " needs " + std::to_string(n) + " bytes, " +
                      std::to_string(remaining()) + " left"};
  }

  const char* pos_;
  const char* end_;
};

}  // namespace dlpool::wire
