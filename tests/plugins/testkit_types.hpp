#pragma once
// Types shared by the testkit plugin and the tests that call it: the same struct on both sides
// gives the same signature string.

#include <cereal/cereal.hpp>

namespace testkit {

struct Point {
  int x = 0, y = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(x), CEREAL_NVP(y));
  }
  bool operator==(const Point&) const = default;
};

}  // namespace testkit
