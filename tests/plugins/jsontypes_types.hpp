#pragma once
// The compound types of the jsontypes plugin, shared with the tests that pin their JSON shapes.

#include <cereal/cereal.hpp>

#include <cstdint>
#include <string>

namespace jsontypes {

/// Fields with names: a JSON object keyed by them.
struct Named {
  int x = 0;
  std::string s;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(x), CEREAL_NVP(s));
  }
  bool operator==(const Named&) const = default;
};

/// Fields without names: an object keyed "value0", "value1".
struct Unnamed {
  long long big = 0;
  double ratio = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(big, ratio);
  }
  bool operator==(const Unnamed&) const = default;
};

/// An enum is its underlying value.
enum class Color : std::uint8_t { red, green, blue };

}  // namespace jsontypes
