#include "frame_reader.hpp"

#include "sys/io.hpp"

#include <algorithm>

namespace dlpool::detail {
namespace {

constexpr std::size_t retained_capacity = 1 << 20;

}  // namespace

FrameReader::Fill FrameReader::fill(int fd) {
  // Compact consumed bytes before reading more, so the buffer holds at most one partial frame
  // plus one read's worth.
  if (start_ > 0) {
    buf_.erase(0, start_);
    start_ = 0;
  }
  // One large result must not pin its buffer for the worker's lifetime.
  if (buf_.empty() && buf_.capacity() > retained_capacity) std::string{}.swap(buf_);
  // One read per call: the caller polls level-triggered, and parsing between reads keeps the
  // buffer at one partial frame however fast a worker writes.
  const std::size_t want = std::max<std::size_t>(64 * 1024, pending_);
  const auto old = buf_.size();
  buf_.resize(old + want);
  const long n = read_some(fd, buf_.data() + old, want);
  buf_.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
  if (n == 0) return Fill::eof;
  return n < 0 ? Fill::drained : Fill::data;
}

bool FrameReader::next(wire::FrameHeader& header, std::string_view& payload) {
  const std::size_t available = buf_.size() - start_;
  if (available < wire::header_size) return false;
  header = wire::decode_header(buf_.data() + start_, max_payload_);
  if (available < wire::header_size + header.length) {
    pending_ = wire::header_size + header.length - available;  // read the rest in one go
    return false;
  }
  pending_ = 0;
  payload = {buf_.data() + start_ + wire::header_size, header.length};
  start_ += wire::header_size + header.length;
  return true;
}

}  // namespace dlpool::detail
