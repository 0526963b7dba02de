#include "frame_reader.hpp"

#include "sys/io.hpp"

#include <algorithm>
#include <cstring>

namespace dlpool::detail {
namespace {

constexpr std::size_t retained_capacity = 1 << 20;

}  // namespace

FrameReader::Fill FrameReader::fill(int fd) {
  constexpr std::size_t read_size = 64 * 1024;  // a pipe's default capacity
  if (begin_ == end_) {
    begin_ = end_ = 0;
    // One large result must not pin its buffer for the worker's lifetime.
    if (buf_.size() > retained_capacity) std::string{}.swap(buf_);
  } else if (begin_ > 0) {
    // Keep the partial frame at the front, so the room after it is contiguous.
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // Room for one read; for the rest of a longer frame whose header we have seen, the buffer grows
  // by doubling with the bytes that arrive (so copying stays linear in the frame's size), up to
  // what the frame needs. Never to what its header claims at once: a worker's lying length then
  // costs the host no memory.
  std::size_t want = end_ + read_size;
  if (pending_ > read_size) want = std::min(end_ + pending_, std::max(want, 2 * buf_.size()));
  if (buf_.size() < want) buf_.resize(want);
  // One read per call: the caller polls level-triggered, and parsing between reads keeps the
  // buffer at one partial frame however fast a worker writes.
  const long n = read_some(fd, buf_.data() + end_, buf_.size() - end_);
  if (n == 0) return Fill::eof;
  if (n < 0) return Fill::drained;
  end_ += static_cast<std::size_t>(n);
  return Fill::data;
}

bool FrameReader::next(wire::FrameHeader& header, std::string_view& payload) {
  const std::size_t available = end_ - begin_;
  if (available < wire::header_size) return false;
  header = wire::decode_header(buf_.data() + begin_, max_payload_);
  if (available < wire::header_size + header.length) {
    pending_ = wire::header_size + header.length - available;
    return false;
  }
  pending_ = 0;
  payload = {buf_.data() + begin_ + wire::header_size, header.length};
  begin_ += wire::header_size + header.length;
  return true;
}

}  // namespace dlpool::detail
