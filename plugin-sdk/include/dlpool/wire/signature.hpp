#pragma once
// Canonical, readable names for task signatures: "int(int, std::string)". Host and plugin build
// them from the same types, and the worker compares the strings before decoding a byte, so a
// caller whose Task<> disagrees with the plugin gets a clear error instead of garbage.
//
// Every name is computed at compile time: the SDK writes each task's signature into the plugin's
// manifest section (manifest_record.hpp), where `dlpool tasks` reads it without loading the
// plugin, and the run-time signature is that same constant, so the two can never differ.
//
// Standard types get fixed spellings; any other type (a user struct) is named as the compiler
// spells it (compiler_type_name.hpp), which is stable for one compiler family. A plugin author
// can pin a name by specializing dlpool::wire::TypeName<T> with
//   static constexpr std::string get() { return "geo::Point"; }

#include <dlpool/wire/compiler_type_name.hpp>
#include <dlpool/wire/static_text.hpp>

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace dlpool::wire {

template <class T, class = void>
struct TypeName {
  static constexpr std::string get() { return compiler_type_name<T>(); }
};

template <class T>
constexpr std::string type_name() {
  return TypeName<std::remove_cvref_t<T>>::get();
}

#define DLPOOL_WIRE_FIXED_NAME(T, spelled)                 \
  template <>                                              \
  struct TypeName<T> {                                     \
    static constexpr std::string get() { return spelled; } \
  };
DLPOOL_WIRE_FIXED_NAME(void, "void")
DLPOOL_WIRE_FIXED_NAME(bool, "bool")
DLPOOL_WIRE_FIXED_NAME(char, "char")
DLPOOL_WIRE_FIXED_NAME(signed char, "signed char")
DLPOOL_WIRE_FIXED_NAME(unsigned char, "unsigned char")
DLPOOL_WIRE_FIXED_NAME(short, "short")
DLPOOL_WIRE_FIXED_NAME(unsigned short, "unsigned short")
DLPOOL_WIRE_FIXED_NAME(int, "int")
DLPOOL_WIRE_FIXED_NAME(unsigned, "unsigned")
DLPOOL_WIRE_FIXED_NAME(long, "long")
DLPOOL_WIRE_FIXED_NAME(unsigned long, "unsigned long")
DLPOOL_WIRE_FIXED_NAME(long long, "long long")
DLPOOL_WIRE_FIXED_NAME(unsigned long long, "unsigned long long")
DLPOOL_WIRE_FIXED_NAME(float, "float")
DLPOOL_WIRE_FIXED_NAME(double, "double")
DLPOOL_WIRE_FIXED_NAME(long double, "long double")
DLPOOL_WIRE_FIXED_NAME(std::string, "std::string")
#undef DLPOOL_WIRE_FIXED_NAME

/// "A, B, C" for a pack.
template <class... Ts>
constexpr std::string type_list() {
  std::string out;
  ((out += (out.empty() ? "" : ", ") + type_name<Ts>()), ...);
  return out;
}

/// "name<A, B>": a standard template named with its type arguments.
template <class... Ts>
constexpr std::string template_name(std::string_view name) {
  return std::string{name} + "<" + type_list<Ts...>() + ">";
}

// A plugin's views travel as what a host sends them as (see codec.hpp).
template <>
struct TypeName<std::string_view> {
  static constexpr std::string get() { return "std::string"; }
};
template <>
struct TypeName<std::span<const std::byte>> {
  static constexpr std::string get() { return "std::vector<unsigned char>"; }
};

template <class T>
struct TypeName<std::vector<T>> {
  static constexpr std::string get() { return template_name<T>("std::vector"); }
};
template <class T>
struct TypeName<std::optional<T>> {
  static constexpr std::string get() { return template_name<T>("std::optional"); }
};
template <class T>
struct TypeName<std::set<T>> {
  static constexpr std::string get() { return template_name<T>("std::set"); }
};
template <class T>
struct TypeName<std::unordered_set<T>> {
  static constexpr std::string get() { return template_name<T>("std::unordered_set"); }
};
template <class K, class V>
struct TypeName<std::map<K, V>> {
  static constexpr std::string get() { return template_name<K, V>("std::map"); }
};
template <class K, class V>
struct TypeName<std::unordered_map<K, V>> {
  static constexpr std::string get() { return template_name<K, V>("std::unordered_map"); }
};
template <class A, class B>
struct TypeName<std::pair<A, B>> {
  static constexpr std::string get() { return template_name<A, B>("std::pair"); }
};
template <class... Ts>
struct TypeName<std::tuple<Ts...>> {
  static constexpr std::string get() { return template_name<Ts...>("std::tuple"); }
};
// The one standard template here with a value argument.
template <class T, std::size_t N>
struct TypeName<std::array<T, N>> {
  static constexpr std::string get() { return "std::array<" + type_name<T>() + ", " + decimal(N) + ">"; }
};

/// The canonical signature of a task, "R(A1, A2)", as compile-time text: parameters decayed as
/// the wire carries values.
template <class R, class... Args>
inline constexpr auto signature_text =
    freeze([] { return type_name<R>() + "(" + type_list<std::remove_cvref_t<Args>...>() + ")"; });

/// signature_text as a std::string.
template <class R, class... Args>
std::string signature() {
  return std::string{signature_text<R, Args...>.view()};
}

}  // namespace dlpool::wire
