#pragma once
// The manifest a plugin carries as data: records the SDK's macros place, at compile time, in the
// plugin's ELF section "dlpool_manifest". `dlpool tasks` reads them from the file without loading
// it, so listing a plugin never runs a line of its code (a static constructor that aborts, say).
//
// The section is a sequence of records, each 8-aligned, its size a multiple of 8 (the linker may
// leave zero padding between the records of different object files, and lays them out in no
// promised order):
//
//   char magic[4] = "DLPM" | u16 format | u16 kind | u32 size (whole record, padding included)
//   kind plugin: u32 sdk abi, str name, str version
//   kind task:   str name, str signature
//   zero padding to a multiple of 8
//
// Little-endian; str = u32 length + bytes, as in frames (bytes.hpp). The signature is the same
// compile-time text the worker compares calls against (signature.hpp).

#include <dlpool/wire/bytes.hpp>
#include <dlpool/wire/static_text.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

/// The section's name, as a literal for the section attribute.
#define DLPOOL_MANIFEST_SECTION "dlpool_manifest"

namespace dlpool::wire {

inline constexpr std::string_view manifest_magic = "DLPM";
/// Bumped when the record layout changes; a reader refuses formats it does not know.
inline constexpr std::uint16_t manifest_format = 1;
inline constexpr std::size_t manifest_header_size = 12;
/// A plugin's section is a few hundred bytes; a reader refuses to take more than this from a file.
inline constexpr std::size_t max_manifest_section = 1u << 20;

enum class ManifestKind : std::uint16_t { plugin = 1, task = 2 };

/// One record as it sits in the section.
template <std::size_t N>
struct alignas(8) ManifestRecord {
  static_assert(N % 8 == 0);
  std::array<char, N> bytes;
};

namespace detail {

constexpr void put_le(std::string& out, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

constexpr void put_text(std::string& out, std::string_view text) {
  put_le(out, text.size(), 4);
  // One character at a time: append(text) compares text.data() with null, which GCC cannot
  // evaluate at compile time for the address of a variable (signature_text) once sanitizers
  // make it keep null-pointer checks (-fno-delete-null-pointer-checks).
  for (const char c : text) out += c;
}

constexpr std::string record(ManifestKind kind, const std::string& payload) {
  std::string out{manifest_magic};
  put_le(out, manifest_format, 2);
  put_le(out, static_cast<std::uint16_t>(kind), 2);
  put_le(out, 0, 4);  // the size, patched below
  out += payload;
  while (out.size() % 8 != 0) out += '\0';
  for (std::size_t i = 0; i < 4; ++i) out[8 + i] = static_cast<char>((out.size() >> (8 * i)) & 0xff);
  return out;
}

}  // namespace detail

/// The plugin record's bytes.
constexpr std::string plugin_record(std::string_view name, std::string_view version, std::uint32_t abi) {
  std::string payload;
  detail::put_le(payload, abi, 4);
  detail::put_text(payload, name);
  detail::put_text(payload, version);
  return detail::record(ManifestKind::plugin, payload);
}

/// A task record's bytes.
constexpr std::string task_record(std::string_view name, std::string_view signature) {
  std::string payload;
  detail::put_text(payload, name);
  detail::put_text(payload, signature);
  return detail::record(ManifestKind::task, payload);
}

/// The record that `Make` (a captureless lambda returning plugin_record() or task_record())
/// builds, frozen into a constant the section can hold.
template <class Make>
consteval auto freeze_record(Make) {
  constexpr auto text = freeze(Make{});
  return ManifestRecord<text.chars.size()>{text.chars};
}

/// What a manifest section says.
struct SectionManifest {
  struct Task {
    std::string name, signature;
  };
  std::uint32_t abi = 0;
  std::string plugin, version;
  std::vector<Task> tasks;  // sorted by name: the section keeps no export order
};

namespace detail {

/// Refuses control characters: what a section says ends up on a terminal.
inline std::string printable(std::string_view text, const char* what) {
  for (const unsigned char c : text)
    if (c < 0x20 || c == 0x7f)
      throw DecodeError{std::string{"the "} + what + " contains control character " + std::to_string(c)};
  return std::string{text};
}

}  // namespace detail

/// Decodes the bytes of a "dlpool_manifest" section. Throws DecodeError naming what is wrong:
/// a truncated or unknown record, another format, no plugin record or two, a task listed twice
/// with different signatures (the same one twice, from a header seen by two sources, is fine).
inline SectionManifest parse_manifest_section(std::string_view section) {
  SectionManifest manifest;
  bool have_plugin = false;
  std::size_t at = 0;
  const auto zeros = [&](std::size_t from, std::size_t to) {
    return std::all_of(section.begin() + static_cast<std::ptrdiff_t>(from),
                       section.begin() + static_cast<std::ptrdiff_t>(to), [](char c) { return c == '\0'; });
  };
  while (at < section.size()) {
    const auto left = section.size() - at;
    if (zeros(at, at + std::min<std::size_t>(left, 8))) {  // padding between object files
      at += std::min<std::size_t>(left, 8);
      continue;
    }
    const auto where = " at offset " + std::to_string(at);
    if (left < manifest_header_size || section.substr(at, manifest_magic.size()) != manifest_magic)
      throw DecodeError{"no manifest record" + where};
    ByteReader header{section.data() + at + manifest_magic.size(), manifest_header_size - manifest_magic.size()};
    const auto format = header.get<std::uint16_t>("record format");
    const auto kind = header.get<std::uint16_t>("record kind");
    const auto size = header.get<std::uint32_t>("record size");
    if (format != manifest_format)
      throw DecodeError{"manifest record format " + std::to_string(format) + where + "; this dlpool reads format " +
                        std::to_string(manifest_format) + " (a plugin built with a newer SDK?)"};
    if (size < manifest_header_size || size % 8 != 0 || size > left)
      throw DecodeError{"manifest record of " + std::to_string(size) + " bytes" + where + ", " + std::to_string(left) +
                        " left in the section"};
    ByteReader in{section.data() + at + manifest_header_size, size - manifest_header_size};
    if (kind == static_cast<std::uint16_t>(ManifestKind::plugin)) {
      if (have_plugin) throw DecodeError{"two plugin records (DLPOOL_PLUGIN used twice?)"};
      have_plugin = true;
      manifest.abi = in.get<std::uint32_t>("sdk abi");
      manifest.plugin = detail::printable(in.get_string("plugin name"), "plugin name");
      manifest.version = detail::printable(in.get_string("plugin version"), "plugin version");
    } else if (kind == static_cast<std::uint16_t>(ManifestKind::task)) {
      SectionManifest::Task task;
      task.name = detail::printable(in.get_string("task name"), "task name");
      task.signature = detail::printable(in.get_string("task signature"), "task signature");
      const auto same = std::find_if(manifest.tasks.begin(), manifest.tasks.end(),
                                     [&](const auto& t) { return t.name == task.name; });
      if (same == manifest.tasks.end())
        manifest.tasks.push_back(std::move(task));
      else if (same->signature != task.signature)
        throw DecodeError{"task '" + task.name + "' is listed twice, as " + same->signature + " and as " +
                          task.signature};
    } else {  // a kind a later format-1 SDK added: skipped, as the layout allows
      at += size;
      continue;
    }
    if (const auto rest = in.remaining(); rest >= 8 || !zeros(at + size - rest, at + size))
      throw DecodeError{"manifest record" + where + " has " + std::to_string(rest) + " unexpected bytes at its end"};
    at += size;
  }
  if (!have_plugin) throw DecodeError{"the manifest section has no plugin record (no DLPOOL_PLUGIN?)"};
  std::sort(manifest.tasks.begin(), manifest.tasks.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return manifest;
}

}  // namespace dlpool::wire
