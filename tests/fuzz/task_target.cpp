#include "targets.hpp"

#include "plugin_loader.hpp"
#include "result_payload.hpp"
#include "task_runner.hpp"

#include <stdexcept>
#include <string>

namespace dlpool::fuzz {
namespace {

// Small, so that the answer-too-large path is reachable from small inputs.
constexpr std::uint32_t max_frame = 64 * 1024;

struct Worker {
  // Only fuzzkit is on this search path: whatever plugin name the input holds, nothing else loads.
  worker::PluginLoader loader{{DLPOOL_FUZZ_PLUGIN_DIR}};
  worker::TaskRunner runner{loader, max_frame};
};

Worker& the_worker() {
  static Worker worker;
  return worker;
}

}  // namespace

void init() { (void)the_worker().loader.get("fuzzkit"); }

void task(std::string_view input) {
  auto& worker = the_worker();
  wire::FrameHeader header;
  header.kind = wire::FrameKind::task;
  header.length = static_cast<std::uint32_t>(input.size());
  header.job = 7;
  header.index = 3;
  std::string answer;
  // run() answers every request, a malformed one included: it throws nothing.
  worker.runner.run(header, input, answer);
  (void)worker.loader.take_fresh();

  // The answer is what the host would read: one RESULT frame for the same job and chunk, within
  // the frame limit, whose payload parses.
  if (answer.size() < wire::header_size) throw std::logic_error{"answer shorter than a frame header"};
  const auto reply = wire::decode_header(answer.data(), max_frame);
  if (reply.kind != wire::FrameKind::result || reply.job != header.job || reply.index != header.index ||
      answer.size() != wire::header_size + reply.length)
    throw std::logic_error{"the answer is not the RESULT frame of the request"};
  (void)detail::parse_result(std::string_view{answer}.substr(wire::header_size));
}

}  // namespace dlpool::fuzz
