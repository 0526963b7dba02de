#include "plugin_file/elf_reader.hpp"

#include <dlpool/wire/abi.hpp>

#include <bit>
#include <cerrno>
#include <charconv>
#include <climits>
#include <system_error>

#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>

namespace dlpool::detail {
namespace {

/// "malformed: <what> (libelf's reason)".
[[noreturn]] void malformed(const std::string& what) {
  throw ElfError{"malformed: " + what + " (" + elf_errmsg(-1) + ")"};
}

void require_libelf() {
  if (elf_version(EV_CURRENT) == EV_NONE) throw std::runtime_error{std::string{"libelf: "} + elf_errmsg(-1)};
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

/// The bytes libelf holds of `section`.
Elf_Data* data_of(Elf_Scn* section, const std::string& what) {
  Elf_Data* data = elf_getdata(section, nullptr);
  if (data == nullptr) malformed(what + " cannot be read");
  return data;
}

}  // namespace

void ElfReader::Close::operator()(Elf* elf) const noexcept { elf_end(elf); }

ElfReader::ElfReader(std::span<char> image) {
  require_libelf();
  elf_.reset(elf_memory(image.data(), image.size()));
  check(image.size());
}

ElfReader::ElfReader(int fd) {
  require_libelf();
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error{errno, std::generic_category(), "fstat"};
  elf_.reset(elf_begin(fd, ELF_C_READ, nullptr));
  check(static_cast<std::uint64_t>(st.st_size));
}

ElfReader::~ElfReader() = default;

void ElfReader::check(std::uint64_t file_size) {
  if (!elf_ || elf_kind(elf_.get()) != ELF_K_ELF) throw ElfError{"not an ELF file"};
  GElf_Ehdr header;
  if (gelf_getehdr(elf_.get(), &header) == nullptr) malformed("its ELF header cannot be read");
  // libelf reads no section at all from a file cut short before its section headers: say so,
  // rather than that it has no such section or exports nothing.
  if (const auto table = std::uint64_t{header.e_shnum} * header.e_shentsize;
      header.e_shoff > file_size || table > file_size - header.e_shoff)
    throw ElfError{"truncated: its section headers end past its " + std::to_string(file_size) + " bytes (at offset " +
                   std::to_string(header.e_shoff) + ", " + std::to_string(table) +
                   " bytes that lie beyond the end of the file)"};
}

namespace {

GElf_Ehdr shared_object_header(Elf* elf) {
  GElf_Ehdr header;
  if (gelf_getehdr(elf, &header) == nullptr) malformed("its ELF header cannot be read");
  if (header.e_type != ET_DYN) throw ElfError{"not a shared object (ELF type " + std::to_string(header.e_type) + ")"};
  return header;
}

}  // namespace

void ElfReader::require_loadable_here() const {
  const auto header = shared_object_header(elf_.get());
  constexpr unsigned char our_class = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
  constexpr unsigned char our_order = std::endian::native == std::endian::little ? ELFDATA2LSB : ELFDATA2MSB;
  if (header.e_ident[EI_CLASS] != our_class)
    throw ElfError{std::string{"not a shared library this system can load (a "} +
                   (header.e_ident[EI_CLASS] == ELFCLASS32 ? "32" : "64") + "-bit file)"};
  if (header.e_ident[EI_DATA] != our_order)
    throw ElfError{std::string{"not a shared library this system can load (a "} +
                   (header.e_ident[EI_DATA] == ELFDATA2MSB ? "big" : "little") + "-endian file)"};
}

PluginSymbols ElfReader::plugin_symbols() const {
  shared_object_header(elf_.get());

  PluginSymbols found;
  for (Elf_Scn* section = elf_nextscn(elf_.get(), nullptr); section != nullptr;
       section = elf_nextscn(elf_.get(), section)) {
    GElf_Shdr section_header;
    if (gelf_getshdr(section, &section_header) == nullptr) malformed("a section header cannot be read");
    if (section_header.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = data_of(section, "its dynamic symbol table");
    if (section_header.sh_entsize == 0) throw ElfError{"malformed: its dynamic symbol table has entries of 0 bytes"};
    const auto count = data->d_size / section_header.sh_entsize;
    for (std::size_t i = 0; i < count && i <= INT_MAX; ++i) {
      GElf_Sym symbol;
      if (gelf_getsym(data, static_cast<int>(i), &symbol) == nullptr) break;
      const auto visibility = GELF_ST_VISIBILITY(symbol.st_other);
      if (symbol.st_shndx == SHN_UNDEF || GELF_ST_BIND(symbol.st_info) == STB_LOCAL ||
          (visibility != STV_DEFAULT && visibility != STV_PROTECTED))
        continue;
      const char* name = elf_strptr(elf_.get(), section_header.sh_link, symbol.st_name);
      if (name == nullptr) continue;
      if (std::string_view{name} == DLPOOL_MANIFEST_SYMBOL)
        found.manifest = true;
      else if (const auto version = abi_marker(name))
        found.abi_versions.push_back(*version);
    }
  }
  return found;
}

std::optional<std::string> ElfReader::section(std::string_view name, std::size_t max_size) const {
  std::size_t names_index = 0;
  if (elf_getshdrstrndx(elf_.get(), &names_index) != 0) malformed("its section-name table cannot be found");
  Elf_Scn* names_section = elf_getscn(elf_.get(), names_index);
  if (names_section == nullptr) malformed("its section-name table cannot be found");
  // A sound table ends with the NUL of its last name; libelf would accept one that does not, but
  // nothing we build makes one, so it is refused as the damage it is.
  const Elf_Data* names = data_of(names_section, "its section-name table");
  if (names->d_size == 0 || static_cast<const char*>(names->d_buf)[names->d_size - 1] != '\0')
    throw ElfError{"malformed: the section-name table does not end with a NUL"};

  const std::string section_name{name};
  for (Elf_Scn* section = elf_nextscn(elf_.get(), nullptr); section != nullptr;
       section = elf_nextscn(elf_.get(), section)) {
    GElf_Shdr header;
    if (gelf_getshdr(section, &header) == nullptr) malformed("a section header cannot be read");
    const char* candidate = elf_strptr(elf_.get(), names_index, header.sh_name);
    if (candidate == nullptr || name != candidate) continue;
    if (header.sh_type == SHT_NOBITS)
      throw ElfError{"malformed: its section " + section_name + " has no bytes in the file"};
    if (header.sh_size > max_size)
      throw ElfError{"malformed: its section " + section_name + " takes " + std::to_string(header.sh_size) +
                     " bytes, more than the " + std::to_string(max_size) + " it may"};
    const Elf_Data* data = data_of(section, "its section " + section_name);
    if (data->d_size == 0) return std::string{};
    return std::string{static_cast<const char*>(data->d_buf), data->d_size};
  }
  return std::nullopt;
}

}  // namespace dlpool::detail
