// A worker's life (worker_phase.hpp): the transition table, and WorkerLife on top of it.

#include "worker_phase.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <utility>
#include <vector>

namespace {

using dlpool::detail::allowed;
using dlpool::detail::transition;
using dlpool::detail::WorkerLife;
using dlpool::detail::WorkerPhase;
using enum WorkerPhase;

constexpr WorkerPhase phases[] = {starting, initializing, ready, retiring, exiting, stopping, killed, reaped};

// The table as the header's diagram draws it: every edge the pool may take.
const std::vector<std::pair<WorkerPhase, WorkerPhase>> legal = {
    {starting, initializing}, {initializing, ready},  {starting, retiring},     {initializing, retiring},
    {ready, retiring},        {starting, exiting},    {initializing, exiting},  {ready, exiting},
    {retiring, exiting},      {starting, stopping},   {initializing, stopping}, {ready, stopping},
    {retiring, stopping},     {exiting, stopping},    {starting, killed},       {initializing, killed},
    {ready, killed},          {retiring, killed},     {exiting, killed},        {stopping, killed},
    {starting, reaped},       {initializing, reaped}, {ready, reaped},          {retiring, reaped},
    {exiting, reaped},        {stopping, reaped},     {killed, reaped},
};

bool is_legal(WorkerPhase from, WorkerPhase to) {
  for (const auto& [f, t] : legal)
    if (f == from && t == to) return true;
  return false;
}

TEST(WorkerPhase, EveryLegalTransitionIsAllowed) {
  for (const auto& [from, to] : legal) {
    EXPECT_TRUE(allowed(from, to)) << to_string(from) << " -> " << to_string(to);
    EXPECT_NO_THROW(transition(from, to)) << to_string(from) << " -> " << to_string(to);
  }
}

TEST(WorkerPhase, EveryOtherTransitionIsRefused) {
  int refused = 0;
  for (WorkerPhase from : phases)
    for (WorkerPhase to : phases) {
      if (is_legal(from, to)) continue;
      ++refused;
      EXPECT_FALSE(allowed(from, to)) << to_string(from) << " -> " << to_string(to);
      EXPECT_THROW(transition(from, to), std::logic_error) << to_string(from) << " -> " << to_string(to);
    }
  EXPECT_EQ(refused, 64 - static_cast<int>(legal.size()));
}

TEST(WorkerPhase, SomeIllegalTransitionsByName) {
  EXPECT_FALSE(allowed(ready, starting));       // nothing starts again
  EXPECT_FALSE(allowed(starting, ready));       // not without HELLO
  EXPECT_FALSE(allowed(ready, initializing));   // backwards
  EXPECT_FALSE(allowed(retiring, ready));       // a retiring worker takes no more work
  EXPECT_FALSE(allowed(stopping, exiting));     // SIGTERM sent: it is stopped, not asked
  EXPECT_FALSE(allowed(killed, stopping));      // SIGKILL is final
  EXPECT_FALSE(allowed(reaped, reaped));        // reaped once
  EXPECT_FALSE(allowed(ready, ready));          // no self-loops
}

TEST(WorkerLife, StartsStartingAndRecordsWhereItHasBeen) {
  WorkerLife life;
  EXPECT_EQ(life.phase(), starting);
  EXPECT_TRUE(life.reached(starting));
  EXPECT_FALSE(life.reached(initializing));
  EXPECT_TRUE(life.before(ready));
  life.to(initializing);
  life.to(ready);
  life.to(exiting);  // skips retiring
  EXPECT_EQ(life.phase(), exiting);
  EXPECT_TRUE(life.reached(ready));
  EXPECT_FALSE(life.reached(retiring));
  EXPECT_FALSE(life.before(exiting));
  EXPECT_TRUE(life.before(stopping));
}

TEST(WorkerLife, RefusesAnIllegalTransitionAndStaysWhereItWas) {
  WorkerLife life;
  EXPECT_THROW(life.to(ready), std::logic_error);
  EXPECT_EQ(life.phase(), starting);
  EXPECT_FALSE(life.reached(ready));
  life.to(killed);
  EXPECT_THROW(life.to(stopping), std::logic_error);
  EXPECT_EQ(life.phase(), killed);
}

TEST(WorkerLife, ReachOnItsWayEntersThePhase) {
  WorkerLife life;
  life.reach(initializing);
  EXPECT_EQ(life.phase(), initializing);
  life.reach(initializing);  // a second HELLO changes nothing
  EXPECT_EQ(life.phase(), initializing);
  life.reach(ready);
  EXPECT_EQ(life.phase(), ready);
}

TEST(WorkerLife, LateNewsIsRecordedWithoutMovingBack) {
  WorkerLife life;
  life.to(stopping);  // start timeout
  life.reach(initializing);  // its HELLO read while it is drained
  EXPECT_EQ(life.phase(), stopping);
  EXPECT_TRUE(life.reached(initializing));
  EXPECT_FALSE(life.reached(ready));
  life.reach(ready);
  EXPECT_EQ(life.phase(), stopping);
  EXPECT_TRUE(life.reached(ready));
}

TEST(WorkerLife, LateNewsMustBeProgressTowardsReady) {
  WorkerLife life;
  life.to(stopping);
  EXPECT_THROW(life.reach(ready), std::logic_error);  // ready before initializing
  EXPECT_THROW(life.reach(retiring), std::logic_error);
  EXPECT_EQ(life.phase(), stopping);
}

}  // namespace
