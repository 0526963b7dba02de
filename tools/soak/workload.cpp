#include "workload.hpp"

#include <string>
#include <tuple>
#include <vector>

namespace dlpool::soak {
namespace {

const Task<std::string(std::string, int)> repeat{"text", "repeat"};

/// The arguments of call `i`, and the answer they must get.
std::tuple<std::string, int> args_of(std::uint64_t i) { return {"ab", static_cast<int>(i % 7)}; }
std::string answer_of(std::uint64_t i) {
  std::string out;
  for (std::uint64_t k = 0; k < i % 7; ++k) out += "ab";
  return out;
}

}  // namespace

void run_round(Pool& pool, std::uint64_t round, std::uint64_t size, Tally& tally) {
  const auto first = round * size;
  // Of every round: 10% apply_async, 45% map, 45% imap (chunks of 4), and 3 calls that fail.
  const auto applies = size / 10, mapped = (size - applies) / 2, imapped = size - applies - mapped;
  constexpr int failing = 3;

  std::vector<AsyncResult<std::string>> pending;
  pending.reserve(applies);
  for (std::uint64_t i = 0; i < applies; ++i) {
    auto [s, n] = args_of(first + i);
    pending.push_back(pool.apply_async(repeat, {std::move(s), n}));
  }
  std::vector<AsyncResult<std::string>> failures;
  for (int i = 0; i < failing; ++i) failures.push_back(pool.apply_async(repeat, {"x", -1 - i}));

  std::vector<std::tuple<std::string, int>> map_args;
  map_args.reserve(mapped);
  for (std::uint64_t i = 0; i < mapped; ++i) map_args.push_back(args_of(first + applies + i));
  const auto results = pool.starmap(repeat, map_args);
  for (std::uint64_t i = 0; i < mapped; ++i)
    if (results.at(i) != answer_of(first + applies + i)) ++tally.wrong;
  tally.tasks += mapped;

  std::vector<std::tuple<std::string, int>> imap_args;
  imap_args.reserve(imapped);
  for (std::uint64_t i = 0; i < imapped; ++i) imap_args.push_back(args_of(first + applies + mapped + i));
  std::uint64_t at = 0;
  for (const auto& value : pool.imap(repeat, std::move(imap_args), 4)) {
    if (value != answer_of(first + applies + mapped + at)) ++tally.wrong;
    ++at;
  }
  if (at != imapped) tally.wrong += imapped - at;
  tally.tasks += imapped;

  for (std::uint64_t i = 0; i < applies; ++i)
    if (pending[i].get() != answer_of(first + i)) ++tally.wrong;
  tally.tasks += applies;
  for (auto& f : failures) {
    try {
      (void)f.get();
      ++tally.wrong;
    } catch (const RemoteError&) {
      ++tally.failures;
    }
    ++tally.tasks;
  }
}

}  // namespace dlpool::soak
