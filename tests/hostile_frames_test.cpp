// Hostile bytes: malformed frames in both directions, frames over the limit, and plugin names
// that try to be paths. Each is refused with an error that names what was wrong, and ends no
// more than it must. (Hostile plugins and tasks: hostile_test.cpp.)

#include "support/pool_fixture.hpp"
#include "support/stderr_capture.hpp"
#include "support/worker_process.hpp"

#include <dlpool/wire/frame.hpp>

#include <algorithm>
#include <csignal>
#include <string>
#include <string_view>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace dlpool;
using namespace std::string_literals;
using test::options;

using test::square;
using test::wait_fifo;
using test::worker_pid;
const Task<int(std::string)> forge{"hostile", "forge"};

std::string frame(wire::FrameKind kind, std::string_view payload, std::uint64_t job = 0, std::uint32_t index = 0,
                  std::uint16_t flags = 0) {
  std::string out;
  wire::begin_frame(out, kind, job, index);
  out += payload;
  wire::finish_frame(out);
  wire::set_frame_flag(out, flags, true);
  return out;
}

/// A frame whose payload is said to be in the worker's shared arena.
std::string shared_frame(wire::FrameKind kind, std::uint64_t position, std::uint64_t length) {
  std::string reference;
  wire::put(reference, position);
  wire::put(reference, length);
  return frame(kind, reference, 0, 0, wire::flag_shared);
}

/// An error record: u32 item, str type, str message.
std::string error_record(std::string_view type, std::string_view message) {
  std::string out;
  wire::put(out, std::uint32_t{0});
  wire::put_string(out, type);
  wire::put_string(out, message);
  return out;
}

/// The pid in a message that starts "worker <pid> ...".
int pid_in(const std::string& message) {
  const auto at = message.find("worker ");
  return at == std::string::npos ? 0 : std::atoi(message.c_str() + at + 7);
}

// --- Frames from a worker -----------------------------------------------------------------------

struct ForgedFrame {
  const char* name;
  std::string bytes;  // what the plugin writes on its worker's result pipe, ahead of the answer
  const char* says;   // in the ProtocolError
};
void PrintTo(const ForgedFrame& f, std::ostream* out) { *out << f.name; }

const std::string ok_empty = "\0\0\0\0\0"s;  // status ok, 0 items

const ForgedFrame forged_frames[] = {
    {"unknown_kind",
     [] {
       auto f = frame(wire::FrameKind::result, ok_empty);
       f[4] = 99;
       return f;
     }(),
     "sent a malformed frame: unknown frame kind 99"},
    // The header alone: refused from it, without waiting for (or making room for) 4 GiB.
    {"over_the_limit", frame(wire::FrameKind::result, "").replace(0, 4, "\xf0\xff\xff\xff"),
     "sent a malformed frame: frame of 4294967280 bytes exceeds the limit of 268435456"},
    {"truncated_result", frame(wire::FrameKind::result, "\0"s),
     "truncated payload: result count needs 4 bytes, 0 left"},
    {"unknown_status", frame(wire::FrameKind::result, "\7"), "unknown result status 7"},
    {"trailing_bytes", frame(wire::FrameKind::result, "\1\1"s + error_record("T", "m") + "x"),
     "trailing bytes after the result"},
    {"more_items_than_bytes", frame(wire::FrameKind::result, "\0\xff\xff\xff\x0f"s),
     "result count exceeds the payload"},
    {"someone_elses_job", frame(wire::FrameKind::result, ok_empty, 999999, 5),
     "answered job 999999 chunk 5, which it was not running"},
    {"an_initializer_answer", frame(wire::FrameKind::result, ok_empty, 0),
     "answered an initializer it was not running"},
    {"a_host_frame", frame(wire::FrameKind::task, ""), "sent a frame of kind 3"},
    {"malformed_plugin_report", frame(wire::FrameKind::plugin, "\5\0\0\0ab"s),
     "truncated payload: plugin name needs 5 bytes, 2 left"},
    {"another_protocol", frame(wire::FrameKind::hello, "\x63\0\0\0\1\0\0\0"s), "speaks protocol 99, the host 4"},
    // Payloads in the shared arena: a reference that reaches outside it is never read.
    {"shared_past_the_arena", shared_frame(wire::FrameKind::result, 0, std::uint64_t{1} << 40),
     "sent a shared payload of 1099511627776 bytes at position 0, outside its arena of 268435456 bytes"},
    {"shared_across_its_end", shared_frame(wire::FrameKind::result, (256u << 20) - 8, 16),
     "sent a shared payload of 16 bytes at position 268435448, outside its arena"},
    {"shared_reference_cut_short", frame(wire::FrameKind::result, "\0\0\0\0\0\0\0\0"s, 0, 0, wire::flag_shared),
     "sent a shared payload's reference of 8 bytes"},
    // Inside the arena, but what is there (zeros, never written) is no answer to its chunk.
    {"shared_garbage", shared_frame(wire::FrameKind::result, 4096, 3), "truncated payload: result count"},
};

