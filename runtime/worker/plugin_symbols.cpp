#include "plugin_symbols.hpp"

#include <dlpool/wire/abi.hpp>

#include <charconv>
#include <climits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <gelf.h>
#include <libelf.h>

namespace dlpool::worker {
namespace {

using ElfHandle = std::unique_ptr<Elf, decltype(&elf_end)>;

[[noreturn]] void elf_failure(const char* what) {
  throw std::runtime_error{std::string{what} + ": " + elf_errmsg(-1)};
}

/// The N of a "dlpool_sdk_abi_N" marker, or nothing for any other name.
std::optional<std::uint32_t> abi_marker(std::string_view name) {
  constexpr std::string_view prefix = DLPOOL_SDK_ABI_MARKER_PREFIX;
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  std::uint32_t version = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), version);
  if (ec != std::errc{} || end != name.data() + name.size()) return std::nullopt;
  return version;
}

}  // namespace

PluginSymbols read_plugin_symbols(std::span<char> image) {
  // libelf checks every offset and size it reads against the image (it is fuzzed by its
  // maintainers), which a hand-written reader or Boost.DLL's library_info (whose 1.74 copy indexes
  // its string table unchecked) would not.
  if (elf_version(EV_CURRENT) == EV_NONE) elf_failure("libelf");
  const ElfHandle elf{elf_memory(image.data(), image.size()), &elf_end};
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) throw std::runtime_error{"is not an ELF file"};
  GElf_Ehdr header;
  if (gelf_getehdr(elf.get(), &header) == nullptr) elf_failure("has an unreadable ELF header");
  if (header.e_type != ET_DYN)
    throw std::runtime_error{"is not a shared object (ELF type " + std::to_string(header.e_type) + ")"};

  // libelf reads no section at all from a file cut short before its section headers (they come
  // last): say so, rather than that it exports nothing.
  if (const auto table = std::uint64_t{header.e_shnum} * header.e_shentsize;
      header.e_shoff > image.size() || table > image.size() - header.e_shoff)
    throw std::runtime_error{"is truncated: its section headers end past its " + std::to_string(image.size()) +
                             " bytes (at offset " + std::to_string(header.e_shoff) + ", " + std::to_string(table) +
                             " bytes)"};

  PluginSymbols found;
  for (Elf_Scn* section = elf_nextscn(elf.get(), nullptr); section != nullptr;
       section = elf_nextscn(elf.get(), section)) {
    GElf_Shdr section_header;
    if (gelf_getshdr(section, &section_header) == nullptr) elf_failure("has an unreadable section header");
    if (section_header.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (data == nullptr) elf_failure("has an unreadable dynamic symbol table");
    if (section_header.sh_entsize == 0) throw std::runtime_error{"has a malformed dynamic symbol table"};
    const auto count = data->d_size / section_header.sh_entsize;
    for (std::size_t i = 0; i < count && i <= INT_MAX; ++i) {
      GElf_Sym symbol;
      if (gelf_getsym(data, static_cast<int>(i), &symbol) == nullptr) break;
      // Only what the file defines and exports: not its imports, not hidden or local symbols.
      const auto visibility = GELF_ST_VISIBILITY(symbol.st_other);
      if (symbol.st_shndx == SHN_UNDEF || GELF_ST_BIND(symbol.st_info) == STB_LOCAL ||
          (visibility != STV_DEFAULT && visibility != STV_PROTECTED))
        continue;
      const char* name = elf_strptr(elf.get(), section_header.sh_link, symbol.st_name);
      if (name == nullptr) continue;
      if (std::string_view{name} == DLPOOL_MANIFEST_SYMBOL)
        found.manifest = true;
      else if (const auto version = abi_marker(name))
        found.abi_versions.push_back(*version);
    }
  }
  return found;
}

}  // namespace dlpool::worker
