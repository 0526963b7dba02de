#include "frame_dispatch.hpp"

#include <dlpool/wire/bytes.hpp>
#include <dlpool/wire/plugin_report.hpp>

namespace dlpool::detail {

std::string dispatch_frame(TransportEvents& events, Executor& executor, const wire::FrameHeader& header,
                           std::string_view payload, ParsedResult& scratch) {
  try {
    switch (header.kind) {
      case wire::FrameKind::hello: {
        wire::ByteReader in{payload};
        const auto version = in.get<std::uint32_t>("protocol version");
        if (version != wire::protocol_version)
          return "speaks protocol " + std::to_string(version) + ", the host " + std::to_string(wire::protocol_version);
        events.on_ready(executor);
        return {};
      }
      case wire::FrameKind::plugin: events.on_plugin(executor, wire::PluginReport::decode(payload)); return {};
      case wire::FrameKind::retire: {
        wire::ByteReader in{payload};
        events.on_retired(executor, in.get_string("retire reason"));
        return {};
      }
      case wire::FrameKind::result:
        parse_result(payload, header.flags, scratch);
        return events.on_result(executor, {header.job, header.index}, scratch);
      default: return "sent a frame of kind " + std::to_string(static_cast<int>(header.kind));
    }
  } catch (const wire::DecodeError& e) {
    return std::string{"sent a malformed "} + (header.kind == wire::FrameKind::result ? "result" : "frame") + ": " +
           e.what();
  }
}

}  // namespace dlpool::detail
