// The fork server (`dlpool-worker --fork-server` and detail::ForkServer): workers made by
// cloning a started worker are this process's children and serve like spawned ones; a request
// it cannot serve is refused without harm; a pool whose server is gone spawns its workers.

#include "support/pool_fixture.hpp"
#include "support/process_census.hpp"
#include "support/read_exact.hpp"

#include "sys/child_process.hpp"
#include "sys/fork_server.hpp"
#include "sys/io.hpp"
#include "sys/sanitizers.hpp"

#include <dlpool/pool.hpp>
#include <dlpool/wire/codec.hpp>
#include <dlpool/wire/frame.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/wait.h>

namespace {

using namespace dlpool;
using namespace std::chrono_literals;
using detail::ChildProcess;
using detail::UniqueFd;

const std::vector<std::string> worker_argv{DLPOOL_BIN_DIR "/dlpool-worker", "--plugin-path", DLPOOL_TEST_PLUGIN_DIR};

/// The host's ends of one worker's pipes, and the worker's ends to hand over.
struct Channel {
  detail::Pipe tasks = detail::make_pipe();
  detail::Pipe results = detail::make_pipe();
  [[nodiscard]] std::vector<int> worker_ends() const { return {tasks.read.get(), results.write.get()}; }
};

wire::FrameHeader read_frame(int fd, std::string& payload) {
  char raw[wire::header_size];
  EXPECT_TRUE(test::read_exact(fd, raw, sizeof raw));
  const auto header = wire::decode_header(raw, wire::default_max_frame);
  payload.resize(header.length);
  test::read_exact(fd, payload.data(), payload.size());
  return header;
}

void expect_hello(Channel& channel, int pid) {
  std::string payload;
  ASSERT_EQ(read_frame(channel.results.read.get(), payload).kind, wire::FrameKind::hello);
  wire::ByteReader hello{payload};
  hello.get<std::uint32_t>("protocol");
  EXPECT_EQ(static_cast<int>(hello.get<std::uint32_t>("pid")), pid);
}

/// square(n) answered with n * n.
void expect_square(Channel& channel, int n) {
  std::string payload;
  std::string frame;
  wire::begin_frame(frame, wire::FrameKind::task, 1, 0);
  wire::put(frame, static_cast<std::uint8_t>(wire::Codec::binary));
  wire::put_string(frame, "testkit");
  wire::put_string(frame, "square");
  wire::put_string(frame, "int(int)");
  wire::put(frame, std::uint32_t{1});
  wire::BinaryEncoder encoder;
  encoder.append_item(frame, n);
  wire::finish_frame(frame);
  ASSERT_TRUE(detail::write_all(channel.tasks.write.get(), frame));
  wire::FrameHeader header;
  while ((header = read_frame(channel.results.read.get(), payload)).kind == wire::FrameKind::plugin) {
  }
  ASSERT_EQ(header.kind, wire::FrameKind::result);
  wire::ByteReader result{payload};
  EXPECT_EQ(result.get<std::uint8_t>("status"), static_cast<std::uint8_t>(wire::Status::ok));
  EXPECT_EQ(result.get<std::uint32_t>("count"), 1u);
  int value = 0;
  wire::BinaryDecoder decoder;
  decoder.decode(result.get_string("item"), value);
  EXPECT_EQ(value, n * n);
}

const Task<int()> worker_pid{"testkit", "pid"};

/// The one child of this process besides a one-worker pool's `worker`: the pool's fork server;
/// 0 if there is not exactly one.
int fork_server_beside(int worker) {
  auto others = test::child_pids();
  std::erase(others, worker);
  return others.size() == 1 ? others[0] : 0;
}

class ForkServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (detail::built_with_sanitizer) GTEST_SKIP() << "sanitizer builds spawn every worker (no fork server)";
    detail::block_sigpipe_in_this_thread();
  }
};

TEST_F(ForkServerTest, MakesWorkersThatAreChildrenOfThisProcessAndServe) {
  detail::ForkServer server{10s};
  std::vector<int> pids;
  for (int n : {3, 4}) {
    Channel channel;
    auto worker = server.spawn(worker_argv, channel.worker_ends());
    ASSERT_TRUE(worker) << "the fork server made no worker";
    channel.tasks.read.reset();
    channel.results.write.reset();
    EXPECT_EQ(test::parent_of(worker->pid()), static_cast<int>(::getpid()));
    expect_hello(channel, worker->pid());
    expect_square(channel, n);
    pids.push_back(worker->pid());
    channel.tasks.write.reset();  // EOF: the worker's sentinel
    const int status = worker->reap();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  EXPECT_NE(pids[0], pids[1]);
  EXPECT_EQ(test::child_pids().size(), 1u) << "the server alone";
  server.stop();
  EXPECT_TRUE(test::child_pids().empty());
  Channel channel;
  EXPECT_FALSE(server.spawn(worker_argv, channel.worker_ends())) << "a stopped server makes nothing";
}

TEST_F(ForkServerTest, PlacesAThirdDescriptorAtFd5ForTheWorkersDoorbell) {
  detail::ForkServer server{10s};
  Channel channel;
  const auto doorbell = detail::make_eventfd();
  auto fds = channel.worker_ends();
  fds.push_back(doorbell.get());
  auto worker = server.spawn(worker_argv, fds);
  ASSERT_TRUE(worker) << "the fork server made no worker";
  channel.tasks.read.reset();
  channel.results.write.reset();
  expect_hello(channel, worker->pid());  // up: its descriptors are in place
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(worker->pid()) + "/fd/5").string(),
            "anon_inode:[eventfd]");
  expect_square(channel, 3);
  channel.tasks.write.reset();
  EXPECT_TRUE(WIFEXITED(worker->reap()));
}

