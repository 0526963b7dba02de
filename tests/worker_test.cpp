// dlpool-worker on its own: the host side of the protocol played by the test.

#include "support/worker_process.hpp"

#include <dlpool/wire/codec.hpp>
#include <dlpool/wire/frame.hpp>
#include <dlpool/wire/plugin_report.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>

namespace {

using namespace dlpool;
using test::error_of;
using test::expect_hello;
using test::task_frame;
using test::WorkerProcess;

TEST(Worker, SaysHelloThenRunsAChunkAndExitsAtEof) {
  WorkerProcess worker;
  expect_hello(worker);
  worker.send(task_frame("testkit", "square", "int(int)", {2, 3}, 7, 4));
  const auto reply = worker.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->header.kind, wire::FrameKind::result);
  EXPECT_EQ(reply->header.job, 7u);
  EXPECT_EQ(reply->header.index, 4u);
  wire::ByteReader in{reply->payload};
  EXPECT_EQ(in.get<std::uint8_t>("status"), 0);
  ASSERT_EQ(in.get<std::uint32_t>("count"), 2u);
  wire::BinaryDecoder decoder;
  int value = 0;
  decoder.decode(in.get_string("item"), value);
  EXPECT_EQ(value, 4);
  decoder.decode(in.get_string("item"), value);
  EXPECT_EQ(value, 9);
  worker.close_input();
  const int status = worker.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/// The result of a one-item chunk of ints.
int int_result(const test::Reply& reply) {
  wire::ByteReader in{reply.payload};
  EXPECT_EQ(in.get<std::uint8_t>("status"), 0);
  EXPECT_EQ(in.get<std::uint32_t>("count"), 1u);
  int value = 0;
  wire::BinaryDecoder{}.decode(in.get_string("item"), value);
  return value;
}

TEST(Worker, WithADoorbellItReadsEveryFrameAndEofWhetherRungOrNot) {
  // After a chunk of a millisecond or more, the worker waits on its doorbell and its pipe
  // together (sys/doorbell.hpp). A frame with no ring, rings with no frame, and EOF after a long
  // chunk must all be read as they come.
  WorkerProcess worker{{}, true};
  expect_hello(worker);
  const auto run = [&](std::string_view task, int arg, std::uint32_t index) {
    worker.send(task_frame("testkit", task, "int(int)", {arg}, 1, index));
    const auto reply = worker.receive();
    return reply ? int_result(*reply) : -1;
  };
  EXPECT_EQ(run("spin", 3, 0), 3);
  EXPECT_EQ(run("square", 5, 1), 25) << "a frame after a long chunk, with no ring";
  EXPECT_EQ(run("spin", 3, 2), 3);
  worker.ring();
  worker.ring();
  EXPECT_EQ(run("square", 6, 3), 36) << "a frame after rings of frames already read";
  EXPECT_EQ(run("spin", 3, 4), 3);
  worker.ring();
  EXPECT_EQ(run("square", 7, 5), 49) << "a frame rung before it was written, as the pool does";
  EXPECT_EQ(run("spin", 3, 6), 3);
  worker.close_input();
  const int status = worker.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "EOF after a long chunk";
}

/// `sha256sum FILE`'s digest: an implementation independent of the worker's.
std::string sha256sum(const std::string& path) {
  std::string digest(64, '\0');
  FILE* out = ::popen(("sha256sum '" + path + "'").c_str(), "r");
  if (out == nullptr || std::fread(digest.data(), 1, digest.size(), out) != digest.size()) digest.clear();
  if (out != nullptr) ::pclose(out);
  return digest;
}

TEST(Worker, ReportsEachPluginFileItLoadsBeforeTheFirstResult) {
  WorkerProcess worker;
  expect_hello(worker);
  worker.send(task_frame("testkit", "square", "int(int)", {2}));
  worker.send(task_frame("testkit", "square", "int(int)", {3}));
  const auto report = worker.receive_any();
  ASSERT_TRUE(report);
  ASSERT_EQ(report->header.kind, wire::FrameKind::plugin) << "the report comes before the result";
  const auto plugin = wire::PluginReport::decode(report->payload);
  const std::string path = DLPOOL_TEST_PLUGIN_DIR "/libtestkit.so";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(plugin.name, "testkit");
  EXPECT_EQ(plugin.path, path);
  EXPECT_EQ(plugin.version, "1.0.0");
  EXPECT_EQ(plugin.inode, static_cast<std::uint64_t>(st.st_ino));
  EXPECT_EQ(plugin.sha256, sha256sum(path));
  ASSERT_EQ(worker.receive_any()->header.kind, wire::FrameKind::result);
  ASSERT_EQ(worker.receive_any()->header.kind, wire::FrameKind::result) << "reported once only";
  worker.close_input();
  worker.wait();
}

TEST(Worker, LoadsAPluginOnRequestAndSaysWhyWhenItCannot) {
  WorkerProcess worker;
  expect_hello(worker);
  const auto load = [](std::string_view name, std::uint32_t index) {
    std::string frame;
    wire::begin_frame(frame, wire::FrameKind::load, 0, index);
    wire::put_string(frame, name);
    wire::finish_frame(frame);
    return frame;
  };
  worker.send(load("testkit", 0) + load("unresolved", 1) + load("nosuch", 2));
  const auto loaded = worker.receive_any();
  ASSERT_EQ(loaded->header.kind, wire::FrameKind::plugin);
  EXPECT_EQ(wire::PluginReport::decode(loaded->payload).name, "testkit");
  const auto unresolved = worker.receive_any();
  ASSERT_EQ(unresolved->header.kind, wire::FrameKind::result);
  EXPECT_EQ(unresolved->header.index, 1u);
  const auto [kind, message] = error_of(*unresolved);
  EXPECT_EQ(kind, wire::ErrorKind::plugin_load_failed);
  EXPECT_NE(message.find("undefined symbol"), std::string::npos) << message;
  const auto missing = worker.receive_any();
  EXPECT_EQ(error_of(*missing).first, wire::ErrorKind::plugin_not_found);
  worker.close_input();
  EXPECT_EQ(worker.wait(), 0);
}

TEST(Worker, ReportsRequestErrorsAndKeepsServing) {
  WorkerProcess worker;
  expect_hello(worker);
  struct Case {
    std::string plugin, task, signature;
    wire::ErrorKind kind;
    std::string says;
  };
  const std::vector<Case> cases{
      {"nosuch", "f", "int(int)", wire::ErrorKind::plugin_not_found, "plugin 'nosuch' not found"},
      {"../etc", "f", "int(int)", wire::ErrorKind::plugin_not_found, "invalid plugin name"},
      {"testkit", "nosuch", "int(int)", wire::ErrorKind::task_not_found, "has no task 'nosuch'"},
      {"testkit", "square", "long(int)", wire::ErrorKind::signature_mismatch, "is int(int) in"},
  };
  for (const auto& c : cases) {
    worker.send(task_frame(c.plugin, c.task, c.signature, {1}));
    const auto reply = worker.receive();
    ASSERT_TRUE(reply) << c.says;
    const auto [kind, message] = error_of(*reply);
    EXPECT_EQ(kind, c.kind) << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << message;
  }
  worker.send(task_frame("testkit", "square", "int(int)", {5}));
  const auto reply = worker.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload[0], 0) << "still serving after the errors";
}

