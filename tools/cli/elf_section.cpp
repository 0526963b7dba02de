#include "elf_section.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <elf.h>

namespace dlpool::cli {
namespace {

/// Reads byte ranges of one file, each checked against its size first.
class FileBytes {
 public:
  explicit FileBytes(const std::string& path) : path_{path}, in_{path, std::ios::binary} {
    if (!in_) throw std::runtime_error{path + ": cannot be opened for reading"};
    in_.seekg(0, std::ios::end);
    size_ = static_cast<std::uint64_t>(in_.tellg());
  }

  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

  /// Bytes [offset, offset + count) of the file; `what` names them in the error if they do not exist.
  std::string read(std::uint64_t offset, std::uint64_t count, const char* what) {
    if (offset > size_ || count > size_ - offset)
      throw std::runtime_error{path_ + ": " + what + " (" + std::to_string(count) + " bytes at offset " +
                               std::to_string(offset) + ") lie beyond the end of the file (" +
                               std::to_string(size_) + " bytes): truncated or not a plugin"};
    std::string bytes(static_cast<std::size_t>(count), '\0');
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(bytes.data(), static_cast<std::streamsize>(count));
    if (static_cast<std::uint64_t>(in_.gcount()) != count)
      throw std::runtime_error{path_ + ": read error in the " + what};
    return bytes;
  }

  template <class T>
  T read_struct(std::uint64_t offset, const char* what) {
    const auto bytes = read(offset, sizeof(T), what);
    T value;
    std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
  }

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
};

template <class Ehdr, class Shdr>
std::optional<std::string> find_section(FileBytes& file, const std::string& name, std::size_t max_size) {
  const auto header = file.read_struct<Ehdr>(0, "ELF header");
  if (header.e_shoff == 0) throw std::runtime_error{file.path() + ": the ELF file has no section headers"};
  if (header.e_shentsize != sizeof(Shdr))
    throw std::runtime_error{file.path() + ": section header entries of " + std::to_string(header.e_shentsize) +
                             " bytes, expected " + std::to_string(sizeof(Shdr))};
  // More than 0xff00 sections: the real count and string-table index live in section 0.
  const auto first = file.read_struct<Shdr>(header.e_shoff, "first section header");
  const std::uint64_t count = header.e_shnum != 0 ? header.e_shnum : first.sh_size;
  const std::uint64_t names_index = header.e_shstrndx != SHN_XINDEX ? header.e_shstrndx : first.sh_link;
  if (count == 0 || count > file.size() / sizeof(Shdr))
    throw std::runtime_error{file.path() + ": implausible section count " + std::to_string(count)};
  if (names_index >= count)
    throw std::runtime_error{file.path() + ": the section-name table is section " + std::to_string(names_index) +
                             " of " + std::to_string(count)};

  const auto table = file.read(header.e_shoff, count * sizeof(Shdr), "section headers");
  const auto section = [&](std::uint64_t i) {
    Shdr s;
    std::memcpy(&s, table.data() + i * sizeof(Shdr), sizeof(Shdr));
    return s;
  };
  const auto names_header = section(names_index);
  if (names_header.sh_type != SHT_STRTAB)
    throw std::runtime_error{file.path() + ": the section-name table is not a string table"};
  if (names_header.sh_size > file.size())
    throw std::runtime_error{file.path() + ": the section-name table is larger than the file"};
  const auto names = file.read(names_header.sh_offset, names_header.sh_size, "section-name table");
  // Every name ends with a NUL, so the table does: a reader walking it from name to name (as
  // Boost.DLL's does) can then never run past its end.
  if (names.empty() || names.back() != '\0')
    throw std::runtime_error{file.path() + ": the section-name table does not end with a NUL"};

  for (std::uint64_t i = 0; i < count; ++i) {
    const auto s = section(i);
    if (s.sh_name >= names.size()) continue;  // a nameless section cannot be the one asked for
    // Bounded by the table: a name missing its terminator ends with the table.
    const auto at = names.data() + s.sh_name;
    const std::string_view candidate{at, ::strnlen(at, names.size() - s.sh_name)};
    if (candidate != name) continue;
    if (s.sh_type == SHT_NOBITS) throw std::runtime_error{file.path() + ": section " + name + " has no bytes in the file"};
    if (s.sh_size > max_size)
      throw std::runtime_error{file.path() + ": section " + name + " takes " + std::to_string(s.sh_size) +
                               " bytes, more than the " + std::to_string(max_size) + " it may"};
    return file.read(s.sh_offset, s.sh_size, ("section " + name).c_str());
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> read_elf_section(const std::string& path, const std::string& name, std::size_t max_size) {
  FileBytes file{path};
  if (file.size() < EI_NIDENT) throw std::runtime_error{path + ": not an ELF file (" + std::to_string(file.size()) + " bytes)"};
  const auto ident = file.read(0, EI_NIDENT, "ELF identification");
  if (std::memcmp(ident.data(), ELFMAG, SELFMAG) != 0) throw std::runtime_error{path + ": not an ELF file"};
  // Our plugins are native files: little-endian is what we build and what the SDK's records are.
  if (ident[EI_DATA] != ELFDATA2LSB) throw std::runtime_error{path + ": not a little-endian ELF file"};
  switch (ident[EI_CLASS]) {
    case ELFCLASS64: return find_section<Elf64_Ehdr, Elf64_Shdr>(file, name, max_size);
    case ELFCLASS32: return find_section<Elf32_Ehdr, Elf32_Shdr>(file, name, max_size);
    default: throw std::runtime_error{path + ": unknown ELF class " + std::to_string(static_cast<int>(ident[EI_CLASS]))};
  }
}

}  // namespace dlpool::cli
