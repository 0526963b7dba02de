#pragma once
// A Cereal input archive for bytes that nobody vouches for. It reads exactly what
// cereal::BinaryOutputArchive writes, from a bounded view, and differs from Cereal's own
// BinaryInputArchive in two checks:
//
//  - Every size tag is checked against the bytes left *before* the string, vector or map it sizes
//    is allocated. Cereal resizes a container to whatever length it reads (cereal issues #103,
//    #377: "closed as invalid"), so eight hostile bytes could ask for gigabytes. Here a length can
//    never exceed what the sender really sent: every element takes at least one byte, so a decode
//    allocates at most sizeof(element) bytes per input byte at each level of nesting, and the input
//    itself is bounded by the frame limit.
//  - A bool must be 0 or 1: any other byte would be undefined behaviour in the value loaded.
//
// (A container of elements that encode to no bytes at all, such as a vector of empty structs, is
// therefore refused when it is longer than what follows it: a price worth paying.)

#include <cereal/archives/binary.hpp>  // the output archive it pairs with
#include <cereal/cereal.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace dlpool::wire {

class BoundedBinaryInputArchive
    : public cereal::InputArchive<BoundedBinaryInputArchive, cereal::AllowEmptyClassElision> {
 public:
  BoundedBinaryInputArchive() : InputArchive{this} {}

  /// The bytes the next loads read from; the archive does not own them.
  void view(std::string_view bytes) noexcept {
    pos_ = bytes.data();
    end_ = bytes.data() + bytes.size();
  }
  [[nodiscard]] std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }

  /// Cereal's primitive: throws cereal::Exception when fewer than `size` bytes are left.
  void loadBinary(void* data, std::size_t size) {
    if (size != 0) std::memcpy(data, take(size), size);
  }
  /// The next `size` bytes, where they are (for a view: see codec.hpp).
  const char* take(std::size_t size) {
    if (size > remaining())
      throw cereal::Exception{"failed to read " + std::to_string(size) + " bytes: " + std::to_string(remaining()) +
                              " left"};
    const char* at = pos_;
    pos_ += size;
    return at;
  }

 private:
  const char* pos_ = nullptr;
  const char* end_ = nullptr;
};

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, T& t) {
  ar.loadBinary(std::addressof(t), sizeof(T));
}

inline void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, bool& b) {
  unsigned char raw = 0;
  ar.loadBinary(&raw, 1);
  if (raw > 1) throw cereal::Exception{"invalid bool byte " + std::to_string(raw)};
  b = raw != 0;
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, cereal::NameValuePair<T>& nvp) {
  ar(nvp.value);
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, cereal::SizeTag<T>& tag) {
  ar(tag.size);
  if (tag.size > ar.remaining())
    throw cereal::Exception{"a length of " + std::to_string(tag.size) + " with only " + std::to_string(ar.remaining()) +
                            " bytes left"};
}

/// A view among a task's other parameters: its bytes where they are (see codec.hpp).
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, std::string_view& view) {
  cereal::size_type size = 0;
  ar(size);
  view = {ar.take(static_cast<std::size_t>(size)), static_cast<std::size_t>(size)};
}
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, std::span<const std::byte>& view) {
  cereal::size_type size = 0;
  ar(size);
  view = {reinterpret_cast<const std::byte*>(ar.take(static_cast<std::size_t>(size))), static_cast<std::size_t>(size)};
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, cereal::BinaryData<T>& data) {
  ar.loadBinary(data.data, static_cast<std::size_t>(data.size));
}

}  // namespace dlpool::wire

// Cereal finds load_minimal functions through the output archive an input archive pairs with.
// (Only this direction: BinaryOutputArchive already pairs with Cereal's BinaryInputArchive.)
namespace cereal::traits::detail {
template <>
struct get_output_from_input<dlpool::wire::BoundedBinaryInputArchive> {
  using type = cereal::BinaryOutputArchive;
};
}  // namespace cereal::traits::detail
