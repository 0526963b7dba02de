// Large payloads travel through the worker's shared arena instead of its pipes: arguments are
// read where the host wrote them, results come back whole, every size across the threshold and
// past the arena's free room, and a lost worker's arena costs nothing but that worker.

#include "support/pool_fixture.hpp"

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace dlpool;
using test::options;

const Task<std::string(std::string)> echo{"testkit", "echo"};
const Task<std::string(std::string)> echo_view{"testkit", "echo_view"};  // std::string_view in the plugin
const Task<std::string(std::string)> where{"testkit", "where"};
const Task<std::uint64_t(std::vector<unsigned char>)> byte_sum{"testkit", "byte_sum"};  // std::span<const std::byte>
const Task<std::vector<unsigned char>(std::vector<unsigned char>, std::uint64_t)> tail_bytes{"testkit", "tail_bytes"};
const Task<std::string(std::string, std::pair<std::uint64_t, std::uint64_t>)> slice{"testkit", "slice"};
const Task<std::string(std::string, int)> repeated{"testkit", "repeat"};

std::string bytes_of(std::size_t size, unsigned seed) {
  std::mt19937 random{seed};
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(random());
  return out;
}

TEST(SharedPayloads, ALargeArgumentIsReadWhereTheHostWroteIt) {
  Pool pool{options(1)};
  EXPECT_NE(pool.apply(where, bytes_of(1 << 20, 1)).find("dlpool-arena"), std::string::npos)
      << "a 1 MiB argument is read in the shared arena";
  EXPECT_EQ(pool.apply(where, bytes_of(100, 2)).find("dlpool-arena"), std::string::npos)
      << "a small one comes through the pipe";
  pool.close();
  pool.join();
}

TEST(SharedPayloads, EverySizeAcrossTheThresholdComesBackWhole) {
  Pool pool{options(2)};
  constexpr std::size_t threshold = 64 * 1024;
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{1}, threshold - 64, threshold - 1, threshold, threshold + 1, std::size_t{1} << 20,
        (std::size_t{8} << 20) + 3, std::size_t{48} << 20}) {
    const auto bytes = bytes_of(size, static_cast<unsigned>(size));
    EXPECT_EQ(pool.apply(echo, bytes), bytes) << size << " bytes, echo";
    EXPECT_EQ(pool.apply(echo_view, bytes), bytes) << size << " bytes, echo of a view";
  }
  pool.close();
  pool.join();
}

TEST(SharedPayloads, ManyQueuedLargeItemsShareTheArenaAndKeepTheirOrder) {
  // Chunks of one item each, several queued per worker, in areas of 8 MiB: each holds two
  // payloads at most, wraps round, and those that do not fit the room left go through the pipe.
  auto o = options(2);
  o.max_frame_bytes = 8 << 20;
  Pool pool{o};
  std::vector<std::string> items;
  for (unsigned i = 0; i < 64; ++i) items.push_back(bytes_of((std::size_t{3} << 20) + i * 4099, i));
  EXPECT_EQ(pool.map(echo_view, items, 1), items);
  std::vector<std::string> unordered;
  auto results = pool.imap_unordered(echo, items, 1);
  while (auto r = results.next()) unordered.push_back(std::move(*r));
  std::ranges::sort(unordered);
  auto sorted = items;
  std::ranges::sort(sorted);
  EXPECT_EQ(unordered, sorted);
  pool.close();
  pool.join();
}

