#include "local_result_loop.hpp"

#include "frame_dispatch.hpp"
#include "log/log.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/frame.hpp>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

#include <poll.h>
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
    std::vector<std::shared_ptr<LocalWorker>> watch, finalize, reread;
    bool stop;
    {
      std::lock_guard lock{mutex_};
      watch.swap(to_watch_);
      finalize.swap(to_finalize_);
      reread.swap(to_read_);
      stop = stop_;
    }
    for (const auto& worker : reread) {
      std::unique_lock hold{worker->read_mutex, std::try_to_lock};  // else a receiver reads it again
      if (hold && !worker->channel_lost) read(*worker, parsed_);
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
      // Not held: a caller receiving its answer took it out of the set after this wait returned.
      std::unique_lock hold{worker.read_mutex, std::try_to_lock};
      if (hold && !worker.channel_lost) read(worker, parsed_);
    }
  }
}

bool LocalResultLoop::receive(const std::shared_ptr<LocalWorker>& worker, const std::atomic<bool>& done) {
  bool answered = false;  // by this thread
  bool left = false;      // bytes read past the answer, or its end: the loop's to handle
  {
    std::unique_lock hold{worker->read_mutex, std::try_to_lock};
    if (!hold || worker->channel_lost) return false;
    // Out of the loop's set while this thread reads it: the loop is not woken by its frames.
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, worker->from_worker.get(), nullptr) != 0) return false;
    // Back in the set however this ends (before the lock is let go), unless its channel is lost.
    const Rewatch rewatch{*this, *worker};
    thread_local ParsedResult scratch;
    try {
      // Read before the first look at `done`: the loop may have handled the answer just before.
      while (!done.load()) {
        wire::FrameHeader header;
        std::string_view payload;
        if (worker->reader.next(header, payload)) {
          if (!handle_frame(*worker, header, payload, scratch)) return false;  // ended: lost
          answered = done.load();
          continue;
        }
        if (await_bytes(*worker) == FrameReader::Fill::eof) {
          left = true;
          break;
        }
      }
    } catch (const std::exception& e) {
      lose_channel(*worker, std::string{"sent a malformed frame: "} + e.what());
      return false;
    }
    left = left || worker->reader.partial() != 0;
  }
  // Only now, the lock let go: the loop may then read what is buffered (were the lock still held
  // when it looked, it would drop the request, and the bytes would wait for the worker's end).
  if (left) {
    {
      std::lock_guard lock{mutex_};
      to_read_.push_back(worker);
    }
    wake();
  }
  return answered;
}

LocalResultLoop::Rewatch::~Rewatch() {
  if (worker_.channel_lost) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &worker_;
  if (::epoll_ctl(loop_.epoll_.get(), EPOLL_CTL_ADD, worker_.from_worker.get(), &ev) == 0) return;
  // Unwatched, no one would read it: it is ended instead, and its loss settles what it held.
  log(LogLevel::warn, "worker {}: its result pipe could not be watched again ({}): ending it", worker_.process.pid(),
      std::strerror(errno));
  worker_.halt(true);
}

FrameReader::Fill LocalResultLoop::await_bytes(LocalWorker& worker) {
  // It blocks at once. Polling the pipe first saved ~2 us of an apply on an idle machine, but
  // with other processes busy on every CPU it held the CPU the worker needed (136 us an apply),
  // and yielding instead let the busy ones run for whole slices (ms).
  // Its exit is watched too: a process it forked may hold its pipe open after it died.
  const int fd = worker.from_worker.get();
  for (;;) {
    pollfd fds[]{{fd, POLLIN, 0}, {worker.process.pidfd(), POLLIN, 0}};
    if (::poll(fds, std::size(fds), -1) < 0) {
      if (errno == EINTR) continue;
      return FrameReader::Fill::eof;  // cannot wait here (ENOMEM): the loop reads it instead
    }
    // The pipe first: a worker that answers and exits at once (maxtasksperchild) is still heard.
    if (fds[0].revents != 0)
      if (const auto fill = worker.reader.fill(fd); fill != FrameReader::Fill::drained) return fill;
    if (fds[1].revents != 0) return FrameReader::Fill::eof;  // the loop drains it (finish)
  }
}

FrameReader::Fill LocalResultLoop::read(LocalWorker& worker, ParsedResult& scratch) {
  FrameReader::Fill fill;
  try {
    fill = worker.reader.fill(worker.from_worker.get());
    wire::FrameHeader header;
    std::string_view payload;
    while (worker.reader.next(header, payload))
      if (!handle_frame(worker, header, payload, scratch)) return FrameReader::Fill::eof;
  } catch (const std::exception& e) {
    lose_channel(worker, std::string{"sent a malformed frame: "} + e.what());
    return FrameReader::Fill::eof;
  }
  if (fill == FrameReader::Fill::eof) lose_channel(worker, {});
  return fill;
}

bool LocalResultLoop::handle_frame(LocalWorker& worker, const wire::FrameHeader& header, std::string_view payload,
                                   ParsedResult& scratch) {
  std::string violation;
  const auto bytes = worker.payload_of(header, payload, violation);  // from the arena, if there
  if (bytes) {
    // Before routing hears it is ready, and so sends it anything.
    if (header.kind == wire::FrameKind::hello && (header.flags & wire::flag_arena) != 0 && worker.arena)
      worker.arena_mapped.store(true, std::memory_order_release);
    worker.answered(header);
    violation = dispatch_frame(events_, worker, header, *bytes, scratch);
    worker.handled(header);
  }
  if (!violation.empty()) {
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
  // From a receiving caller too, so not watched_ (the loop's own): one not in the set is ENOENT.
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, worker.from_worker.get(), nullptr);
  events_.on_closing(worker, !worker.protocol_error.empty());
}

void LocalResultLoop::finish(const std::shared_ptr<LocalWorker>& worker) {
  // The worker is reaped: all it ever wrote is in the pipe. Deliver that before judging its chunk.
  // (`drained` rather than EOF means a process it forked still holds the pipe: stop there.)
  // A receiving caller lets go of it promptly: it watches the worker's exit too.
  {
    std::lock_guard hold{worker->read_mutex};
    while (!worker->channel_lost && read(*worker, parsed_) == FrameReader::Fill::data) {
    }
    if (!worker->channel_lost) lose_channel(*worker, {});
  }
  events_.on_lost(*worker, worker->loss_report());
  watched_.erase(worker.get());
}

}  // namespace dlpool::detail
