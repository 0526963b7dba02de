#pragma once
// Types of the fuzzkit plugin's tasks, shared with the fuzz targets that decode their results.

#include <cereal/cereal.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fuzzkit {

struct Point {
  int x = 0, y = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(CEREAL_NVP(x), CEREAL_NVP(y));
  }
  bool operator==(const Point&) const = default;
};

/// Versioned (Cereal writes its version once per archive) and made of every kind of member.
struct Record {
  std::string name;
  std::vector<double> values;
  std::optional<Point> at;
  std::map<std::string, std::int64_t> tags;
  template <class Archive>
  void serialize(Archive& ar, std::uint32_t /*version*/) {
    ar(CEREAL_NVP(name), CEREAL_NVP(values), CEREAL_NVP(at), CEREAL_NVP(tags));
  }
  bool operator==(const Record&) const = default;
};

}  // namespace fuzzkit

CEREAL_CLASS_VERSION(fuzzkit::Record, 1)
