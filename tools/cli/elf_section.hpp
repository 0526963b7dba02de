#pragma once
// The bytes of one named section of an ELF file, read from the file: nothing is loaded or run.

#include <optional>
#include <string>

namespace dlpool::cli {

/// The contents of section `name` of the ELF file at `path`, or nothing if it has no such section.
/// Every offset and size the file states is checked against the file before it is used, so a
/// truncated or hostile file is an error, never an out-of-bounds read or a huge allocation: a
/// section over `max_size` bytes is refused. Throws std::runtime_error naming the file and what
/// is wrong with it ("not an ELF file", "its section headers lie beyond its end", ...). A file it
/// accepts has a section-header table and a NUL-terminated section-name table inside its bounds.
[[nodiscard]] std::optional<std::string> read_elf_section(const std::string& path, const std::string& name,
                                                          std::size_t max_size);

}  // namespace dlpool::cli