class FramesFromAWorker : public test::PoolTest, public ::testing::WithParamInterface<ForgedFrame> {};

TEST_P(FramesFromAWorker, AMalformedOneIsAProtocolErrorThatEndsOnlyThatWorker) {
  const auto& forged = GetParam();
  test::TempDir dir;
  test::Fifo gate{dir.path() / "gate"};
  Pool pool{options(2)};
  const auto pids = pool.worker_pids();
  // One worker is busy until the test says so: the forged frame comes from the other one.
  auto busy = pool.apply_async(wait_fifo, {gate.path(), 5});
  int liar = 0;
  try {
    pool.apply(forge, forged.bytes);
    ADD_FAILURE() << "no ProtocolError";
  } catch (const ProtocolError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(forged.says), std::string::npos) << message;
    EXPECT_NE(message.find("(running hostile.forge, job "), std::string::npos) << message;
    liar = pid_in(message);
  }
  ASSERT_NE(std::ranges::find(pids, liar), pids.end()) << "the error names the worker";
  const int honest = pids[0] == liar ? pids[1] : pids[0];
  const auto now = pool.worker_pids();
  EXPECT_EQ(std::ranges::find(now, liar), now.end()) << "the worker that sent it is gone";
  EXPECT_NE(std::ranges::find(now, honest), now.end()) << "the other worker is untouched";
  gate.release();
  EXPECT_EQ(busy.get(), 5) << "the other worker's task completes";
  EXPECT_EQ(pool.map(square, std::vector{1, 2, 3, 4}), (std::vector{1, 4, 9, 16}));
  pool.close();
  pool.join();
}

INSTANTIATE_TEST_SUITE_P(Forged, FramesFromAWorker, ::testing::ValuesIn(forged_frames),
                         [](const auto& info) { return std::string{info.param.name}; });

TEST(FramesFromAWorker, AHalfFrameStallsOnlyItsChunkUntilItsTimeoutEndsIt) {
  // A header within the limit announcing more than the worker will ever write (its own answer
  // then reads as part of the payload): the host cannot tell a liar from a slow writer, so it
  // waits, but only as long as the task may run.
  Pool pool{options(1)};
  const int pid = pool.apply(worker_pid);
  const auto header_only = frame(wire::FrameKind::result, "").replace(0, 4, "\0\0\x10\0"s);  // 1 MiB
  using namespace std::chrono_literals;
  EXPECT_THROW(pool.apply(forge.with_timeout(200ms), header_only), TaskTimeout);
  EXPECT_NE(pool.apply(worker_pid), pid) << "the worker was replaced";
  pool.close();
  pool.join();
}

// --- Frames into a worker -----------------------------------------------------------------------

struct BadInput {
  const char* name;
  std::string bytes;     // sent on the task pipe after HELLO
  bool close_after;      // then the host's end closes (else it stays open: no waiting for more)
  const char* says;      // on the worker's stderr
  std::vector<std::string> worker_args = {};
};
void PrintTo(const BadInput& b, std::ostream* out) { *out << b.name; }

const BadInput bad_inputs[] = {
    {"unknown_kind",
     [] {
       auto f = frame(wire::FrameKind::stop, "");
       f[4] = 99;
       return f;
     }(),
     false, "unknown frame kind 99"},
    // Refused from the header, before the payload is read: the pipe stays open and nothing follows.
    {"over_its_limit",
     frame(wire::FrameKind::task, std::string(65, 'x')).substr(0, wire::header_size),
     false,
     "frame of 65 bytes exceeds the limit of 64",
     {"--max-frame", "64"}},
    {"over_the_default_limit", frame(wire::FrameKind::task, "").replace(0, 4, "\xff\xff\xff\xff"), false,
     "frame of 4294967295 bytes exceeds the limit of 268435456"},
    {"payload_cut_short", frame(wire::FrameKind::task, std::string(100, 'x')).substr(0, wire::header_size + 10), true,
     "EOF in the middle of a frame"},
    {"header_cut_short", frame(wire::FrameKind::task, "").substr(0, 7), true, "EOF in the middle of a frame"},
    {"a_result_frame", frame(wire::FrameKind::result, ok_empty), false, "unexpected frame kind 4"},
    {"a_hello_frame", frame(wire::FrameKind::hello, "\2\0\0\0\1\0\0\0"s), false, "unexpected frame kind 1"},
};

class FramesIntoAWorker : public ::testing::TestWithParam<BadInput> {};

