#pragma once
// The frame: the unit of everything that crosses a worker's pipes.
//
//   u32 length | u16 kind | u16 flags | u64 job | u32 index | length bytes of payload
//
// Payloads by kind (strings are u32-length-prefixed, see bytes.hpp):
//   hello   u32 protocol, u32 pid                                           worker -> host, first
//   init    same as task, one item: the initializer call                    host -> worker
//   task    u8 codec, str plugin, str task, str signature, items            host -> worker
//   result  u8 status; ok: items; error: u8 kind, u32 item, str type, str message   worker -> host
//   stop    empty: finish and exit                                          host -> worker
//   load    str plugin: load it now (a probe); answered by `plugin` or an error result
//                                                                          host -> worker
//   plugin  str name, str path, str version, u64 inode, str sha256 (hex): a plugin file the
//           worker has just loaded, sent before the answer that needed it    worker -> host
//   retire  str reason: the worker exits after the answer before it, and starts nothing more
//           (its resident memory went over max_memory_per_child, or a task ran out of memory
//           under its memory limit)                                          worker -> host
// where items = u32 count, then count x (u32 size, bytes).
// A result whose header has flag `timed` ends with u64 started, u64 finished: when the worker
// began and ended the chunk, in nanoseconds of its CLOCK_MONOTONIC (the host's steady_clock on
// the same machine), after the payload above. Every worker of protocol 4 sends them.
// `job` and `index` (chunk number) are echoed by the result so the host can check the pairing.

#include <dlpool/wire/bytes.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dlpool::wire {

inline constexpr std::uint32_t protocol_version = 4;  // 4: results carry run times (flag timed)
inline constexpr std::size_t header_size = 20;
inline constexpr std::size_t job_offset = 8;  // of the header's u64 job field
/// Default bound on one frame's payload; both sides check it before allocating.
inline constexpr std::uint32_t default_max_frame = 256u << 20;

enum class FrameKind : std::uint16_t {
  hello = 1,
  init = 2,
  task = 3,
  result = 4,
  stop = 5,
  load = 6,
  plugin = 7,
  retire = 8
};

/// Header flags.
inline constexpr std::uint16_t flag_timed = 1;  // result: run times follow the payload
// task: its caller blocks on the answer, and is likely to send its next call at once; the worker
// then watches its pipe for a moment after answering (see runtime/worker/frame_input.cpp).
inline constexpr std::uint16_t flag_awaited = 2;
// Any frame between a host and a local worker: its payload is in their shared arena (see
// runtime/src/sys/shared_arena.hpp), and the pipe carries only u64 position, u64 length.
inline constexpr std::uint16_t flag_shared = 4;
inline constexpr std::size_t shared_reference_size = 16;
// hello: the worker has mapped its arena, and may be sent payloads through it.
inline constexpr std::uint16_t flag_arena = 8;
inline constexpr std::size_t run_times_size = 16;

enum class Codec : std::uint8_t { binary = 0, json = 1 };

enum class Status : std::uint8_t { ok = 0, error = 1 };

/// Why a chunk failed; the host maps each kind to its exception type.
enum class ErrorKind : std::uint8_t {
  task_exception = 1,      // the task threw
  bad_arguments = 2,       // the arguments did not decode as the task's parameter types
  bad_result = 3,          // the result could not be encoded
  plugin_not_found = 4,
  plugin_load_failed = 5,  // dlopen failed or the manifest is missing or of another ABI
  task_not_found = 6,
  signature_mismatch = 7,
  bad_request = 8,         // a malformed task frame
  resource_limit = 9,      // the task ran out of memory under the worker's memory limit
};

struct FrameHeader {
  std::uint32_t length = 0;
  FrameKind kind{};
  std::uint16_t flags = 0;
  std::uint64_t job = 0;
  std::uint32_t index = 0;
};

