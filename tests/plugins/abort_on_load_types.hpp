#pragma once
// The types in the abort_on_load plugin's signatures, shared with the tests that check how
// `dlpool tasks` spells them.

#include <cereal/cereal.hpp>

namespace geo {

struct Box {
  double width = 0, height = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(width), CEREAL_NVP(height));
  }
};

/// A user template: the compiler spells its argument, so "geo::Tagged<long>".
template <class T>
struct Tagged {
  T value{};
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(value));
  }
};

}  // namespace geo