TEST(Worker, ExitsCleanlyOnAMalformedFrame) {
  WorkerProcess worker;
  expect_hello(worker);
  std::string frame;
  wire::begin_frame(frame, wire::FrameKind::task);
  wire::finish_frame(frame);
  frame[4] = 99;  // an unknown kind
  worker.send(frame);
  EXPECT_FALSE(worker.receive());
  const int status = worker.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "the worker crashed instead of exiting";
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

TEST(Worker, RefusesAnOversizedFrameBeforeReadingIt) {
  WorkerProcess worker{{"--max-frame", "64"}};
  expect_hello(worker);
  worker.send(task_frame("testkit", "echo", "std::string(std::string)", std::vector<int>(20, 1)));
  EXPECT_FALSE(worker.receive());
  const int status = worker.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

TEST(Worker, ExitsAfterMaxTasks) {
  WorkerProcess worker{{"--max-tasks", "2"}};
  expect_hello(worker);
  for (int i = 0; i < 2; ++i) {
    worker.send(task_frame("testkit", "square", "int(int)", {i}, 1, static_cast<std::uint32_t>(i)));
    ASSERT_TRUE(worker.receive());
  }
  EXPECT_FALSE(worker.receive());
  const int status = worker.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Worker, StopFrameEndsIt) {
  WorkerProcess worker;
  expect_hello(worker);
  std::string frame;
  wire::begin_frame(frame, wire::FrameKind::stop);
  wire::finish_frame(frame);
  worker.send(frame);
  EXPECT_FALSE(worker.receive());
  const int status = worker.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Worker, PluginOutputNeverReachesTheResultPipe) {
  WorkerProcess worker;
  expect_hello(worker);
  worker.send(task_frame("testkit", "chatty", "int(int)", {11}));
  const auto reply = worker.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->header.kind, wire::FrameKind::result);
  EXPECT_EQ(reply->payload[0], 0);
}

}  // namespace