TEST_P(FramesIntoAWorker, AMalformedOneMakesItExitCleanlySayingWhy) {
  const auto& bad = GetParam();
  test::StderrCapture stderr_of_worker;
  test::WorkerProcess worker{bad.worker_args};
  stderr_of_worker.restore();
  test::expect_hello(worker);
  worker.send(bad.bytes);
  if (bad.close_after) worker.close_input();
  EXPECT_FALSE(worker.receive()) << "no answer";
  const int status = worker.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "died by signal " << WTERMSIG(status) << " instead of exiting";
  EXPECT_EQ(WEXITSTATUS(status), 2);
  const auto text = stderr_of_worker.text();
  EXPECT_NE(text.find("dlpool-worker " + std::to_string(worker.process().pid()) + ": "), std::string::npos) << text;
  EXPECT_NE(text.find(bad.says), std::string::npos) << text;
}

INSTANTIATE_TEST_SUITE_P(Bad, FramesIntoAWorker, ::testing::ValuesIn(bad_inputs),
                         [](const auto& info) { return std::string{info.param.name}; });

/// A TASK payload written by hand: codec, plugin, task, signature, then `rest` (the items block).
std::string task_payload(std::string_view plugin, std::string_view task, std::string_view signature,
                         std::string_view rest, wire::Codec codec = wire::Codec::binary) {
  std::string out;
  wire::put(out, static_cast<std::uint8_t>(codec));
  wire::put_string(out, plugin);
  wire::put_string(out, task);
  wire::put_string(out, signature);
  out += rest;
  return out;
}

/// An items block of one item holding `bytes`.
std::string one_item(std::string_view bytes) {
  std::string out;
  wire::put(out, std::uint32_t{1});
  wire::put_string(out, bytes);
  return out;
}

/// A Cereal binary std::string claiming `length` bytes and holding none of them.
std::string cereal_string_claiming(std::uint64_t length) {
  std::string out;
  wire::put(out, length);
  return out;
}

TEST(FramesIntoAWorker, AMalformedTaskIsAnsweredWithAnErrorAndTheWorkerServesOn) {
  struct Case {
    const char* name;
    std::string payload;
    wire::ErrorKind kind;
    const char* says;
  };
  const std::vector<Case> cases{
      {"truncated", "\0\7\0\0\0test"s, wire::ErrorKind::bad_request, "truncated payload: plugin name needs 7 bytes"},
      {"unknown codec", task_payload("testkit", "square", "int(int)", one_item("")).replace(0, 1, "\x09"),
       wire::ErrorKind::bad_request, "unknown codec 9"},
      {"no items block", task_payload("testkit", "square", "int(int)", ""), wire::ErrorKind::bad_request,
       "task frame has no items block"},
      {"more items than bytes", task_payload("testkit", "square", "int(int)", "\xff\xff\xff\xff"),
       wire::ErrorKind::bad_arguments, "truncated payload: item needs"},
      // Cereal alone would allocate (and zero) 1 GiB for this string before finding it empty.
      {"a string claiming 1 GiB",
       task_payload("testkit", "echo", "std::string(std::string)", one_item(cereal_string_claiming(1u << 30))),
       wire::ErrorKind::bad_arguments, "a length of 1073741824 with only 0 bytes left"},
      {"a string claiming 2^63 bytes",
       task_payload("testkit", "echo", "std::string(std::string)", one_item(cereal_string_claiming(1ull << 63))),
       wire::ErrorKind::bad_arguments, "a length of 9223372036854775808 with only 0 bytes left"},
      {"an argument too short", task_payload("testkit", "square", "int(int)", one_item("\1\2")),
       wire::ErrorKind::bad_arguments, "failed to read 4 bytes: 2 left"},
      {"bytes left over", task_payload("testkit", "square", "int(int)", one_item("\1\0\0\0\0"s)),
       wire::ErrorKind::bad_arguments, "1 of 5 bytes left undecoded"},
      {"JSON nested a million deep",
       task_payload("testkit", "square", "", one_item(std::string(1'000'000, '[') + std::string(1'000'000, ']')),
                    wire::Codec::json),
       wire::ErrorKind::bad_arguments, "nest deeper than 128 levels"},
  };
  test::WorkerProcess worker;
  test::expect_hello(worker);
  for (const auto& c : cases) {
    worker.send(frame(wire::FrameKind::task, c.payload, 1));
    const auto reply = worker.receive();
    ASSERT_TRUE(reply) << c.name << ": the worker ended";
    const auto [kind, message] = test::error_of(*reply);
    EXPECT_EQ(kind, c.kind) << c.name << ": " << message;
    EXPECT_NE(message.find(c.says), std::string::npos) << c.name << ": " << message;
  }
  worker.send(test::task_frame("testkit", "square", "int(int)", {9}));
  const auto reply = worker.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->payload[0], 0) << "still serving";
  worker.close_input();
  EXPECT_EQ(worker.wait(), 0);
}

