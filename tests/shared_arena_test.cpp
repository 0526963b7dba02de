// The shared arena's ring and bounds, alone: what a payload's writer may reuse, and what a
// reader accepts from the other side.

#include "sys/shared_arena.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using dlpool::detail::RingWriter;
using dlpool::detail::SharedArena;

/// Reserves `size` bytes now that the reader has freed what is before `freed`, and writes them:
/// their position, or nothing when they do not fit.
std::optional<std::uint64_t> put(RingWriter& ring, std::size_t size, std::uint64_t freed) {
  const auto position = ring.reserve(size, freed);
  if (position) ring.commit(*position, size);
  return position;
}

TEST(RingWriter, HandsOutContiguousRegionsAndReusesThemOnlyOnceFreed) {
  RingWriter ring{100};
  EXPECT_FALSE(ring.reserve(101, 0)) << "larger than the area";
  EXPECT_EQ(put(ring, 40, 0), 0u);
  EXPECT_EQ(put(ring, 40, 0), 40u);
  // 20 bytes left at the end, none before: nothing of 30 fits until the first is freed.
  EXPECT_FALSE(ring.reserve(30, 0));
  // Freed: it would wrap, so it starts the next lap, at offset 0, over the first region.
  EXPECT_EQ(put(ring, 30, 40), 100u);
  EXPECT_FALSE(ring.reserve(20, 40)) << "the second region is still held, and the rest of the lap skipped";
  // A reader's word from the past, or from beyond what was written, is no news.
  EXPECT_FALSE(ring.reserve(20, 10));
  EXPECT_FALSE(ring.reserve(20, 1000));
  EXPECT_EQ(put(ring, 20, 80), 130u);
  // All freed: the next one starts over at the beginning of a lap.
  const auto last = put(ring, 90, 150);
  ASSERT_TRUE(last);
  EXPECT_EQ(*last % 100, 0u);
}

TEST(RingWriter, AnOpenRegionReachesTheLapsEndOrTheReaderAndTakesWhatIsCommitted) {
  RingWriter ring{100};
  auto region = ring.reserve_open(10, 0);
  ASSERT_TRUE(region);
  EXPECT_EQ(region->position, 0u);
  EXPECT_EQ(region->room, 100u) << "empty: the whole area";
  ring.commit(region->position, 30);  // wrote less than it could
  region = ring.reserve_open(10, 0);
  ASSERT_TRUE(region);
  EXPECT_EQ(region->position, 30u);
  EXPECT_EQ(region->room, 70u) << "to the lap's end";
  ring.commit(region->position, 50);
  // 20 left at the end; a region of 30 starts the next lap, up to what the reader still holds.
  EXPECT_FALSE(ring.reserve_open(30, 0)) << "nothing freed";
  region = ring.reserve_open(30, 30);
  ASSERT_TRUE(region);
  EXPECT_EQ(region->position, 100u);
  EXPECT_EQ(region->room, 30u) << "up to the second region, which the reader has not freed";
  EXPECT_FALSE(ring.reserve_open(101, 80)) << "larger than the area";
}

/// Whether this process maps a memfd arena (/proc/self/maps names it "/memfd:dlpool-arena").
bool maps_an_arena() {
  std::ifstream maps{"/proc/self/maps"};
  for (std::string line; std::getline(maps, line);)
    if (line.find("dlpool-arena") != std::string::npos) return true;
  return false;
}

TEST(SharedArena, AForkedChildDoesNotInheritEitherSidesMapping) {
  auto host = SharedArena::create(1 << 20);
  auto worker = SharedArena::open(::dup(host.fd()));
  ASSERT_TRUE(host);
  ASSERT_TRUE(worker);
  ASSERT_TRUE(maps_an_arena());
  // What a task that forks (or an application that forks its host) leaves its child.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(maps_an_arena() ? 1 : 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child maps an arena";
}

TEST(SharedArena, TheWorkersMappingSeesTheHostsBytesAndRefusesWhatIsOutside) {
  auto host = SharedArena::create(1 << 20);
  ASSERT_TRUE(host);
  const auto capacity = host.capacity();
  std::memcpy(host.at(SharedArena::Area::tasks, 5), "hello", 5);
  auto worker = SharedArena::open(::dup(host.fd()));
  ASSERT_TRUE(worker);
  EXPECT_EQ(worker.capacity(), capacity);
  EXPECT_EQ(worker.view(SharedArena::Area::tasks, 5, 5).value_or("none"), "hello");
  EXPECT_EQ(worker.view(SharedArena::Area::tasks, capacity + 5, 5).value_or("none"), "hello") << "the next lap";
  EXPECT_FALSE(host.view(SharedArena::Area::results, capacity - 4, 5)) << "across the end";
  EXPECT_FALSE(host.view(SharedArena::Area::results, 0, capacity + 1));
  EXPECT_FALSE(host.view(SharedArena::Area::results, ~std::uint64_t{0}, ~std::uint64_t{0}));
  worker.results_taken(42);
  EXPECT_EQ(host.results_taken(), 42u);
  // Its size is sealed: no one can shrink it under the other's mapping.
  EXPECT_NE(::ftruncate(host.fd(), 4096), 0);
  // An fd that is no sealed arena is refused.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ::close(pipe_fds[1]);
  EXPECT_FALSE(SharedArena::open(pipe_fds[0]));
}

}  // namespace
