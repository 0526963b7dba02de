#include "result_payload.hpp"

#include <string>

namespace dlpool::detail {

ParsedResult parse_result(std::string_view payload, std::uint16_t flags) {
  ParsedResult r;
  parse_result(payload, flags, r);
  return r;
}

void parse_result(std::string_view payload, std::uint16_t flags, ParsedResult& r) {
  r.started_ns = r.finished_ns = 0;
  if ((flags & wire::flag_timed) != 0) {
    if (payload.size() < wire::run_times_size) throw wire::DecodeError{"a timed result without its run times"};
    wire::ByteReader times{payload.substr(payload.size() - wire::run_times_size)};
    r.started_ns = times.get<std::uint64_t>("run start");
    r.finished_ns = times.get<std::uint64_t>("run end");
    if (r.finished_ns < r.started_ns) throw wire::DecodeError{"a result that ended before it started"};
    payload.remove_suffix(wire::run_times_size);
  }
  wire::ByteReader in{payload};
  r.ok = true;
  r.items.clear();
  const auto status = in.get<std::uint8_t>("result status");
  if (status == static_cast<std::uint8_t>(wire::Status::ok)) {
    const auto count = in.get<std::uint32_t>("result count");
    if (count > in.remaining() / sizeof(std::uint32_t)) throw wire::DecodeError{"result count exceeds the payload"};
    r.items.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) r.items.push_back(in.get_string("result item"));
  } else if (status == static_cast<std::uint8_t>(wire::Status::error)) {
    r.ok = false;
    r.kind = static_cast<wire::ErrorKind>(in.get<std::uint8_t>("error kind"));
    r.item = in.get<std::uint32_t>("error item");
    r.type = in.get_string("error type");
    r.message = in.get_string("error message");
  } else {
    throw wire::DecodeError{"unknown result status " + std::to_string(status)};
  }
  if (in.remaining() != 0) throw wire::DecodeError{"trailing bytes after the result"};
}

}  // namespace dlpool::detail
