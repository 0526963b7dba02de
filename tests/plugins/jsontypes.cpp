// Test-only plugin: how each C++ type a task takes or returns travels as JSON. One identity task
// per arithmetic type and per compound shape, and tasks whose results JSON cannot hold as they
// are (NaN, infinities, bytes that are not UTF-8).

#include "jsontypes_types.hpp"

#include <dlpool/plugin.hpp>

#include <array>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

DLPOOL_PLUGIN(jsontypes, "1.0.0")

namespace {

#define DLPOOL_JSONTYPES_IDENTITY(name, ...)    \
  __VA_ARGS__ name(__VA_ARGS__ x) { return x; } \
  DLPOOL_TASK(name)

DLPOOL_JSONTYPES_IDENTITY(id_bool, bool)
DLPOOL_JSONTYPES_IDENTITY(id_char, char)
DLPOOL_JSONTYPES_IDENTITY(id_schar, signed char)
DLPOOL_JSONTYPES_IDENTITY(id_uchar, unsigned char)
DLPOOL_JSONTYPES_IDENTITY(id_short, short)
DLPOOL_JSONTYPES_IDENTITY(id_ushort, unsigned short)
DLPOOL_JSONTYPES_IDENTITY(id_int, int)
DLPOOL_JSONTYPES_IDENTITY(id_uint, unsigned)
DLPOOL_JSONTYPES_IDENTITY(id_long, long)
DLPOOL_JSONTYPES_IDENTITY(id_ulong, unsigned long)
DLPOOL_JSONTYPES_IDENTITY(id_llong, long long)
DLPOOL_JSONTYPES_IDENTITY(id_ullong, unsigned long long)
DLPOOL_JSONTYPES_IDENTITY(id_float, float)
DLPOOL_JSONTYPES_IDENTITY(id_double, double)
DLPOOL_JSONTYPES_IDENTITY(id_ldouble, long double)

DLPOOL_JSONTYPES_IDENTITY(id_string, std::string)
DLPOOL_JSONTYPES_IDENTITY(id_named, jsontypes::Named)
DLPOOL_JSONTYPES_IDENTITY(id_unnamed, jsontypes::Unnamed)
DLPOOL_JSONTYPES_IDENTITY(id_color, jsontypes::Color)
DLPOOL_JSONTYPES_IDENTITY(id_vector, std::vector<jsontypes::Named>)
DLPOOL_JSONTYPES_IDENTITY(id_map, std::map<std::string, int>)
DLPOOL_JSONTYPES_IDENTITY(id_set, std::set<short>)
DLPOOL_JSONTYPES_IDENTITY(id_optional, std::optional<int>)
DLPOOL_JSONTYPES_IDENTITY(id_pair, std::pair<int, std::string>)
DLPOOL_JSONTYPES_IDENTITY(id_tuple, std::tuple<int, bool, std::string>)
DLPOOL_JSONTYPES_IDENTITY(id_array, std::array<int, 3>)
DLPOOL_JSONTYPES_IDENTITY(id_flags, std::vector<bool>)

long long square(long long x) { return x * x; }
DLPOOL_TASK(square)

long long add(long long a, long long b) { return a + b; }
DLPOOL_TASK(add)

/// The byte count of `s`: what arrived, NUL bytes included.
unsigned long length(std::string s) { return s.size(); }
DLPOOL_TASK(length)

/// NaN for 0, +infinity for 1, -infinity for -1.
template <class T>
T not_finite(int which) {
  if (which == 0) return std::numeric_limits<T>::quiet_NaN();
  return which > 0 ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
}
double not_finite_double(int which) { return not_finite<double>(which); }
DLPOOL_TASK(not_finite_double)
float not_finite_float(int which) { return not_finite<float>(which); }
DLPOOL_TASK(not_finite_float)
long double not_finite_ldouble(int which) { return not_finite<long double>(which); }
DLPOOL_TASK(not_finite_ldouble)

/// Bytes that are not UTF-8 among some that are: a stray continuation byte, a sequence cut short,
/// an overlong encoding, an encoded surrogate, and a two-byte é that is fine.
std::string bad_utf8() {
  return "a\xFF"
         "b\xE2\x82"
         "c\xC0\xAF"
         "d\xED\xA0\x80"
         "e\xC3\xA9";
}
DLPOOL_TASK(bad_utf8)

/// Throws an exception whose message is not UTF-8: its error object must still be JSON.
int throw_bad_utf8() { throw std::runtime_error{"bad \xFF byte"}; }
DLPOOL_TASK(throw_bad_utf8)

}  // namespace
