#pragma once
// A type's name as the compiler spells it, at compile time: the fallback of TypeName (see
// signature.hpp) for types the SDK has no fixed spelling for, such as a plugin's own structs.
//
// typeid + the demangler cannot run at compile time; __PRETTY_FUNCTION__ of a function template
// names its template argument, and can. GCC spells "[with T = ns::Point]", Clang "[T = ns::Point]".
// A few of GCC's spellings differ from the demangler's and from the SDK's fixed names
// ("long unsigned int", "{anonymous}", "std::__cxx11::basic_string<char>", "A<B<int> >"); they
// are rewritten so that a type reads the same wherever it appears in a signature.

#include <array>
#include <string>
#include <string_view>

namespace dlpool::wire {
namespace detail {

template <class T>
constexpr const char* pretty_function() {
  return __PRETTY_FUNCTION__;
}

constexpr bool is_identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

struct Spelling {
  std::string_view compiler, canonical;
};

// Longest first where one starts another ("long long int" before "long int").
inline constexpr std::array<Spelling, 10> canonical_spellings{{
    {"long long unsigned int", "unsigned long long"},
    {"long long int", "long long"},
    {"long unsigned int", "unsigned long"},
    {"long int", "long"},
    {"short unsigned int", "unsigned short"},
    {"short int", "short"},
    {"unsigned int", "unsigned"},
    {"{anonymous}", "(anonymous namespace)"},
    {"std::__cxx11::basic_string<char>", "std::string"},
    {"std::basic_string<char>", "std::string"},
}};

/// `name` with the compiler's spellings of canonical_spellings replaced, whole words only, and
/// no space before a '>'.
constexpr std::string canonical_spelling(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size();) {
    bool replaced = false;
    if (i == 0 || !is_identifier_char(name[i - 1])) {
      for (const auto& s : canonical_spellings) {
        const auto end = i + s.compiler.size();
        if (name.substr(i, s.compiler.size()) == s.compiler &&
            (end == name.size() || !is_identifier_char(name[end]) || !is_identifier_char(s.compiler.back()))) {
          out += s.canonical;
          i = end;
          replaced = true;
          break;
        }
      }
    }
    // GCC writes "A<B<int> >" to keep clear of ">>"; the SDK's own names write "A<B<int>>".
    if (!replaced && name[i] == ' ' && i + 1 < name.size() && name[i + 1] == '>') {
      ++i;
      continue;
    }
    if (!replaced) out += name[i++];
  }
  return out;
}

/// The T of "... [with T = X]" (GCC) or "... [T = X]" (Clang).
constexpr std::string_view template_argument(std::string_view pretty) {
  for (const std::string_view marker : {std::string_view{"[with T = "}, std::string_view{"[T = "}}) {
    const auto start = pretty.find(marker);
    const auto end = pretty.rfind(']');
    if (start != std::string_view::npos && end != std::string_view::npos && end > start + marker.size())
      return pretty.substr(start + marker.size(), end - start - marker.size());
  }
  return pretty;  // an unknown compiler: still a stable name, if not a pretty one
}

}  // namespace detail

/// T's name as the compiler spells it, e.g. "testkit::Point", "geo::Box<long>".
template <class T>
constexpr std::string compiler_type_name() {
  return detail::canonical_spelling(detail::template_argument(detail::pretty_function<T>()));
}

}  // namespace dlpool::wire
