#pragma once
// What a plugin file says about itself in its ELF structure, read with libelf without loading the
// file, so that none of its code (static constructors included) runs to tell us. The one reader of
// plugin files: the worker checks a plugin's symbols with it before dlopen, and `dlpool tasks` and
// `dlpool install` read a plugin's manifest section with it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct Elf;

namespace dlpool::detail {

/// A file that is not a sound ELF file, or not one the call can read. what() says what the file
/// is, so that it can follow "FILE is " (the worker) or "FILE: " (the command line): "not an ELF
/// file", "not a shared object (...)", "truncated: ...", "malformed: ...".
class ElfError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What a plugin file exports in its dynamic symbol table.
struct PluginSymbols {
  bool manifest = false;                    // exports DLPOOL_MANIFEST_SYMBOL
  std::vector<std::uint32_t> abi_versions;  // N of each exported dlpool_sdk_abi_N marker
};

/// One ELF file opened with libelf, which checks every offset and size it reads against the file
/// (it is fuzzed by its maintainers); Boost.DLL's library_info, whose 1.74 copy indexes its
/// string table unchecked, and a hand-written reader would not. The constructors already refuse a
/// file whose section headers lie beyond its end: those come last, so a file cut short loses them
/// first, and libelf would then read it as a file without sections.
class ElfReader {
 public:
  /// Reads the image in memory, which must outlive the reader. Writable, as libelf's elf_memory
  /// wants it; nothing writes to it. Throws ElfError.
  explicit ElfReader(std::span<char> image);
  /// Reads the file open at `fd` (which must stay open while the reader lives) a part at a time,
  /// as it is asked for: a large file is never read whole. Throws ElfError, or std::system_error
  /// if it cannot be stat()ed.
  explicit ElfReader(int fd);
  ~ElfReader();
  ElfReader(const ElfReader&) = delete;
  ElfReader& operator=(const ElfReader&) = delete;

  /// The symbols it defines and exports (not its imports, not hidden or local ones) that matter
  /// to a worker. Throws ElfError if it is not a shared object or its symbol table is malformed.
  [[nodiscard]] PluginSymbols plugin_symbols() const;

  /// Throws ElfError unless it is a shared object of this system's ELF class and byte order,
  /// which is what `dlpool tasks` and `dlpool install` accept (the worker leaves the rest to dlopen).
  void require_loadable_here() const;

  /// The contents of section `name`, or nothing if it has no such section. A section over
  /// `max_size` bytes is refused, as is a section-name table without its final NUL. Throws
  /// ElfError.
  [[nodiscard]] std::optional<std::string> section(std::string_view name, std::size_t max_size) const;

 private:
  struct Close {
    void operator()(Elf* elf) const noexcept;
  };

  /// Checks what both constructors check, once libelf has the file.
  void check(std::uint64_t file_size);

  std::unique_ptr<Elf, Close> elf_;
};

}  // namespace dlpool::detail
