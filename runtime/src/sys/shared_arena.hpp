#pragma once
// A worker's shared arena: memory shared by the host and one worker, through which large
// payloads travel instead of through the pipes (a frame flagged wire::flag_shared carries only
// where its payload is: see wire/frame.hpp).
//
// Why: a payload through a pipe is copied into the kernel and out again, 64 KiB (or one grown
// pipe's worth) at a time, each piece a wake-up of the other side. Through the arena it is
// copied once, by its sender; the worker reads its arguments where they lie, and the host
// copies a result out as it takes it.
//
// One memfd, made by the host and handed to the worker with its pipes (after the ledger):
//
//   [ one page: control ] [ task area: capacity bytes ] [ result area: capacity bytes ]
//
// Each area is a ring written by one side (RingWriter): the host writes task frames' payloads
// into the task area, the worker results into the result area. The reader frees what it has
// read in order: the host frees a task payload when its answer arrives (it runs the worker's
// chunks in order), and publishes in the control page how far it has taken the results. The
// memfd is sealed against shrinking and growing: a worker cannot make the host's reads of its
// mapping fault (SIGBUS), and every position a worker sends is checked against the area's
// bounds before it is read. The memory is sparse: pages exist once written, and the reader of a
// payload that reached past the area's first megabytes gives those pages back once it is done
// with it (release), as the pipes' reader gives back a large buffer.

#include "sys/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace dlpool::detail {

/// Payloads of at least this many bytes go through the arena when they fit (smaller ones cost
/// less through the pipe than a copy and the bookkeeping).
inline constexpr std::size_t shared_payload_threshold = 64 * 1024;
/// The pages of an area past this offset are given back as soon as the payload in them is read
/// (SharedArena::release): one large payload must not pin its memory for the worker's life, and
/// the first ones, where every payload starts while the ring is empty, stay warm.
inline constexpr std::size_t arena_pages_kept = 8u << 20;

class RingWriter;

class SharedArena {
 public:
  /// No arena: nothing goes through it.
  SharedArena() noexcept = default;
  /// The host's: a new memfd with two areas of `capacity` bytes (sparse), sealed, and mapped.
  static SharedArena create(std::size_t capacity);
  /// The worker's: maps the arena behind `fd`, then closes `fd`. No arena if that fails.
  static SharedArena open(int fd) noexcept;

  SharedArena(SharedArena&& other) noexcept
      : page_{other.page_},
        base_{std::exchange(other.base_, nullptr)},
        capacity_{std::exchange(other.capacity_, 0)},
        fd_{std::move(other.fd_)} {}
  SharedArena& operator=(SharedArena&& other) noexcept;
  SharedArena(const SharedArena&) = delete;
  SharedArena& operator=(const SharedArena&) = delete;
  ~SharedArena();

  explicit operator bool() const noexcept { return base_ != nullptr; }
  /// The memfd, for the spawn; -1 once closed or on the worker's side.
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  void close_fd() noexcept { fd_.reset(); }
  /// Bytes in each area.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  enum class Area : std::uint8_t { tasks, results };
  /// Where position `position`'s bytes are in `area` (see RingWriter).
  [[nodiscard]] char* at(Area area, std::uint64_t position) const noexcept {
    return base_ + control_size() + (area == Area::results ? capacity_ : 0) + position % capacity_;
  }
  /// The `length` bytes at `position` in `area`, or nothing when they would reach outside it
  /// (a position or length that no writer of this arena could have sent).
  [[nodiscard]] std::optional<std::string_view> view(Area area, std::uint64_t position,
                                                     std::uint64_t length) const noexcept;

  /// Copies `bytes` into `area` where `ring` (that area's) has room, now that its reader has
  /// freed everything before `freed`; returns where, or nothing when they do not fit now.
  std::optional<std::uint64_t> write(Area area, RingWriter& ring, std::uint64_t freed, std::string_view bytes) const;

  /// How far the host has taken the results: the worker may write over what lies before.
  void results_taken(std::uint64_t end) noexcept;
  [[nodiscard]] std::uint64_t results_taken() const noexcept;

  /// The reader is done with the `length` bytes at `position` in `area`: the whole pages of
  /// them past arena_pages_kept are given back (they read as zeros after). The writer writes
  /// there again only once the reader has freed them, after this.
  void release(Area area, std::uint64_t position, std::uint64_t length) const noexcept;

 private:
  [[nodiscard]] std::size_t control_size() const noexcept { return page_; }

  std::size_t page_ = 0;  // the control page's size, and what capacities are rounded to

  char* base_ = nullptr;
  std::size_t capacity_ = 0;
  UniqueFd fd_;
};

/// The writing side of one area's ring. Positions grow for ever; a position's bytes are at
/// position % capacity. Regions are contiguous (one that would wrap starts at the next lap
/// instead) and freed in the order written, by the reader saying how far it has read.
class RingWriter {
 public:
  explicit RingWriter(std::size_t capacity) noexcept : capacity_{capacity} {}

  /// A position where `size` bytes fit, now that the reader has freed everything before
  /// `freed`; nothing if they do not fit now. `freed` is the reader's word: one past what has
  /// been written, or behind what it said before, is taken as no news.
  std::optional<std::uint64_t> reserve(std::size_t size, std::uint64_t freed) noexcept;
  /// A contiguous region of at least `size` bytes, and as many more as fit before the lap's end
  /// or the reader: for a writer that does not know yet how much it will write. Nothing is
  /// written until commit, which says how much was.
  struct Region {
    std::uint64_t position;
    std::size_t room;
  };
  std::optional<Region> reserve_open(std::size_t size, std::uint64_t freed) noexcept;
  /// The `size` bytes at `position` (from reserve) are written.
  void commit(std::uint64_t position, std::size_t size) noexcept { head_ = position + size; }

 private:
  void take(std::uint64_t freed) noexcept {
    if (freed > tail_ && freed <= head_) tail_ = freed;
  }

  std::size_t capacity_;
  std::uint64_t head_ = 0;  // one past the last byte written
  std::uint64_t tail_ = 0;  // the reader has freed everything before
};

}  // namespace dlpool::detail
