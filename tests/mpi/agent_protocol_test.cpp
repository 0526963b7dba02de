// dlpool-agent against bad input: this binary is rank 0 of `mpirun -n 1 agent_protocol_test : -n 1
// dlpool-agent` (tests/mpi/run_mpi_test.cmake) and speaks the host<->agent protocol
// (mpi/messages.hpp) itself, sending what no host would. The agent must refuse it, say why, and
// keep serving; what it logs is checked by the runner (EXPECT_OUTPUT in tests/CMakeLists.txt).
// The tests run in order, on the one agent: the last shuts it down.

#include "mpi/channel.hpp"
#include "mpi/messages.hpp"

#include <dlpool/wire/frame.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include <sys/wait.h>

namespace dlpool::test {
namespace {

namespace mpi = detail::mpi;
using mpi::Kind;
using Clock = std::chrono::steady_clock;

constexpr int agent = 1;
constexpr std::uint32_t max_frame = 1u << 20;
constexpr auto patience = std::chrono::seconds{5};  // a deadline, never a wait for time to pass

struct Reply {
  Kind kind{};
  std::uint64_t slot = 0;
  std::string payload;
};

/// A frame header claiming `length` payload bytes, followed by `payload` (which may be shorter).
std::string frame(wire::FrameKind kind, std::uint32_t length, std::string_view payload = {}) {
  std::string out;
  wire::append_frame(out, kind);
  std::memcpy(out.data(), &length, sizeof length);
  out += payload;
  return out;
}

/// Whether `pid` is gone, reaped: a zombie would be a worker its agent forgot.
bool gone(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

class MpiAgentProtocol : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    channel = new mpi::Channel{MPI_COMM_WORLD};
    // Before the configuration: refused, so no worker starts (configure() fails on any answer).
    send(mpi::message(Kind::start, 9));
    configure();
  }
  static void TearDownTestSuite() {
    if (!shut_down) send_shutdown();  // a test failed before it: the job must still end
    channel->drain(patience);
    delete channel;
  }

  static void send(std::string message) { channel->send(agent, std::move(message)); }
  /// The host's end of a job: the agent ends its workers and answers bye, then is told to
  /// finalize (1), as in a healthy job.
  static void send_shutdown() {
    shut_down = true;
    send(mpi::message(Kind::shutdown));
    EXPECT_TRUE(await(Kind::bye)) << "the agent did not answer shutdown";
    send(mpi::message(Kind::finalize) + std::string{'\1'});
  }
  static void configure() {
    mpi::AgentConfig config;
    config.plugin_path = {DLPOOL_TEST_PLUGIN_DIR};
    config.max_frame = max_frame;
    config.workers = 1;
    config.heartbeat_ms = 60'000;  // the agent must not give up on a host that is silent between tests
    auto message = mpi::message(Kind::config);
    config.encode(message);
    send(std::move(message));
    const auto hello = await(Kind::agent_hello);
    ASSERT_TRUE(hello);
    wire::ByteReader in{hello->payload};
    EXPECT_FALSE(in.get_string("node").empty());
    EXPECT_EQ(in.get<std::uint32_t>("workers"), 1u);
  }

  /// The agent's next message of `kind` for `slot`, within a few seconds. Heartbeats are skipped;
  /// anything else first is a failure: a refused message must draw no answer.
  static std::optional<Reply> await(Kind kind, std::uint64_t slot = 0) {
    int source = 0;
    std::string bytes;
    for (const auto until = Clock::now() + patience; Clock::now() < until;) {
      channel->complete_sends();
      if (!channel->receive(source, bytes)) {
        std::this_thread::yield();  // MPI has no fd to wait on: the message itself is polled for
        continue;
      }
      const auto header = mpi::decode_header(bytes);
      if (header.kind == Kind::heartbeat) continue;
      Reply reply{header.kind, header.slot, bytes.substr(mpi::message_header)};
      if (reply.kind == kind && reply.slot == slot) return reply;
      ADD_FAILURE() << "the agent sent kind " << static_cast<int>(reply.kind) << " for slot " << reply.slot
                    << " before kind " << static_cast<int>(kind) << " for slot " << slot;
    }
    ADD_FAILURE() << "no message of kind " << static_cast<int>(kind) << " for slot " << slot << " within "
                  << patience.count() << " s";
    return std::nullopt;
  }

