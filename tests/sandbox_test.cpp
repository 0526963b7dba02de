// The opt-in sandbox (PoolOptions::sandbox): what a task in it may no longer do to the processes
// around it, and what it still may.

#include "support/pool_fixture.hpp"

#include <cerrno>
#include <csignal>

#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace dlpool;
using test::options;

using test::square;

const Task<int(int, int)> signal_process{"hostile", "signal_process"};
const Task<int()> signal_own_child{"hostile", "signal_own_child"};
const Task<int()> raise_self{"hostile", "raise_self"};
const Task<int(int)> trace_process{"hostile", "trace_process"};
const Task<int(int)> open_socket{"hostile", "open_socket"};

TEST(Sandbox, OffATaskReachesTheHost) {
  // What the sandbox is for: without it a task can signal (and trace) the host.
  Pool pool{options(1)};
  EXPECT_EQ(pool.apply(signal_process, static_cast<int>(::getpid()), 0), 0);
  pool.close();
  pool.join();
}

TEST(Sandbox, OnATaskMaySignalOnlyItselfItsGroupAndItsChildren) {
  auto o = options(1);
  o.sandbox = dlpool::Sandbox::on;
  Pool pool{o};
  const int host = static_cast<int>(::getpid());
  EXPECT_EQ(pool.apply(signal_process, host, 0), EPERM) << "the host";
  EXPECT_EQ(pool.apply(signal_process, 1, 0), EPERM) << "init";
  EXPECT_EQ(pool.apply(signal_process, -1, 0), EPERM) << "every process";
  EXPECT_EQ(pool.apply(signal_process, -::getpgrp(), 0), EPERM) << "the host's process group";
  EXPECT_EQ(pool.apply(signal_process, 0, 0), 0) << "its own group";
  EXPECT_EQ(pool.apply(signal_own_child), 0);
  EXPECT_EQ(pool.apply(raise_self), 1);
  EXPECT_EQ(pool.apply(trace_process, host), EPERM);
  const Task<int(int)> join_group{"hostile", "join_group"};
  EXPECT_EQ(pool.apply(join_group, ::getpgrp()), EPERM) << "into the host's process group";
  EXPECT_EQ(pool.apply(join_group, 0), 0) << "into a group of its own";
  EXPECT_EQ(pool.apply(open_socket, AF_INET), 0) << "networking stays";
  EXPECT_EQ(pool.apply(square, 9), 81);
  pool.close();
  pool.join();
}

TEST(Sandbox, NoNetworkRefusesSocketsButUnixOnes) {
  auto o = options(1);
  o.sandbox = dlpool::Sandbox::no_network;
  Pool pool{o};
  EXPECT_EQ(pool.apply(open_socket, AF_INET), EPERM);
  EXPECT_EQ(pool.apply(open_socket, AF_INET6), EPERM);
  EXPECT_EQ(pool.apply(open_socket, AF_VSOCK), EPERM);
  EXPECT_EQ(pool.apply(open_socket, AF_UNIX), 0);
  EXPECT_EQ(pool.apply(signal_process, static_cast<int>(::getpid()), 0), EPERM);
  pool.close();
  pool.join();
}

}  // namespace
