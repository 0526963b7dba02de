// The libFuzzer entry point of one target, chosen at build time (DLPOOL_FUZZ_TARGET).

#include "targets.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dlpool::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dlpool::fuzz::DLPOOL_FUZZ_TARGET({reinterpret_cast<const char*>(data), size});
  return 0;
}