  /// Starts a worker in `slot` and checks it is real: its pid, then its HELLO frame, forwarded.
  static int start(std::uint64_t slot) {
    send(mpi::message(Kind::start, slot));
    const auto started = await(Kind::started, slot);
    if (!started) return -1;
    const auto pid = wire::ByteReader{started->payload}.get<std::int32_t>("pid");
    EXPECT_GT(pid, 0);
    const auto frames = await(Kind::frames, slot);
    if (!frames || frames->payload.size() < wire::header_size) {
      ADD_FAILURE() << "no frame from worker " << pid;
      return -1;
    }
    const auto header = wire::decode_header(frames->payload.data(), max_frame);
    EXPECT_EQ(header.kind, wire::FrameKind::hello);
    wire::ByteReader hello{std::string_view{frames->payload}.substr(wire::header_size, header.length)};
    EXPECT_EQ(hello.get<std::uint32_t>("protocol"), wire::protocol_version);
    EXPECT_EQ(hello.get<std::uint32_t>("pid"), static_cast<std::uint32_t>(pid));
    return pid;
  }

  struct Exit {
    int status = -1;
    std::uint64_t chunks = 0;
    std::string refused;  // why the agent ended it, "" if it did not
  };
  static std::optional<Exit> await_exit(std::uint64_t slot) {
    const auto exited = await(Kind::exited, slot);
    if (!exited) return std::nullopt;
    wire::ByteReader in{exited->payload};
    const auto status = in.get<std::int32_t>("status");
    const auto chunks = in.get<std::uint64_t>("chunks");
    return Exit{status, chunks, std::string{in.get_string("refused")}};
  }

  static inline mpi::Channel* channel = nullptr;
  static inline bool shut_down = false;
};

TEST_F(MpiAgentProtocol, RefusesUnknownAndShortMessagesAndKeepsServing) {
  std::string unknown = mpi::message(Kind::heartbeat);
  unknown[0] = 99;
  send(std::move(unknown));
  send(mpi::message(Kind::config).substr(0, 5));  // shorter than the 9-byte header
  send({});
  send(mpi::message(Kind::agent_hello));  // a kind only an agent sends
  // Each is logged and dropped (the runner checks the log): the next config is answered, and
  // nothing comes before that answer.
  configure();
}

TEST_F(MpiAgentProtocol, AMalformedFrameEndsItsWorkerWithTheReason) {
  const struct {
    std::uint64_t slot;
    std::string frames, reason;
  } cases[] = {
      {1, frame(wire::FrameKind::task, max_frame + 1), "exceeds the limit"},
      {2, frame(wire::FrameKind::task, 100, "only ten b"), "a frame cut short"},
      {3, frame(wire::FrameKind::stop, 0) + "short", "a frame cut short"},  // a whole frame, then part of one
      {4, frame(static_cast<wire::FrameKind>(99), 0), "unknown frame kind 99"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.reason);
    const int pid = start(c.slot);
    ASSERT_GT(pid, 0);
    send(mpi::message(Kind::frames, c.slot) + c.frames);
    const auto exit = await_exit(c.slot);
    ASSERT_TRUE(exit);
    EXPECT_TRUE(WIFSIGNALED(exit->status) && WTERMSIG(exit->status) == SIGKILL) << exit->status;
    EXPECT_EQ(exit->chunks, 0u);
    EXPECT_NE(exit->refused.find("refused a malformed frame"), std::string::npos) << exit->refused;
    EXPECT_NE(exit->refused.find(c.reason), std::string::npos) << exit->refused;
    EXPECT_TRUE(gone(pid));
  }
}

TEST_F(MpiAgentProtocol, MessagesForAnUnknownSlotAreIgnored) {
  const int pid = start(5);
  ASSERT_GT(pid, 0);
  send(mpi::message(Kind::frames, 777) + frame(wire::FrameKind::stop, 0));
  send(mpi::message(Kind::halt, 777) + std::string{'\1'});  // now: SIGKILL
  send(mpi::message(Kind::close, 777));
  // The running worker is untouched: it exits only when told, cleanly, and is the only answer
  // (await fails on any other message, one for slot 777 included).
  send(mpi::message(Kind::frames, 5) + frame(wire::FrameKind::stop, 0));
  send(mpi::message(Kind::close, 5));
  const auto exit = await_exit(5);
  ASSERT_TRUE(exit);
  EXPECT_TRUE(WIFEXITED(exit->status) && WEXITSTATUS(exit->status) == 0) << exit->status;
  EXPECT_EQ(exit->refused, "");
}

// Last: the agent is gone afterwards.
TEST_F(MpiAgentProtocol, ShutdownEndsTheWorkersAndTheAgent) {
  const int pid = start(6);
  ASSERT_GT(pid, 0);
  send_shutdown();  // its bye comes once its workers are gone
  EXPECT_TRUE(gone(pid)) << "worker " << pid << " outlived its agent's shutdown";
  // The agent itself is then in MPI_Finalize, which returns once this rank calls it too: mpirun
  // returning (within the runner's timeout) is the proof it exits.
}

}  // namespace
}  // namespace dlpool::test

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  MPI_Finalize();
  return status;
}
