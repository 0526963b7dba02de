#pragma once
// A dlpool-worker driven by hand: the test plays the host's side of the protocol on the worker's
// pipes, frame by frame (worker_test, hostile_test).

#include "support/read_exact.hpp"

#include "sys/child_process.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/codec.hpp>
#include <dlpool/wire/frame.hpp>
#include <dlpool/wire/plugin_report.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlpool::test {

struct Reply {
  wire::FrameHeader header;
  std::string payload;
};

/// One worker with the test holding the other ends of its pipes.
class WorkerProcess {
 public:
  /// `with_doorbell`: an eventfd at fd 5 and --doorbell, as the pool gives its workers (ring()).
  explicit WorkerProcess(std::vector<std::string> extra = {}, bool with_doorbell = false) {
    auto tasks = detail::make_pipe();
    auto results = detail::make_pipe();
    std::vector<std::string> argv{DLPOOL_BIN_DIR "/dlpool-worker", "--plugin-path", DLPOOL_TEST_PLUGIN_DIR};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::vector<int> fds{tasks.read.get(), results.write.get()};
    if (with_doorbell) {
      doorbell_ = detail::make_eventfd();
      fds.push_back(doorbell_.get());
      argv.emplace_back("--doorbell");
    }
    process_.emplace(detail::ChildProcess::spawn(argv, fds));
    to_ = std::move(tasks.write);
    from_ = std::move(results.read);
    detail::block_sigpipe_in_this_thread();
  }

  void send(std::string_view frame) { ASSERT_TRUE(detail::write_all(to_.get(), frame)); }
  void close_input() { to_.reset(); }
  void ring() { detail::signal_eventfd(doorbell_.get()); }

  /// The next frame, or nothing at EOF. `plugin` reports are set aside in plugins().
  std::optional<Reply> receive() {
    for (;;) {
      auto r = receive_any();
      if (!r || r->header.kind != wire::FrameKind::plugin) return r;
      plugins_.push_back(wire::PluginReport::decode(r->payload));
    }
  }

  std::optional<Reply> receive_any() {
    char raw[wire::header_size];
    if (!read_exact(from_.get(), raw, sizeof raw)) return std::nullopt;
    Reply r{wire::decode_header(raw, wire::default_max_frame), {}};
    r.payload.resize(r.header.length);
    read_exact(from_.get(), r.payload.data(), r.payload.size());
    return r;
  }

  [[nodiscard]] const std::vector<wire::PluginReport>& plugins() const { return plugins_; }

  int wait() { return process_->reap(); }
  detail::ChildProcess& process() { return *process_; }

 private:
  std::optional<detail::ChildProcess> process_;
  detail::UniqueFd to_, from_, doorbell_;
  std::vector<wire::PluginReport> plugins_;
};

inline std::string task_frame(std::string_view plugin, std::string_view task, std::string_view signature,
                              const std::vector<int>& args, std::uint64_t job = 1, std::uint32_t chunk = 0) {
  std::string frame;
  wire::begin_frame(frame, wire::FrameKind::task, job, chunk);
  wire::put(frame, static_cast<std::uint8_t>(wire::Codec::binary));
  wire::put_string(frame, plugin);
  wire::put_string(frame, task);
  wire::put_string(frame, signature);
  wire::put(frame, static_cast<std::uint32_t>(args.size()));
  wire::BinaryEncoder encoder;
  for (const int a : args) encoder.append_item(frame, a);
  wire::finish_frame(frame);
  return frame;
}

/// Reads an error result: (kind, message).
inline std::pair<wire::ErrorKind, std::string> error_of(const Reply& reply) {
  wire::ByteReader in{reply.payload};
  EXPECT_EQ(in.get<std::uint8_t>("status"), static_cast<std::uint8_t>(wire::Status::error));
  const auto kind = static_cast<wire::ErrorKind>(in.get<std::uint8_t>("kind"));
  in.get<std::uint32_t>("item");
  in.get_string("type");
  return {kind, std::string{in.get_string("message")}};
}

inline void expect_hello(WorkerProcess& worker) {
  const auto hello = worker.receive();
  ASSERT_TRUE(hello);
  ASSERT_EQ(hello->header.kind, wire::FrameKind::hello);
  wire::ByteReader in{hello->payload};
  EXPECT_EQ(in.get<std::uint32_t>("version"), wire::protocol_version);
  EXPECT_EQ(static_cast<int>(in.get<std::uint32_t>("pid")), worker.process().pid());
}

}  // namespace dlpool::test
