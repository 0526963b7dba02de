#pragma once
// A plugin's manifest as the one line of JSON that `dlpool tasks --json` and
// `dlpool-worker --describe` print, written here for both.

#include <dlpool/wire/manifest_record.hpp>

#include <string>
#include <string_view>

namespace dlpool::detail {

/// {"plugin":"testkit","version":"1.0.0","abi":1,"path":"/.../libtestkit.so",
///  "tasks":[{"name":"square","signature":"int(int)"},...]}, the tasks in the order given.
/// Strings are written as wire::append_json_string writes them: valid JSON whatever their bytes.
[[nodiscard]] std::string manifest_json(const wire::SectionManifest& manifest, std::string_view path);

}  // namespace dlpool::detail
