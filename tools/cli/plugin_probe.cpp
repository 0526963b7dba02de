#include "plugin_probe.hpp"

#include "pool_setup.hpp"

#include "errors_internal.hpp"
#include "frame_reader.hpp"
#include "result_payload.hpp"
#include "sys/child_process.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/frame.hpp>

#include <poll.h>

namespace dlpool::cli {

wire::PluginReport probe_plugin(const std::string& dir, const std::string& name, std::chrono::milliseconds limit) {
  using Clock = std::chrono::steady_clock;
  auto to_worker = detail::make_pipe();
  auto from_worker = detail::make_pipe();
  auto worker = detail::ChildProcess::spawn({worker_executable(), "--plugin-path", dir},
                                            {to_worker.read.get(), from_worker.write.get()});
  // Only the worker holds these ends now: its death is EOF here, and a write to it EPIPE.
  to_worker.read.reset();
  from_worker.write.reset();
  detail::set_nonblocking(from_worker.read.get());
  const auto who = "probe worker " + std::to_string(worker.pid());

  std::string frame;
  wire::begin_frame(frame, wire::FrameKind::load);
  wire::put_string(frame, name);
  wire::finish_frame(frame);
  // A worker dead already: the read below says how.
  (void)detail::write_all_without_sigpipe(to_worker.write.get(), frame);

  detail::FrameReader reader{wire::default_max_frame};
  const auto deadline = Clock::now() + limit;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{from_worker.read.get(), POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0)
      throw ProbeFailed{who + " did not answer within " + std::to_string(limit.count() / 1000) +
                        " s while loading plugin '" + name + "' (a static constructor that blocks?)"};
    const auto fill = reader.fill(from_worker.read.get());
    wire::FrameHeader header;
    std::string_view payload;
    try {
      while (reader.next(header, payload)) {
        switch (header.kind) {
          case wire::FrameKind::hello: break;
          case wire::FrameKind::plugin: {
            auto report = wire::PluginReport::decode(payload);
            to_worker.write.reset();  // EOF: the worker exits
            worker.reap();
            return report;
          }
          case wire::FrameKind::result: throw ProbeFailed{std::string{detail::parse_result(payload).message}};
          default: throw ProbeFailed{who + " sent a frame of kind " + std::to_string(static_cast<int>(header.kind))};
        }
      }
    } catch (const wire::DecodeError& e) {
      throw ProbeFailed{who + " sent a malformed frame: " + e.what()};
    }
    if (fill == detail::FrameReader::Fill::eof)
      throw ProbeFailed{who + " " + detail::describe_exit(worker.reap()) + " while loading plugin '" + name + "'"};
  }
}

}  // namespace dlpool::cli
