#include "file_identity.hpp"

#include "sys/unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <nettle/sha2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::worker {
namespace {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error{errno, std::generic_category(), what}; }

FileKey key_of(const struct stat& st) {
  const auto ns = [](const timespec& t) { return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
          static_cast<std::uint64_t>(st.st_size), ns(st.st_mtim), ns(st.st_ctim)};
}

}  // namespace

bool FileKey::settled() const noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return std::max(mtime_ns, ctime_ns) < std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

std::optional<FileKey> file_key(const std::string& path) noexcept {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return key_of(st);
}

FileImage::FileImage(const std::string& path) {
  const detail::UniqueFd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!file) throw_errno("open");
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) throw_errno("fstat");
  key_ = key_of(st);
  if (st.st_size <= 0) return;
  // Judged before a byte more is read: a large file that is no plugin (a 2 GiB dump left in the
  // plugin directory) costs a stat and four bytes, not its size in memory and time.
  char magic[4] = {};
  if (::pread(file.get(), magic, sizeof magic, 0) != static_cast<ssize_t>(sizeof magic) ||
      std::memcmp(magic,
                  "\x7f"
                  "ELF",
                  sizeof magic) != 0)
    throw std::runtime_error{"is not an ELF file (it does not begin with \\x7fELF)"};
  if (static_cast<std::uint64_t>(st.st_size) > max_plugin_bytes)
    throw std::runtime_error{"is " + std::to_string(st.st_size) + " bytes, over the limit of " +
                             std::to_string(max_plugin_bytes) + " bytes for a plugin file"};
  // Pages populated in one call rather than faulted in one by one as the read fills them: a new
  // worker loads its plugins into fresh memory, and on a virtual machine each fault costs
  // microseconds (a plugin of 230 KB: ~0.3 ms read this way, ~0.8 ms through malloc'd memory).
  capacity_ = static_cast<std::size_t>(st.st_size);
  void* mapped = ::mmap(nullptr, capacity_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (mapped == MAP_FAILED) throw_errno("mmap");
  data_ = static_cast<char*>(mapped);
  // Up to the size seen by fstat: a file that grows meanwhile is read as it was, one that shrinks
  // as far as it goes.
  while (size_ < capacity_) {
    const ssize_t n = ::pread(file.get(), data_ + size_, capacity_ - size_, static_cast<off_t>(size_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::munmap(data_, capacity_);
      throw std::system_error{error, std::generic_category(), "read"};
    }
    if (n == 0) break;
    size_ += static_cast<std::size_t>(n);
  }
}

FileImage::~FileImage() {
  if (data_ != nullptr) ::munmap(data_, capacity_);
}

// Nettle rather than OpenSSL: linked statically it adds a few kilobytes to the worker, where
// libcrypto.so added 4.7 MB to map and relocate, and a configuration to load on first use, to the
// start of every worker. It has the same SHA-NI code path, so hashing costs the same.
FileIdentity FileImage::identity() const {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, size_, reinterpret_cast<const std::uint8_t*>(data_));
  unsigned char digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof digest, digest);
  FileIdentity id{key_.inode, std::string(2 * sizeof digest, '\0')};
  constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < sizeof digest; ++i) {
    id.sha256[2 * i] = hex[digest[i] >> 4];
    id.sha256[2 * i + 1] = hex[digest[i] & 0xf];
  }
  return id;
}

FileIdentity identify_path(const std::string& path) { return FileImage{path}.identity(); }

}  // namespace dlpool::worker
