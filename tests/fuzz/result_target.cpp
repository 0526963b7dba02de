#include "targets.hpp"

#include "fuzzkit_types.hpp"

#include "errors_internal.hpp"
#include "result_payload.hpp"

#include <dlpool/pool.hpp>

#include <array>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

namespace dlpool::fuzz {
namespace {

/// Decodes every item of a chunk as R, the way a Task<R(...)>'s job does on the result thread.
template <class R>
void decode_as(std::span<const std::string_view> items) {
  detail::decode_items<detail::CallCodec<Task<R()>>>(0, items, [](std::size_t, auto&&) {});
}

using Decode = void (*)(std::span<const std::string_view>);
// The result types of fuzzkit's tasks (so seeds from real answers decode) and then some.
constexpr Decode decoders[] = {
    &decode_as<int>,
    &decode_as<std::string>,
    &decode_as<std::uint64_t>,
    &decode_as<std::map<std::string, int>>,
    &decode_as<fuzzkit::Point>,
    &decode_as<fuzzkit::Record>,
    &decode_as<std::set<std::string>>,
    &decode_as<unsigned long>,
    &decode_as<std::optional<std::string>>,
    &decode_as<std::tuple<int, std::string, double>>,
    &decode_as<std::array<char, 4>>,
    &decode_as<void>,
    &decode_as<std::vector<std::vector<std::string>>>,
    &decode_as<std::vector<bool>>,
    &decode_as<std::pair<std::string, std::vector<double>>>,
    &decode_as<std::map<int, std::set<std::string>>>,
};

}  // namespace

void result(std::string_view input) {
  if (input.empty()) return;
  const auto type = static_cast<std::uint8_t>(input.front()) % std::size(decoders);
  input.remove_prefix(1);
  try {
    const auto parsed = detail::parse_result(input);
    if (parsed.ok) return decoders[type](parsed.items);
    const detail::TaskRef task{"fuzzkit", "task", "int()", wire::Codec::binary, std::nullopt};
    const auto error = detail::remote_error(parsed.kind, parsed.type, parsed.message, task, parsed.item, 4242);
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {  // what the caller of get() receives
      (void)std::string{e.what()};
    }
  } catch (const wire::DecodeError&) {  // a protocol error: the host ends that worker
  } catch (const EncodingError&) {      // an item that does not decode: that call fails
  }
}

}  // namespace dlpool::fuzz
