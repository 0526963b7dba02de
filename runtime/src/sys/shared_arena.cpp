#include "sys/shared_arena.hpp"

#include "sys/io.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::detail {
namespace {

std::size_t system_page_size() noexcept { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

/// The arena mapped shared, and left out of this process's forks: a child a task forks (or an
/// application forks from the host) must not keep a window on the payloads, nor write into them
/// after its parent has moved on. MAP_FAILED if it cannot be mapped.
void* map_arena(int fd, std::size_t size) noexcept {
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base != MAP_FAILED) (void)::madvise(base, size, MADV_DONTFORK);  // refused: the fork keeps it, as before
  return base;
}

}  // namespace

SharedArena SharedArena::create(std::size_t capacity) {
  SharedArena arena;
  arena.page_ = system_page_size();
  capacity = (capacity + arena.page_ - 1) / arena.page_ * arena.page_;
  arena.fd_ = UniqueFd{::memfd_create("dlpool-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  if (!arena.fd_) throw_errno("memfd_create");
  const auto size = static_cast<off_t>(arena.control_size() + 2 * capacity);
  if (::ftruncate(arena.fd_.get(), size) != 0) throw_errno("ftruncate", "dlpool-arena");
  // Its size fixed for good: no one can shrink it under the host's mapping.
  if (::fcntl(arena.fd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    throw_errno("fcntl(F_ADD_SEALS)", "dlpool-arena");
  void* base = map_arena(arena.fd_.get(), static_cast<std::size_t>(size));
  if (base == MAP_FAILED) throw_errno("mmap", "dlpool-arena");
  arena.base_ = static_cast<char*>(base);
  arena.capacity_ = capacity;
  return arena;
}

SharedArena SharedArena::open(int fd) noexcept {
  SharedArena arena;
  arena.page_ = system_page_size();
  const auto control = arena.control_size();
  struct stat st {};
  // Only the arena the host made: sealed, so that its size is the one mapped here for good.
  constexpr int sealed = F_SEAL_SHRINK | F_SEAL_GROW;
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (::fstat(fd, &st) == 0 && seals >= 0 && (seals & sealed) == sealed &&
      static_cast<std::size_t>(st.st_size) > control &&
      (static_cast<std::size_t>(st.st_size) - control) % (2 * arena.page_) == 0) {
    void* base = map_arena(fd, static_cast<std::size_t>(st.st_size));
    if (base != MAP_FAILED) {
      arena.base_ = static_cast<char*>(base);
      arena.capacity_ = (static_cast<std::size_t>(st.st_size) - control) / 2;
    }
  }
  ::close(fd);  // the mapping stays; the fd number is the plugin's to reuse
  return arena;
}

SharedArena& SharedArena::operator=(SharedArena&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) ::munmap(base_, control_size() + 2 * capacity_);
    page_ = other.page_;
    base_ = std::exchange(other.base_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    fd_ = std::move(other.fd_);
  }
  return *this;
}

SharedArena::~SharedArena() {
  if (base_ != nullptr) ::munmap(base_, control_size() + 2 * capacity_);
}

std::optional<std::string_view> SharedArena::view(Area area, std::uint64_t position,
                                                  std::uint64_t length) const noexcept {
  if (base_ == nullptr || length > capacity_ || position % capacity_ + length > capacity_) return std::nullopt;
  return std::string_view{at(area, position), static_cast<std::size_t>(length)};
}

std::optional<std::uint64_t> SharedArena::write(Area area, RingWriter& ring, std::uint64_t freed,
                                                std::string_view bytes) const {
  const auto position = ring.reserve(bytes.size(), freed);
  if (!position) return std::nullopt;
  std::memcpy(at(area, *position), bytes.data(), bytes.size());
  ring.commit(*position, bytes.size());
  return position;
}

// The other process reads the word: atomic and lock-free (an aligned 8-byte word in the control
// page), so neither side takes a lock in shared memory.
void SharedArena::results_taken(std::uint64_t end) noexcept {
  std::atomic_ref<std::uint64_t>{*reinterpret_cast<std::uint64_t*>(base_)}.store(end, std::memory_order_release);
}

std::uint64_t SharedArena::results_taken() const noexcept {
  return std::atomic_ref<std::uint64_t>{*reinterpret_cast<std::uint64_t*>(base_)}.load(std::memory_order_acquire);
}

void SharedArena::release(Area area, std::uint64_t position, std::uint64_t length) const noexcept {
  // Whole pages only: the ones at either end may hold the payloads before and after it.
  const std::size_t offset = position % capacity_;
  const std::size_t from = (std::max(offset, arena_pages_kept) + page_ - 1) / page_ * page_;
  const std::size_t to = (offset + length) / page_ * page_;
  if (base_ == nullptr || length > capacity_ || offset + length > capacity_ || from >= to) return;
  // The worker's sandbox may refuse it: the pages then stay, which costs memory, not correctness.
  (void)::madvise(at(area, 0) + from, to - from, MADV_REMOVE);
}

std::optional<std::uint64_t> RingWriter::reserve(std::size_t size, std::uint64_t freed) noexcept {
  const auto region = reserve_open(size, freed);
  return region ? std::optional{region->position} : std::nullopt;
}

std::optional<RingWriter::Region> RingWriter::reserve_open(std::size_t size, std::uint64_t freed) noexcept {
  if (size > capacity_) return std::nullopt;
  take(freed);
  const auto next_lap = [&](std::uint64_t p) { return p % capacity_ == 0 ? p : p - p % capacity_ + capacity_; };
  std::uint64_t position = head_;
  if (head_ == tail_) {
    // Empty: start again at the area's beginning, whose pages are the ones already in use.
    head_ = tail_ = position = next_lap(head_);
  } else if (position % capacity_ + size > capacity_) {
    position = next_lap(position);  // contiguous: the rest of this lap is skipped
  }
  const std::uint64_t used = position - tail_;  // what the reader has yet to free, up to here
  if (used > capacity_ || capacity_ - used < size) return std::nullopt;
  return Region{position, std::min(capacity_ - position % capacity_, static_cast<std::size_t>(capacity_ - used))};
}

}  // namespace dlpool::detail