TEST(SharedPayloads, AChunksLargeResultsAreBuiltInTheArenaAndWhatDoesNotFitOrFailsComesBackWhole) {
  // The worker writes a chunk's answer in its arena from its first large result on (areas of 8
  // MiB here): several large results in one answer, a chunk whose next answer finds no room
  // (through the pipe), one whose results outgrow the area (all of it back in the frame, then
  // over the frame limit: an error, not a crash), and an item that fails after a large result
  // (its error record read from where the answer was being built; a large error record alone
  // is CPython's test_map_no_failfast, in cpython/test_pool.cpp).
  auto o = options(1);
  o.max_frame_bytes = 8 << 20;
  Pool pool{o};
  std::vector<std::string> items;
  for (unsigned i = 0; i < 7; ++i) items.push_back(bytes_of((std::size_t{2} << 20) + i * 4099, 10 + i));
  EXPECT_EQ(pool.map(echo, items, 3), items);
  EXPECT_EQ(pool.map(echo_view, items, 3), items);

  // 3 MiB arguments, 9 MiB of results.
  const std::vector<std::tuple<std::string, int>> thrice(3, {bytes_of(std::size_t{1} << 20, 20), 3});
  try {
    (void)pool.starmap(repeated, thrice, 3);
    ADD_FAILURE() << "9 MiB of results in one answer, over the 8 MiB frame limit";
  } catch (const EncodingError& e) {  // CPython's MaybeEncodingError: the worker carries on
    EXPECT_NE(std::string{e.what()}.find("dlpool::FrameTooLarge: the results take "), std::string::npos) << e.what();
  }

  const auto big = bytes_of(std::size_t{1} << 20, 21);
  using Range = std::pair<std::uint64_t, std::uint64_t>;
  const std::vector<std::tuple<std::string, Range>> calls{{big, Range{0, big.size()}}, {big, Range{big.size() + 1, 1}}};
  try {
    (void)pool.starmap(slice, calls, 2);
    ADD_FAILURE() << "slice past the end throws";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.remote_type(), "std::out_of_range") << e.what();
  }
  // The arena is as good as before all that.
  EXPECT_EQ(pool.map(echo, items, 2), items);
  EXPECT_EQ(pool.apply(echo, big), big);
  pool.close();
  pool.join();
}

TEST(SharedPayloads, ViewParametersAndResultsTakeWhatTheHostSends) {
  Pool pool{options(1)};
  const auto raw = bytes_of(200'000, 7);
  const std::vector<unsigned char> bytes(raw.begin(), raw.end());
  const auto sum = std::accumulate(bytes.begin(), bytes.end(), std::uint64_t{0});
  EXPECT_EQ(pool.apply(byte_sum, bytes), sum);
  EXPECT_EQ(pool.apply(byte_sum, std::vector<unsigned char>{1, 2, 250}), 253u);
  EXPECT_EQ(pool.apply(tail_bytes, bytes, 100'000), std::vector<unsigned char>(bytes.end() - 100'000, bytes.end()));
  EXPECT_EQ(pool.apply(tail_bytes, std::vector<unsigned char>{1, 2, 3}, 2), (std::vector<unsigned char>{2, 3}));
  // A view beside a type Cereal decodes, and views from JSON text (decoded into owned values).
  EXPECT_EQ(pool.apply(slice, raw, std::pair<std::uint64_t, std::uint64_t>{1000, 70'000}), raw.substr(1000, 70'000));
  EXPECT_EQ(pool.apply(JsonTask{"testkit", "echo_view"}, std::string{R"(["a\nb"])"}), R"("a\nb")");
  EXPECT_EQ(pool.apply(JsonTask{"testkit", "byte_sum"}, std::string{"[[1, 2, 250]]"}), "253");
  EXPECT_EQ(pool.apply(JsonTask{"testkit", "tail_bytes"}, std::string{"[[1, 2, 3], 2]"}), "[2,3]");
  pool.close();
  pool.join();
}

TEST(SharedPayloads, AWorkerKilledAfterLargePayloadsIsReplacedAndTheNextOnesGoThrough) {
  Pool pool{options(2)};
  const auto bytes = bytes_of(4 << 20, 3);
  EXPECT_EQ(pool.map(echo, std::vector(4, bytes), 1), std::vector(4, bytes));
  for (const int pid : pool.worker_pids()) ::kill(pid, SIGKILL);
  // A call sent to a worker killed before it started the call is sent again: none fails.
  EXPECT_EQ(pool.map(echo_view, std::vector(6, bytes), 1), std::vector(6, bytes));
  pool.close();
  pool.join();
}

}  // namespace
