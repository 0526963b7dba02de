#include "shared_payloads.hpp"

#include <dlpool/wire/bytes.hpp>

#include <cstring>

namespace dlpool::worker {
std::string_view SharedPayloads::payload_of(const wire::FrameHeader& header, std::string_view payload) {
  task_ = {};
  if ((header.flags & wire::flag_shared) == 0) return payload;
  wire::ByteReader in{payload};
  const auto position = in.get<std::uint64_t>("shared position");
  const auto length = in.get<std::uint64_t>("shared length");
  if (in.remaining() != 0) throw wire::DecodeError{"trailing bytes after a shared payload's reference"};
  const auto bytes = arena_.view(detail::SharedArena::Area::tasks, position, length);
  task_ = {position, length};
  if (!bytes)
    throw wire::DecodeError{"a shared payload of " + std::to_string(length) + " bytes at position " +
                            std::to_string(position) + " is outside the arena"};
  return *bytes;
}

void SharedPayloads::done_with_task() noexcept {
  if (task_.length != 0) arena_.release(detail::SharedArena::Area::tasks, task_.position, task_.length);
  task_ = {};
}

void SharedPayloads::share(std::string& frame) {
  if (!arena_ || frame.size() < wire::header_size + detail::shared_payload_threshold) return;
  const std::string_view payload = std::string_view{frame}.substr(wire::header_size);
  const auto position = results_.reserve(payload.size(), arena_.results_taken());
  if (!position) return;  // the host has not taken enough yet: through the pipe
  std::memcpy(arena_.at(detail::SharedArena::Area::results, *position), payload.data(), payload.size());
  results_.commit(*position, payload.size());
  const auto length = static_cast<std::uint64_t>(payload.size());
  frame.resize(wire::header_size);
  wire::put(frame, *position);
  wire::put(frame, length);
  wire::set_frame_flag(frame, wire::flag_shared, true);
  wire::finish_frame(frame);
}

}  // namespace dlpool::worker
