#include "local_result_loop.hpp"

#include "frame_dispatch.hpp"
#include "log/log.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/frame.hpp>

#include <iterator>
#include <utility>

#include <sys/epoll.h>

namespace dlpool::detail {

LocalResultLoop::LocalResultLoop(TransportEvents& events)
    : events_{events}, epoll_{make_epoll()}, wake_{make_eventfd()} {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up; a worker's is its LocalWorker
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
}

void LocalResultLoop::watch(std::shared_ptr<LocalWorker> worker) {
  {
    std::lock_guard lock{mutex_};
    to_watch_.push_back(std::move(worker));
  }
  wake();
}

void LocalResultLoop::finalize(std::shared_ptr<LocalWorker> worker) {
  std::lock_guard lock{mutex_};
  to_finalize_.push_back(std::move(worker));
  // The reaper wakes the loop once for all it reaped in a pass (wake()).
}

void LocalResultLoop::wake() const { signal_eventfd(wake_.get()); }

void LocalResultLoop::stop() {
  {
    std::lock_guard lock{mutex_};
    stop_ = true;
  }
  wake();
}

void LocalResultLoop::run() {
  epoll_event events[32];
  for (;;) {
    std::vector<std::shared_ptr<LocalWorker>> watch, finalize;
    bool stop;
    {
      std::lock_guard lock{mutex_};
      watch.swap(to_watch_);
      finalize.swap(to_finalize_);
      stop = stop_;
    }
    for (auto& worker : watch) {
      if (worker->channel_lost) continue;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = worker.get();
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, worker->from_worker.get(), &ev);
      watched_.emplace(worker.get(), std::move(worker));
    }
    events_.on_idle();
    for (const auto& worker : finalize) finish(worker);
    if (stop) break;

    const int n = ::epoll_wait(epoll_.get(), events, std::size(events), -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        drain_eventfd(wake_.get());
        continue;
      }
      // Valid: watched_ holds every worker in the epoll set, and lets go of one only in finish(),
      // between rounds, once it is out of the set.
      auto& worker = *static_cast<LocalWorker*>(events[i].data.ptr);
      if (!worker.channel_lost) read(worker);
    }
  }
}

FrameReader::Fill LocalResultLoop::read(LocalWorker& worker) {
  FrameReader::Fill fill;
  try {
    fill = worker.reader.fill(worker.from_worker.get());
    wire::FrameHeader header;
    std::string_view payload;
    while (worker.reader.next(header, payload))
      if (!handle_frame(worker, header, payload)) return FrameReader::Fill::eof;
  } catch (const std::exception& e) {
    lose_channel(worker, std::string{"sent a malformed frame: "} + e.what());
    return FrameReader::Fill::eof;
  }
  if (fill == FrameReader::Fill::eof) lose_channel(worker, {});
  return fill;
}

bool LocalResultLoop::handle_frame(LocalWorker& worker, const wire::FrameHeader& header, std::string_view payload) {
  if (auto violation = dispatch_frame(events_, worker, header, payload, parsed_); !violation.empty()) {
    lose_channel(worker, std::move(violation));
    return false;
  }
  // Routing gave it up while handling the frame (a write to it failed).
  if (!worker.abandoned.empty()) {
    lose_channel(worker, std::exchange(worker.abandoned, {}));
    return false;
  }
  return true;
}

void LocalResultLoop::lose_channel(LocalWorker& worker, std::string why) {
  if (worker.channel_lost) return;
  worker.channel_lost = true;
  worker.protocol_error = std::move(why);
  if (!worker.protocol_error.empty())
    log(LogLevel::warn, "worker {} {}: ending it", worker.process.pid(), worker.protocol_error);
  if (watched_.contains(&worker)) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, worker.from_worker.get(), nullptr);
  events_.on_closing(worker, !worker.protocol_error.empty());
}

void LocalResultLoop::finish(const std::shared_ptr<LocalWorker>& worker) {
  // The worker is reaped: all it ever wrote is in the pipe. Deliver that before judging its chunk.
  // (`drained` rather than EOF means a process it forked still holds the pipe: stop there.)
  while (!worker->channel_lost && read(*worker) == FrameReader::Fill::data) {
  }
  if (!worker->channel_lost) lose_channel(*worker, {});
  events_.on_lost(*worker, worker->loss_report());
  watched_.erase(worker.get());
}

}  // namespace dlpool::detail
