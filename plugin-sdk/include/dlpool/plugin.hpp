#pragma once
// The plugin SDK: export ordinary C++ functions as dlpool tasks.
//
//   #include <dlpool/plugin.hpp>
//
//   DLPOOL_PLUGIN(math, "1.2.0")                  // once per plugin, in one source file
//
//   int square(int x) { return x * x; }
//   DLPOOL_TASK(square)                           // after each function to export
//
// Arguments and results are any values Cereal can serialize: arithmetic types, std::string,
// vectors, maps, sets, tuples, pairs, optionals, arrays and your own structs with a serialize()
// member. No pointers, no polymorphic types. Exceptions thrown by a task reach the caller as
// dlpool::RemoteError carrying the exception's type name and what().
//
// Build the plugin as a shared library named lib<name>.so with -fvisibility=hidden (the CMake
// helper dlpool_add_plugin() does both).

#include <dlpool/detail/trampoline.hpp>

#define DLPOOL_DETAIL_CONCAT2(a, b) a##b
#define DLPOOL_DETAIL_CONCAT(a, b) DLPOOL_DETAIL_CONCAT2(a, b)

// `used` keeps the compiler from dropping a record nothing refers to; `retain` (GCC 11, Clang 13)
// keeps the linker from dropping it under --gc-sections.
#if defined(__has_attribute)
#if __has_attribute(retain)
#define DLPOOL_DETAIL_RETAIN __attribute__((retain))
#endif
#endif
#ifndef DLPOOL_DETAIL_RETAIN
#define DLPOOL_DETAIL_RETAIN
#endif

/// A constant manifest record (see <dlpool/wire/manifest_record.hpp>) placed in the plugin's
/// manifest section, where `dlpool tasks` reads it without loading the plugin.
#define DLPOOL_DETAIL_MANIFEST_RECORD(variable, ...)                                                            \
  __attribute__((section(DLPOOL_MANIFEST_SECTION), used)) DLPOOL_DETAIL_RETAIN static constexpr auto variable = \
      ::dlpool::wire::freeze_record([] { return __VA_ARGS__; });

/// Declares the plugin `name` (an identifier; it must match the file name lib<name>.so) and its
/// version (a string literal, or any constant expression a std::string_view can be made from:
/// it is written into the manifest section at compile time), and exports its manifest: as the function the worker calls
/// once it has loaded the plugin, and as constant data in the manifest section. Use it exactly once per plugin.
#define DLPOOL_PLUGIN(name, version)                                                                  \
  ::dlpool::sdk_detail::Registry& ::dlpool::sdk_detail::registry() {                                  \
    static ::dlpool::sdk_detail::Registry registry{#name, version};                                   \
    return registry;                                                                                  \
  }                                                                                                   \
  extern "C" __attribute__((visibility("default"))) const dlpool_manifest* dlpool_plugin_manifest() { \
    return ::dlpool::sdk_detail::registry().manifest();                                               \
  }                                                                                                   \
  extern "C" __attribute__((visibility("default"))) unsigned DLPOOL_SDK_ABI_MARKER() {                \
    return DLPOOL_SDK_ABI_VERSION;                                                                    \
  }                                                                                                   \
  DLPOOL_DETAIL_MANIFEST_RECORD(dlpool_plugin_record,                                                 \
                                ::dlpool::wire::plugin_record(#name, version, DLPOOL_SDK_ABI_VERSION))

/// Exports `function` (a plain, non-overloaded function) as the task named after it.
#define DLPOOL_TASK(function)                                                                  \
  [[maybe_unused]] static const bool DLPOOL_DETAIL_CONCAT(dlpool_task_registered_, __LINE__) = \
      ::dlpool::sdk_detail::registry().add<&function>(#function);                              \
  DLPOOL_DETAIL_MANIFEST_RECORD(                                                               \
      DLPOOL_DETAIL_CONCAT(dlpool_task_record_, __LINE__),                                     \
      ::dlpool::wire::task_record(::dlpool::sdk_detail::task_name(#function),                  \
                                  ::dlpool::sdk_detail::FnTraits<decltype(&function)>::signature))
