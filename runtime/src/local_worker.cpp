#include "local_worker.hpp"

#include <dlpool/wire/bytes.hpp>

#include <algorithm>
#include <vector>

namespace dlpool::detail {
namespace {

bool large(std::string_view frame) noexcept { return frame.size() >= wire::header_size + shared_payload_threshold; }

}  // namespace

bool LocalWorker::send(std::span<const std::string_view> frames) {
  // Large payloads are written into the arena and their frames rewritten as references to it;
  // `references` is reserved up front, so the views into it stay valid as it fills.
  std::vector<std::string_view> rewritten;
  std::string references;
  if (arena_mapped.load(std::memory_order_acquire) && std::ranges::any_of(frames, large)) {
    rewritten.assign(frames.begin(), frames.end());
    references.reserve(frames.size() * (wire::header_size + wire::shared_reference_size));
    for (auto& frame : rewritten)
      if (const auto at = references.size(); large(frame) && share(frame, references))
        frame = std::string_view{references}.substr(at);
    frames = rewritten;
  }
  std::size_t bytes = 0;
  for (const auto& frame : frames) bytes += frame.size();
  to_worker_capacity.fit(bytes);
  ring();
  return write_all(to_worker.get(), frames);
}

bool LocalWorker::send_small(std::string_view frame) {
  std::string reference;
  if (large(frame) && arena_mapped.load(std::memory_order_acquire) && share(frame, reference)) frame = reference;
  ring();
  return write_all_without_sigpipe(to_worker.get(), frame);
}

bool LocalWorker::share(std::string_view frame, std::string& out) {
  const auto payload = frame.substr(wire::header_size);
  const auto position =
      arena.write(SharedArena::Area::tasks, task_ring, tasks_freed_.load(std::memory_order_acquire), payload);
  if (!position) return false;
  const auto header = wire::decode_header(frame.data(), std::numeric_limits<std::uint32_t>::max());
  {
    // Before the frame is written: the answer that frees it cannot come sooner.
    std::lock_guard lock{shared_mutex_};
    shared_tasks_.push_back({header.job, header.index, *position + payload.size()});
    shared_pending_.store(shared_tasks_.size(), std::memory_order_release);
  }
  const auto start = out.size();
  out.append(frame.substr(0, wire::header_size));
  wire::finish_shared_frame(out, start, {*position, payload.size()});
  return true;
}

std::optional<std::string_view> LocalWorker::payload_of(const wire::FrameHeader& header, std::string_view payload,
                                                        std::string& why) {
  if ((header.flags & wire::flag_shared) == 0) return payload;
  if (payload.size() != wire::shared_reference_size) {
    why = "sent a shared payload's reference of " + std::to_string(payload.size()) + " bytes";
    return std::nullopt;
  }
  result_ = wire::get_shared_reference(payload);
  const bool mapped = arena_mapped.load(std::memory_order_relaxed);
  auto bytes = mapped ? arena.view(SharedArena::Area::results, result_.position, result_.length) : std::nullopt;
  if (!bytes)
    why = "sent a shared payload of " + std::to_string(result_.length) + " bytes at position " +
          std::to_string(result_.position) +
          (mapped ? ", outside its arena of " + std::to_string(arena.capacity()) + " bytes" : " with no arena mapped");
  return bytes;
}

void LocalWorker::handled(const wire::FrameHeader& header) noexcept {
  // The worker may write over a result once the host has taken it (parsed, its items copied).
  if ((header.flags & wire::flag_shared) == 0) return;
  arena.release(SharedArena::Area::results, result_.position, result_.length);
  arena.results_taken(result_.position + result_.length);
}

void LocalWorker::answered(const wire::FrameHeader& header) noexcept {
  if (header.kind != wire::FrameKind::result || shared_pending_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard lock{shared_mutex_};
  // Answers come in the order sent: a task payload is the first one not yet answered.
  if (!shared_tasks_.empty() && shared_tasks_.front().job == header.job &&
      shared_tasks_.front().index == header.index) {
    tasks_freed_.store(shared_tasks_.front().end, std::memory_order_release);
    shared_tasks_.pop_front();
    shared_pending_.store(shared_tasks_.size(), std::memory_order_release);
  }
}

}  // namespace dlpool::detail
