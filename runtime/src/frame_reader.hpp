#pragma once

#include <dlpool/wire/frame.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

namespace dlpool::detail {

/// Reassembles frames from a non-blocking pipe, however the bytes arrive. A frame's payload view
/// stays valid until the next call to fill().
class FrameReader {
 public:
  explicit FrameReader(std::uint32_t max_payload) : max_payload_{max_payload} {}

  enum class Fill { data, drained, eof };
  /// One non-blocking read: `data` when bytes arrived, `drained` when there were none, `eof` when
  /// the writer is gone. Throws std::system_error on a read error.
  Fill fill(int fd);

  /// The next complete frame, if one is buffered. Throws wire::DecodeError for a malformed header
  /// or a payload over the limit, before buffering it.
  bool next(wire::FrameHeader& header, std::string_view& payload);

  /// Bytes of an incomplete frame left over (a worker died mid-write).
  [[nodiscard]] std::size_t partial() const noexcept { return end_ - begin_; }

 private:
  void make_room(std::size_t room);

  std::uint32_t max_payload_;
  std::unique_ptr<char[]> buf_;  // never zeroed: every byte is read into before it is parsed
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;        // bytes [begin_, end_) are read and not yet consumed
  std::size_t end_ = 0;
  std::size_t pending_ = 0;      // bytes still missing from the buffered partial frame
  unsigned small_frames_ = 0;    // frames in a row that fitted the retained capacity
};

/// The whole frame (header and payload) at the front of `bytes`, which holds whole frames back to
/// back (an MPI message of them); drops it from `bytes`, and decodes its header into `header`.
/// Throws wire::DecodeError as wire::decode_header does, and for a frame cut short.
std::string_view take_frame(std::string_view& bytes, std::uint32_t max_payload, wire::FrameHeader& header);

}  // namespace dlpool::detail
