#include "sys/ledger.hpp"

#include "sys/io.hpp"

#include <atomic>
#include <limits>

#include <sys/mman.h>
#include <unistd.h>

namespace dlpool::detail {
namespace {

constexpr std::size_t page_size = 4096;

std::uint64_t* map_page(int fd) noexcept {
  void* page = ::mmap(nullptr, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return page == MAP_FAILED ? nullptr : static_cast<std::uint64_t*>(page);
}

}  // namespace

Ledger Ledger::create() {
  Ledger ledger;
  ledger.fd_ = UniqueFd{::memfd_create("dlpool-ledger", MFD_CLOEXEC)};
  if (!ledger.fd_) throw_errno("memfd_create");
  if (::ftruncate(ledger.fd_.get(), page_size) != 0) throw_errno("ftruncate", "dlpool-ledger");
  ledger.count_ = map_page(ledger.fd_.get());
  if (ledger.count_ == nullptr) throw_errno("mmap", "dlpool-ledger");
  return ledger;  // the page is zero: nothing started
}

Ledger Ledger::open(int fd) noexcept {
  Ledger ledger;
  ledger.count_ = map_page(fd);
  ::close(fd);  // the mapping stays; the fd number is the plugin's to reuse
  return ledger;
}

Ledger& Ledger::operator=(Ledger&& other) noexcept {
  if (this != &other) {
    if (count_ != nullptr) ::munmap(count_, page_size);
    count_ = std::exchange(other.count_, nullptr);
    fd_ = std::move(other.fd_);
  }
  return *this;
}

Ledger::~Ledger() {
  if (count_ != nullptr) ::munmap(count_, page_size);
}

// Another process reads the count: atomic, lock-free (an aligned 8-byte word), so both sides
// agree on it without either taking a lock in shared memory.
void Ledger::started(std::uint64_t n) noexcept {
  if (count_ != nullptr) std::atomic_ref<std::uint64_t>{*count_}.store(n, std::memory_order_release);
}

std::uint64_t Ledger::chunks_started() const noexcept {
  if (count_ == nullptr) return std::numeric_limits<std::uint64_t>::max();
  return std::atomic_ref<std::uint64_t>{*count_}.load(std::memory_order_acquire);
}

}  // namespace dlpool::detail
