#include "shared_payloads.hpp"

#include <cstring>
#include <utility>

namespace dlpool::worker {
namespace {

/// `frame`, whose payload is at `at` in the result area now, made the reference to it.
void refer_to(std::string& frame, wire::SharedReference at) {
  frame.resize(wire::header_size);
  wire::finish_shared_frame(frame, 0, at);
}

}  // namespace

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

bool SharedPayloads::append(std::string& frame, std::string_view bytes) {
  if (!building_) {
    if (!arena_ || bytes.size() < detail::shared_payload_threshold) return false;
    const std::string_view before = std::string_view{frame}.substr(wire::header_size);
    const auto region = results_.reserve_open(before.size() + bytes.size(), arena_.results_taken());
    if (!region) return false;  // the host has not taken enough yet: in the frame, as before
    building_ = Building{region->position, region->room, before.size(), frame.size()};
    std::memcpy(arena_.at(detail::SharedArena::Area::results, region->position), before.data(), before.size());
  } else if (building_->room - building_->written < bytes.size()) {
    gather(frame);  // the rest does not fit: the whole answer in the frame, as before
    return false;
  }
  put(bytes);
  return true;
}

void SharedPayloads::put(std::string_view bytes) {
  std::memcpy(arena_.at(detail::SharedArena::Area::results, building_->position + building_->written), bytes.data(),
              bytes.size());
  building_->written += bytes.size();
}

std::size_t SharedPayloads::payload_size(const std::string& frame) const noexcept {
  return building_ ? building_->written + (frame.size() - building_->split) : frame.size() - wire::header_size;
}

void SharedPayloads::gather(std::string& frame) {
  if (!building_) return;
  const auto building = *std::exchange(building_, std::nullopt);
  const auto after = frame.substr(building.split);
  const auto held = building.split - wire::header_size;  // the bytes the frame already had
  frame.resize(building.split);
  frame.append(arena_.at(detail::SharedArena::Area::results, building.position + held), building.written - held);
  frame += after;
}

void SharedPayloads::answer(std::string& frame) {
  // The chunk has run and its answer is built: its argument's pages past the area's first
  // megabytes are given back.
  if (task_.length != 0) arena_.release(detail::SharedArena::Area::tasks, task_.position, task_.length);
  task_ = {};
  if (building_) {
    const std::string_view after = std::string_view{frame}.substr(building_->split);
    if (building_->room - building_->written >= after.size()) {
      put(after);
      const wire::SharedReference at{building_->position, building_->written};
      results_.commit(at.position, at.length);
      building_.reset();
      return refer_to(frame, at);
    }
    gather(frame);
  }
  if (!arena_ || frame.size() < wire::header_size + detail::shared_payload_threshold) return;
  const std::string_view payload = std::string_view{frame}.substr(wire::header_size);
  const auto position = arena_.write(detail::SharedArena::Area::results, results_, arena_.results_taken(), payload);
  if (!position) return;  // the host has not taken enough yet: through the pipe
  refer_to(frame, {*position, payload.size()});
}

}  // namespace dlpool::worker
