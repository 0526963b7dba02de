#include "shared_payloads.hpp"

namespace dlpool::worker {

std::string_view SharedPayloads::payload_of(const wire::FrameHeader& header, std::string_view payload) {
  task_ = {};
  if ((header.flags & wire::flag_shared) == 0) return payload;
  task_ = wire::get_shared_reference(payload);
  const auto bytes = arena_.view(detail::SharedArena::Area::tasks, task_.position, task_.length);
  if (!bytes)
    throw wire::DecodeError{"a shared payload of " + std::to_string(task_.length) + " bytes at position " +
                            std::to_string(task_.position) + " is outside the arena"};
  return *bytes;
}

void SharedPayloads::answer(std::string& frame) {
  // The chunk has run and its answer is built: its argument's pages past the area's first
  // megabytes are given back.
  if (task_.length != 0) arena_.release(detail::SharedArena::Area::tasks, task_.position, task_.length);
  task_ = {};
  if (!arena_ || frame.size() < wire::header_size + detail::shared_payload_threshold) return;
  const std::string_view payload = std::string_view{frame}.substr(wire::header_size);
  const auto position = arena_.write(detail::SharedArena::Area::results, results_, arena_.results_taken(), payload);
  if (!position) return;  // the host has not taken enough yet: through the pipe
  const wire::SharedReference at{*position, payload.size()};
  frame.resize(wire::header_size);
  wire::finish_shared_frame(frame, 0, at);
}

}  // namespace dlpool::worker
