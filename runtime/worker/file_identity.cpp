#include "file_identity.hpp"

#include <cerrno>
#include <memory>
#include <system_error>

#include "sys/unique_fd.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::worker {

FileIdentity identify_path(const std::string& path) {
  const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) throw std::system_error{errno, std::generic_category(), "open"};
  const detail::UniqueFd file{raw};
  const int fd = file.get();
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::system_error{errno, std::generic_category(), "fstat"};
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw std::system_error{ENOMEM, std::generic_category(), "SHA-256 context"};
  char buf[1 << 16];
  for (off_t offset = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error{errno, std::generic_category(), "read"};
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf, static_cast<std::size_t>(n));
    offset += n;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &size);
  FileIdentity id{static_cast<std::uint64_t>(st.st_ino), {}};
  constexpr char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < size; ++i) {
    id.sha256 += hex[digest[i] >> 4];
    id.sha256 += hex[digest[i] & 0xf];
  }
  return id;
}

}  // namespace dlpool::worker
