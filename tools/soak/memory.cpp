#include "memory.hpp"

#include <fstream>

#include <unistd.h>

namespace dlpool::soak {

std::uint64_t resident_kib() noexcept {
  // statm: size resident shared text lib data dt, in pages.
  std::ifstream statm{"/proc/self/statm"};
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
}

}  // namespace dlpool::soak