TEST(Tasks, ASignatureIsComparedBeforeAnyArgumentIsDecoded) {
  test::WorkerProcess worker;
  test::expect_hello(worker);
  // Arguments that could never decode: the answer is about the signature all the same.
  worker.send(frame(wire::FrameKind::task, task_payload("testkit", "square", "long(int)", "\x05\0\0\0garbage"s), 1));
  const auto reply = worker.receive();
  ASSERT_TRUE(reply);
  const auto [kind, message] = test::error_of(*reply);
  EXPECT_EQ(kind, wire::ErrorKind::signature_mismatch) << message;
  worker.close_input();
  EXPECT_EQ(worker.wait(), 0);
}

// --- Frame limits -------------------------------------------------------------------------------

TEST(FrameLimits, TheWorkerIsGivenThePoolsLimitAndAnswersWithinIt) {
  auto o = options(1);
  o.max_frame_bytes = 4096;
  Pool pool{o};
  const int pid = pool.apply(worker_pid);
  // Only the worker can know its answer is too large: it must be holding the pool's limit.
  try {
    (void)pool.apply(Task<std::string(std::string, int)>{"testkit", "repeat"}, "x", 5000);
    ADD_FAILURE() << "no EncodingError";
  } catch (const EncodingError& e) {
    EXPECT_NE(std::string{e.what()}.find("over the frame limit of 4096"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pool.apply(worker_pid), pid) << "the worker lives on";
  pool.close();
  pool.join();
}

// --- Plugin names -------------------------------------------------------------------------------

struct BadName {
  std::string name;
  const char* says;
};

// crash_on_load's static constructor raises SIGSEGV: had any of these names reached dlopen, its
// worker would have died.
const std::vector<BadName> bad_names{
    {"", "it is empty"},
    {std::string(256, 'a'), "it is 256 bytes long, over 255"},
    {"a/b", "it contains '/'"},
    {"../plugins/crash_on_load", "it contains '/'"},
    {DLPOOL_TEST_PLUGIN_DIR "/libcrash_on_load.so", "it contains '/'"},
    {"crash_on_load/", "it contains '/'"},
    {"..", "it contains '..'"},
    {"crash_on_load..", "it contains '..'"},
    {"crash_on_load\0.so"s, "it contains byte 0x00"},
    {"crash_on_load\n", "it contains byte 0x0a"},
    {"crash on load", "it contains ' '"},
    {"crash_on_l\xc3\xb6\x61\x64", "it contains byte 0xc3"},
    {"*", "it contains '*'"},
};

TEST(PluginNames, ABadNameIsRefusedByTheHostBeforeAnyWorkerSeesIt) {
  Pool pool{options(1)};
  const int pid = pool.apply(worker_pid);
  for (const auto& bad : bad_names) {
    try {
      (void)pool.apply_async(Task<int()>{bad.name, "value"}, {});
      ADD_FAILURE() << "no PluginNotFound for " << bad.says;
    } catch (const PluginNotFound& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("invalid plugin name '"), std::string::npos) << message;
      EXPECT_NE(message.find(bad.says), std::string::npos) << message;
      EXPECT_EQ(message.find('\0'), std::string::npos) << "non-printable bytes are escaped";
      EXPECT_LT(message.size(), 300u) << "a long name is shortened";
      EXPECT_EQ(e.plugin(), bad.name);
    }
  }
  EXPECT_EQ(pool.apply(worker_pid), pid);
  // The longest valid name is a name, looked up like any other.
  EXPECT_THROW(pool.apply(Task<int()>{std::string(255, 'a'), "value"}), PluginNotFound);
  EXPECT_EQ(pool.apply(worker_pid), pid);
  pool.close();
  pool.join();
}

TEST(PluginNames, ABadNameIsRefusedByTheWorkerToo) {
  // A host that skipped its own check (or another program on the pipe): the worker checks again
  // before it touches the file system.
  test::WorkerProcess worker;
  test::expect_hello(worker);
  for (const auto& bad : bad_names) {
    worker.send(frame(wire::FrameKind::task, task_payload(bad.name, "value", "int()", one_item("")), 1));
    const auto reply = worker.receive();
    ASSERT_TRUE(reply) << bad.says << ": the worker ended";
    const auto [kind, message] = test::error_of(*reply);
    EXPECT_EQ(kind, wire::ErrorKind::plugin_not_found) << message;
    EXPECT_NE(message.find("invalid plugin name"), std::string::npos) << message;
    EXPECT_NE(message.find(bad.says), std::string::npos) << message;
  }
  worker.send(test::task_frame("testkit", "square", "int(int)", {3}));
  ASSERT_TRUE(worker.receive());
  worker.close_input();
  const int status = worker.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

}  // namespace
