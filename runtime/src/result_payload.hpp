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
};

/// Throws wire::DecodeError for anything malformed, trailing bytes included.
ParsedResult parse_result(std::string_view payload);
/// The same into `into`, whose item vector keeps its capacity from one result to the next.
void parse_result(std::string_view payload, ParsedResult& into);

}  // namespace dlpool::detail