/// Starts a frame at the end of `out` and returns where it starts; finish_frame() patches the
/// length once the payload has been appended. Building in place means a payload is never copied
/// into a frame, and several frames can share one buffer (one write).
inline std::size_t append_frame(std::string& out, FrameKind kind, std::uint64_t job = 0, std::uint32_t index = 0) {
  const auto start = out.size();
  put(out, std::uint32_t{0});
  put(out, static_cast<std::uint16_t>(kind));
  put(out, std::uint16_t{0});
  put(out, job);
  put(out, index);
  return start;
}

/// As append_frame, into an emptied `out`.
inline void begin_frame(std::string& out, FrameKind kind, std::uint64_t job = 0, std::uint32_t index = 0) {
  out.clear();
  append_frame(out, kind, job, index);
}

inline void finish_frame(std::string& out, std::size_t start = 0) {
  const auto length = static_cast<std::uint32_t>(out.size() - start - header_size);
  std::memcpy(out.data() + start, &length, sizeof length);
}

/// Sets `flag` in the header of the frame at `start` in `frame`, or clears it.
inline void set_frame_flag(std::string& frame, std::uint16_t flag, bool on, std::size_t start = 0) {
  std::uint16_t flags;
  std::memcpy(&flags, frame.data() + start + 6, sizeof flags);
  flags = on ? static_cast<std::uint16_t>(flags | flag) : static_cast<std::uint16_t>(flags & ~flag);
  std::memcpy(frame.data() + start + 6, &flags, sizeof flags);
}

/// Appends a chunk's run times to the complete result frame `out` (see flag_timed).
inline void append_run_times(std::string& out, std::uint64_t started_ns, std::uint64_t finished_ns) {
  put(out, started_ns);
  put(out, finished_ns);
  set_frame_flag(out, flag_timed, true);
  finish_frame(out);
}

/// Where a frame's payload lies in the shared arena (flag_shared).
struct SharedReference {
  std::uint64_t position = 0, length = 0;
};

/// Ends the frame at `start` in `out`, so far a header alone, as a reference to its payload in
/// the shared arena.
inline void finish_shared_frame(std::string& out, std::size_t start, SharedReference at) {
  put(out, at.position);
  put(out, at.length);
  set_frame_flag(out, flag_shared, true, start);
  finish_frame(out, start);
}

/// The reference a flag_shared frame's payload is. Throws DecodeError unless it is exactly one.
inline SharedReference get_shared_reference(std::string_view payload) {
  ByteReader in{payload};
  SharedReference at;
  at.position = in.get<std::uint64_t>("shared position");
  at.length = in.get<std::uint64_t>("shared length");
  if (in.remaining() != 0) throw DecodeError{"trailing bytes after a shared payload's reference"};
  return at;
}

/// Decodes the fixed header. Throws DecodeError for an unknown kind or an over-long payload,
/// before the caller allocates anything for it.
inline FrameHeader decode_header(const char* raw, std::uint32_t max_payload) {
  ByteReader in{raw, header_size};
  FrameHeader h;
  h.length = in.get<std::uint32_t>("frame length");
  const auto kind = in.get<std::uint16_t>("frame kind");
  h.flags = in.get<std::uint16_t>("frame flags");
  h.job = in.get<std::uint64_t>("frame job");
  h.index = in.get<std::uint32_t>("frame index");
  if (kind < static_cast<std::uint16_t>(FrameKind::hello) || kind > static_cast<std::uint16_t>(FrameKind::retire))
    throw DecodeError{"unknown frame kind " + std::to_string(kind)};
  h.kind = static_cast<FrameKind>(kind);
  if (h.length > max_payload)
    throw DecodeError{"frame of " + std::to_string(h.length) + " bytes exceeds the limit of " +
                      std::to_string(max_payload)};
  return h;
}

/// Appends an items block: a count, then each item with its size. `items` is any range of
/// string-like values.
template <class Range>
void put_items(std::string& out, const Range& items) {
  put(out, static_cast<std::uint32_t>(std::size(items)));
  for (const auto& item : items) put_string(out, item);
}

}  // namespace dlpool::wire
