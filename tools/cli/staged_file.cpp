#include "staged_file.hpp"

#include "sys/io.hpp"
#include "sys/unique_fd.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::cli {
namespace {

using detail::UniqueFd;

void sync(const UniqueFd& fd, const std::string& what) {
  if (::fsync(fd.get()) != 0) detail::throw_errno("fsync", what);
}

}  // namespace

StagedFile::StagedFile(const std::string& source, const std::string& dir, const std::string& file_name, unsigned mode)
    : dir_{dir}, file_name_{file_name} {
  auto pattern = (std::filesystem::path{dir} / ".dlpool-install-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) detail::throw_errno("mkdtemp", pattern);
  staging_ = pattern;
  staged_ = (std::filesystem::path{staging_} / file_name).string();
  try {
    UniqueFd in{::open(source.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!in) detail::throw_errno("open", source);
    UniqueFd out{::open(staged_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (!out) detail::throw_errno("open", staged_);
    char buffer[1 << 16];
    for (long n; (n = detail::read_some(in.get(), buffer, sizeof buffer)) > 0;)
      if (!detail::write_all(out.get(), {buffer, static_cast<std::size_t>(n)})) detail::throw_errno("write", staged_);
    // After creation: the umask must not decide what the published plugin's mode is.
    if (::fchmod(out.get(), static_cast<mode_t>(mode)) != 0) detail::throw_errno("fchmod", staged_);
    sync(out, staged_);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(staging_, ec);
    throw;
  }
}

StagedFile::~StagedFile() {
  std::error_code ec;  // best effort: a leftover hidden directory is harmless to workers
  if (!published_) std::filesystem::remove(staged_, ec);
  std::filesystem::remove(staging_, ec);
}

std::string StagedFile::publish() {
  auto target = (std::filesystem::path{dir_} / file_name_).string();  // not const: returned by move
  if (::rename(staged_.c_str(), target.c_str()) != 0) detail::throw_errno("rename", staged_ + " -> " + target);
  published_ = true;
  UniqueFd directory{::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!directory) detail::throw_errno("open", dir_);
  sync(directory, dir_);
  return target;
}

}  // namespace dlpool::cli
