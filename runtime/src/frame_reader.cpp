#include "frame_reader.hpp"

#include "sys/io.hpp"

#include <algorithm>
#include <cstring>

namespace dlpool::detail {
namespace {

constexpr std::size_t read_size = 64 * 1024;  // a pipe's default capacity
// A buffer grown past retained_capacity for a large frame is given back once this many frames in
// a row fitted in retained_capacity, or at once if it is over retained_large: one large result
// must not pin its buffer for the worker's lifetime, but a stream of them must not pay for a
// fresh buffer (and its page faults) each time.
constexpr std::size_t retained_capacity = 1 << 20;
constexpr std::size_t retained_large = 8 << 20;
constexpr unsigned release_after = 16;

}  // namespace

void FrameReader::make_room(std::size_t room) {
  const std::size_t kept = end_ - begin_;
  if (capacity_ - end_ >= room) return;
  if (capacity_ - kept >= room) {
    // Keep the partial frame at the front, so the room after it is contiguous.
    std::memmove(buf_.get(), buf_.get() + begin_, kept);
  } else {
    auto bigger = std::make_unique_for_overwrite<char[]>(kept + room);
    if (kept != 0) std::memcpy(bigger.get(), buf_.get() + begin_, kept);
    buf_ = std::move(bigger);
    capacity_ = kept + room;
  }
  begin_ = 0;
  end_ = kept;
}

FrameReader::Fill FrameReader::fill(int fd) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (capacity_ > retained_large || (capacity_ > retained_capacity && small_frames_ >= release_after)) {
      buf_.reset();
      capacity_ = 0;
    }
  }
  // Room for one read; for the rest of a longer frame whose header we have seen, room to double
  // what has arrived (so copying stays linear in the frame's size), up to what the frame needs.
  // Never what its header claims at once: a worker's lying length costs the host no memory.
  const std::size_t kept = end_ - begin_;
  make_room(pending_ > read_size ? std::min(pending_, std::max(read_size, kept)) : read_size);
  // One read per call: the caller polls level-triggered, and parsing between reads keeps the
  // buffer at one partial frame however fast a worker writes.
  const long n = read_some(fd, buf_.get() + end_, capacity_ - end_);
  if (n == 0) return Fill::eof;
  if (n < 0) return Fill::drained;
  end_ += static_cast<std::size_t>(n);
  return Fill::data;
}

bool FrameReader::next(wire::FrameHeader& header, std::string_view& payload) {
  const std::size_t available = end_ - begin_;
  if (available < wire::header_size) return false;
  header = wire::decode_header(buf_.get() + begin_, max_payload_);
  const std::size_t size = wire::header_size + header.length;
  if (available < size) {
    pending_ = size - available;
    return false;
  }
  pending_ = 0;
  small_frames_ = size > retained_capacity ? 0 : small_frames_ + 1;
  payload = {buf_.get() + begin_ + wire::header_size, header.length};
  begin_ += size;
  return true;
}

std::string_view take_frame(std::string_view& bytes, std::uint32_t max_payload, wire::FrameHeader& header) {
  if (bytes.size() < wire::header_size) throw wire::DecodeError{"a frame cut short"};
  header = wire::decode_header(bytes.data(), max_payload);
  const auto size = wire::header_size + header.length;
  if (bytes.size() < size) throw wire::DecodeError{"a frame cut short"};
  const auto frame = bytes.substr(0, size);
  bytes.remove_prefix(size);
  return frame;
}

}  // namespace dlpool::detail
