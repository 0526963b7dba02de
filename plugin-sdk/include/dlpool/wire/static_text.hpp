#pragma once
// Text computed at compile time and kept in the binary. C++20 lets a constant expression build a
// std::string, but not let one outlive it; StaticText is where such a string is frozen, so that
// it can sit in a constexpr variable (and so in a named ELF section, see manifest_record.hpp).

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace dlpool::wire {

/// N characters, no terminator.
template <std::size_t N>
struct StaticText {
  std::array<char, N> chars{};
  [[nodiscard]] constexpr std::string_view view() const noexcept { return {chars.data(), N}; }
};

/// Freezes the std::string that `Make` (a captureless lambda type: constexpr and default
/// constructible) returns. `Make` runs twice at compile time: once for the length, once for the
/// characters; nothing of it remains at run time.
template <class Make>
consteval auto freeze(Make) {
  constexpr std::size_t n = Make{}().size();
  StaticText<n> text;
  const std::string made = Make{}();
  for (std::size_t i = 0; i < n; ++i) text.chars[i] = made[i];
  return text;
}

/// `n` in decimal, for compile-time text (std::to_string is not constexpr).
constexpr std::string decimal(std::size_t n) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + n % 10));
    n /= 10;
  } while (n != 0);
  return digits;
}

}  // namespace dlpool::wire
