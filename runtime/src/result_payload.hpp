#pragma once
// The payload of a RESULT frame, as the host reads it (see wire/frame.hpp).

#include <dlpool/wire/frame.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

namespace dlpool::detail {

struct ParsedResult {
  bool ok = true;
  std::vector<std::string_view> items;  // ok: each item's bytes, views into the payload
  wire::ErrorKind kind{};               // error: the record
  std::uint32_t item = 0;
  std::string_view type, message;
  // When its worker began and ended it (frame flag `timed`; 0 if not sent), on that worker's
  // CLOCK_MONOTONIC: the host's steady_clock, unless the worker is on another node.
  std::uint64_t started_ns = 0, finished_ns = 0;
};

/// Throws wire::DecodeError for anything malformed, trailing bytes included. `flags`: the
/// frame header's (wire::flag_timed: run times follow).
ParsedResult parse_result(std::string_view payload, std::uint16_t flags = 0);
/// The same into `into`, whose item vector keeps its capacity from one result to the next.
void parse_result(std::string_view payload, std::uint16_t flags, ParsedResult& into);

}  // namespace dlpool::detail