TEST_F(ForkServerTest, RefusesARequestWithoutTwoDescriptorsThenServesTheNext) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd ours{pair[0]};
  std::optional<ChildProcess> server;
  {
    const UniqueFd theirs{pair[1]};
    auto argv = worker_argv;
    argv.emplace_back("--fork-server");
    server.emplace(ChildProcess::spawn(argv, {theirs.get()}));
  }
  const auto answer = [&] {
    std::int64_t value = 0;
    EXPECT_EQ(::recv(ours.get(), &value, sizeof value, 0), static_cast<ssize_t>(sizeof value));
    return value;
  };
  ASSERT_EQ(::send(ours.get(), "x", 1, MSG_NOSIGNAL), 1);  // no descriptors
  EXPECT_EQ(answer(), -EINVAL);

  Channel channel;
  char byte = 0;
  iovec data{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))]{};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(2 * sizeof(int));
  const auto ends = channel.worker_ends();
  std::memcpy(CMSG_DATA(header), ends.data(), 2 * sizeof(int));
  ASSERT_EQ(::sendmsg(ours.get(), &message, MSG_NOSIGNAL), 1);
  const auto pid = answer();
  ASSERT_GT(pid, 0);
  // The server became the worker; the answer names its clone, the server from now on.
  auto worker = std::move(*server);
  server.reset();
  server.emplace(ChildProcess::adopt(static_cast<int>(pid)));
  EXPECT_EQ(test::parent_of(server->pid()), static_cast<int>(::getpid()));
  channel.tasks.read.reset();
  channel.results.write.reset();
  expect_hello(channel, worker.pid());
  expect_square(channel, 5);

  ours.reset();  // EOF: the server exits, and its worker carries on
  const int status = server->reap();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  expect_square(channel, 6);
  channel.tasks.write.reset();
  EXPECT_TRUE(WIFEXITED(worker.reap()));
}

TEST_F(ForkServerTest, APoolWhoseServerWasKilledSpawnsItsReplacementWorkers) {
  test::let_workers_die_by_signal();
  Pool pool{test::options(1)};
  const int first = pool.apply(worker_pid);
  const int server = fork_server_beside(first);
  ASSERT_GT(server, 0) << "the pool's fork server";
  ASSERT_EQ(::kill(server, SIGKILL), 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  int replacement = first;
  for (int i = 0; i < 1000 && replacement == first; ++i) {  // calls queued before the loss was seen may fail
    try {
      replacement = pool.apply(worker_pid);
    } catch (const WorkerLostError&) {
    }
  }
  EXPECT_NE(replacement, first);
  EXPECT_EQ(test::parent_of(replacement), static_cast<int>(::getpid()));
  pool.close();
  pool.join();
  EXPECT_TRUE(test::child_pids().empty()) << "the dead server is reaped too";
}

TEST_F(ForkServerTest, APoolWhoseServerIsStoppedSpawnsItsReplacementsWithoutWaitingForIt) {
  Pool pool{test::options(1)};
  const int first = pool.apply(worker_pid);
  const int server = fork_server_beside(first);
  ASSERT_GT(server, 0) << "the pool's fork server";
  ASSERT_EQ(::kill(server, SIGSTOP), 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // The stopped server is noticed within a slice of the wait for its answer, given up (killed
  // and reaped) and the replacement spawned. It once held every replacement for its whole
  // answer timeout (10 s); 5 s is only a bound that fails the test instead of hanging it.
  auto replacement = pool.apply_async(worker_pid, {});
  ASSERT_TRUE(replacement.wait(5s)) << "the replacement waited for the stopped fork server";
  EXPECT_NE(replacement.get(), first);
  EXPECT_EQ(test::parent_of(replacement.get()), static_cast<int>(::getpid()));
  EXPECT_NE(::kill(server, 0), 0) << "the stopped server is still there";
  pool.close();
  pool.join();
  EXPECT_TRUE(test::child_pids().empty());
}

}  // namespace
