#include "file_identity.hpp"

#include <cerrno>
#include <system_error>

#include "sys/unique_fd.hpp"

#include <fcntl.h>
#include <nettle/sha2.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::worker {

// Nettle rather than OpenSSL: linked statically it adds a few kilobytes to the worker, where
// libcrypto.so added 4.7 MB to map and relocate, and a configuration to load on first use, to the
// start of every worker. It has the same SHA-NI code path, so hashing costs the same.
FileIdentity identify_path(const std::string& path) {
  const detail::UniqueFd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!file) throw std::system_error{errno, std::generic_category(), "open"};
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) throw std::system_error{errno, std::generic_category(), "fstat"};
  sha256_ctx ctx;
  sha256_init(&ctx);
  unsigned char buf[1 << 16];
  for (off_t offset = 0;;) {
    const ssize_t n = ::pread(file.get(), buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error{errno, std::generic_category(), "read"};
    if (n == 0) break;
    sha256_update(&ctx, static_cast<std::size_t>(n), buf);
    offset += n;
  }
  unsigned char digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof digest, digest);
  FileIdentity id{static_cast<std::uint64_t>(st.st_ino), std::string(2 * sizeof digest, '\0')};
  constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < sizeof digest; ++i) {
    id.sha256[2 * i] = hex[digest[i] >> 4];
    id.sha256[2 * i + 1] = hex[digest[i] & 0xf];
  }
  return id;
}

}  // namespace dlpool::worker
