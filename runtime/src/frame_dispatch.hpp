#pragma once
// What an executor's frames mean to routing, whatever carried them: each transport reads frames
// its own way (a pipe, an MPI message) and hands each here.

#include "result_payload.hpp"
#include "transport.hpp"

#include <dlpool/wire/frame.hpp>

#include <string>
#include <string_view>

namespace dlpool::detail {

/// Calls the event `header` stands for (hello: on_ready, plugin, retire, result). Returns why the
/// frame breaks the protocol (the transport then ends the executor), or an empty string.
/// `scratch` is reused from frame to frame.
std::string dispatch_frame(TransportEvents& events, Executor& executor, const wire::FrameHeader& header,
                           std::string_view payload, ParsedResult& scratch);

}  // namespace dlpool::detail
