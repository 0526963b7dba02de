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

/// Declares the plugin `name` (an identifier; it must match the file name lib<name>.so) and its
/// version string, and exports its manifest. Use it exactly once per plugin.
#define DLPOOL_PLUGIN(name, version)                                                           \
  ::dlpool::sdk_detail::Registry& ::dlpool::sdk_detail::registry() {                         \
    static ::dlpool::sdk_detail::Registry registry{#name, version};                          \
    return registry;                                                                         \
  }                                                                                          \
  extern "C" __attribute__((visibility("default"))) const dlpool_manifest* dlpool_plugin_manifest() { \
    return ::dlpool::sdk_detail::registry().manifest();                                      \
  }                                                                                          \
  extern "C" __attribute__((visibility("default"))) unsigned DLPOOL_SDK_ABI_MARKER() {      \
    return DLPOOL_SDK_ABI_VERSION;                                                           \
  }

/// Exports `function` (a plain, non-overloaded function) as the task named after it.
#define DLPOOL_TASK(function)                                                          \
  [[maybe_unused]] static const bool DLPOOL_DETAIL_CONCAT(dlpool_task_registered_, __LINE__) = \
      ::dlpool::sdk_detail::registry().add<&function>(#function);
