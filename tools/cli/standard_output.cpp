#include "standard_output.hpp"

#include "checked_write.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::cli {
namespace {

/// What fd 1 is open on, for messages that tell the user which file to look at.
std::string stdout_name() {
  std::error_code ec;
  auto target = std::filesystem::read_symlink("/proc/self/fd/1", ec);
  return ec ? std::string{"standard output"} : target.string();
}

std::uint64_t stdout_size() {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0)
    throw std::runtime_error{"cannot examine standard output: " + std::string{std::strerror(errno)}};
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

StandardOutput::StandardOutput() {
  struct stat st {};
  if (::fstat(STDOUT_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) {
    offset_ = 0;
    return;
  }
  regular_file_ = true;
  const int flags = ::fcntl(STDOUT_FILENO, F_GETFL);
  appends_ = flags >= 0 && (flags & O_APPEND) != 0;
  // An O_APPEND fd's position is where it was opened (0) until the first write moves it to the
  // end: the end is where our lines go.
  const off_t position = appends_ ? -1 : ::lseek(STDOUT_FILENO, 0, SEEK_CUR);
  offset_ = static_cast<std::uint64_t>(position >= 0 ? position : st.st_size);
}

void StandardOutput::write_line(std::string_view line) {
  const std::string_view pieces[] = {line, "\n"};
  write_fully(STDOUT_FILENO, pieces, "standard output");
  if (offset_) *offset_ += line.size() + 1;
}

void StandardOutput::continue_from(std::optional<std::uint64_t> logged) {
  if (!regular_file_) {  // nothing to check: what went down a pipe is the reader's
    offset_ = logged;
    return;
  }
  if (!logged) return;  // a joblog without offsets (an older dlpool's): the file is taken as it is
  const auto size = stdout_size();
  const auto name = stdout_name();
  if (!appends_ && *offset_ != size)
    throw std::runtime_error{"--resume: standard output (" + name + ") would be written at byte " +
                             std::to_string(*offset_) + ", not at its end (" + std::to_string(size) +
                             " bytes): append to it with >>"};
  if (size < *logged)
    throw std::runtime_error{"--resume: standard output (" + name + ") has " + std::to_string(size) +
                             " bytes, but the joblog says the output had " + std::to_string(*logged) +
                             " after its last line: it is not the output the joblog describes, or it was cut "
                             "(resume appends to that file with >>; to start over, run without --resume)"};
  if (size > *logged) {
    // Written before the joblog line that would account for it: a line cut short by a kill, or a
    // whole line whose log line never came. Its item is not logged as done, so it runs again.
    if (::ftruncate(STDOUT_FILENO, static_cast<off_t>(*logged)) != 0 ||
        (!appends_ && ::lseek(STDOUT_FILENO, static_cast<off_t>(*logged), SEEK_SET) < 0))
      throw std::runtime_error{"--resume: cannot cut " + name + " to the " + std::to_string(*logged) +
                               " bytes the joblog accounts for (" + std::strerror(errno) + "): run `truncate -s " +
                               std::to_string(*logged) + " " + name + "`, then resume again"};
    std::fprintf(stderr,
                 "dlpool: %s: cut from %llu to %llu bytes, where the joblog's last line says the output ended: "
                 "the rest was written by a run stopped before it logged it, and runs again\n",
                 name.c_str(), static_cast<unsigned long long>(size), static_cast<unsigned long long>(*logged));
  }
  offset_ = logged;
}

}  // namespace dlpool::cli
