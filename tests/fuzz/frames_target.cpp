#include "targets.hpp"

#include "frame_input.hpp"
#include "frame_reader.hpp"
#include "result_payload.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/plugin_report.hpp>

#include <algorithm>
#include <cstdint>
#include <system_error>

namespace dlpool::fuzz {
namespace {

/// What the host does with a frame's payload (local_result_loop.cpp's handle_frame, minus routing).
void host_reads(const wire::FrameHeader& header, std::string_view payload) {
  switch (header.kind) {
    case wire::FrameKind::hello: {
      wire::ByteReader in{payload};
      (void)in.get<std::uint32_t>("protocol version");
      break;
    }
    case wire::FrameKind::plugin: (void)wire::PluginReport::decode(payload); break;
    case wire::FrameKind::result: (void)detail::parse_result(payload); break;
    default:  // the host ends a worker that sends anything else
      break;
  }
}

void host_side(std::string_view input, std::uint32_t max_payload, std::size_t piece) {
  piece = std::min<std::size_t>(piece, 32 * 1024);  // well within the pipe's capacity
  auto pipe = detail::make_pipe();
  detail::set_nonblocking(pipe.read.get());
  detail::FrameReader reader{max_payload};
  wire::FrameHeader header;
  std::string_view payload;
  try {
    // The bytes arrive in pieces, as a worker's writes may; each piece is read, then every frame
    // complete so far is handled, as the result handler does.
    for (std::size_t at = 0; at < input.size(); at += piece) {
      (void)detail::write_all(pipe.write.get(), input.substr(at, piece));
      while (reader.fill(pipe.read.get()) == detail::FrameReader::Fill::data)
        while (reader.next(header, payload)) host_reads(header, payload);
    }
    pipe.write.reset();
    while (reader.fill(pipe.read.get()) == detail::FrameReader::Fill::data)
      while (reader.next(header, payload)) host_reads(header, payload);
  } catch (const wire::DecodeError&) {  // a protocol error: the host ends that worker
  }
}

void worker_side(std::string_view input, std::uint32_t max_payload) {
  // All of it fits in the pipe at once: the worker reads with blocking reads.
  input = input.substr(0, 60 * 1024);
  auto pipe = detail::make_pipe();
  (void)detail::write_all(pipe.write.get(), input);
  pipe.write.reset();
  worker::FrameInput frames{pipe.read.get(), max_payload};
  wire::FrameHeader header;
  std::string_view payload;
  try {
    while (frames.next(header, payload))
      if (header.kind == wire::FrameKind::load) {
        wire::ByteReader in{payload};
        (void)in.get_string("plugin name");
      }
  } catch (const wire::DecodeError&) {  // the worker exits with status 2
  }
}

}  // namespace

void frames(std::string_view input) {
  if (input.empty()) return;
  const auto control = static_cast<std::uint8_t>(input.front());
  input.remove_prefix(1);
  constexpr std::uint32_t limits[] = {0, 64, 4096, wire::default_max_frame};
  const auto max_payload = limits[control & 3];
  // The stream arrives in 1 to 64 writes: partial headers and payloads, few syscalls.
  const std::size_t writes = 1 + (control >> 2);
  const std::size_t piece = std::max<std::size_t>(1, input.size() / writes);
  host_side(input, max_payload, piece);
  worker_side(input, max_payload);
}

}  // namespace dlpool::fuzz
