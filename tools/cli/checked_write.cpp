#include "checked_write.hpp"

#include "sys/io.hpp"

#include <stdexcept>
#include <system_error>

namespace dlpool::cli {

void write_fully(int fd, std::span<const std::string_view> pieces, const std::string& name) {
  std::error_code error;
  try {
    if (!detail::write_all(fd, pieces)) error = std::make_error_code(std::errc::broken_pipe);
  } catch (const std::system_error& e) {
    error = e.code();
  }
  if (error) throw std::runtime_error{"cannot write " + name + ": " + error.message()};
}

}  // namespace dlpool::cli
