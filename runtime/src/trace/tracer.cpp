#include "tracer.hpp"

#include "chrome_trace.hpp"
#include "log/log.hpp"
#include "sys/io.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <limits>
#include <unordered_map>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace dlpool::detail {
namespace {

// The trace thread wakes this often, or once this many chunks wait.
constexpr auto period = std::chrono::milliseconds{100};
constexpr std::size_t batch = 8192;
// Records held for the trace thread at most (about 40 MB); more are dropped and counted.
constexpr std::size_t max_pending = 256 * 1024;
// A round with this many records means the trace is falling behind: it stops yielding the CPU.
constexpr std::size_t catch_up_at = 64 * 1024;

/// The trace thread writes the file under SCHED_IDLE while it keeps up: formatting and writing
/// a chunk's events costs it a few hundred nanoseconds, which on a machine the pool keeps busy
/// with tiny items would otherwise preempt the threads the pool's throughput depends on
/// (measured on imap_tiny: a quarter of its rate at nice 10, a tenth under SCHED_IDLE). It takes
/// the lock the pool's threads push records under only at its normal priority, so that none of
/// them ever waits for an idle thread; and once it falls behind, it stays at its normal
/// priority, so that the trace is slow rather than lost. Leaving SCHED_IDLE needs the right to
/// raise one's priority (RLIMIT_NICE, CAP_SYS_NICE): without it, the thread never enters it.
class Priority {
 public:
  Priority() {
    // Whether we may come back: the same right as lowering our nice value back from one more.
    const auto tid = static_cast<id_t>(::gettid());
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, tid);
    may_idle_ =
        errno == 0 && ::setpriority(PRIO_PROCESS, tid, nice + 1) == 0 && ::setpriority(PRIO_PROCESS, tid, nice) == 0;
  }
  void idle(bool yes) noexcept {
    if (yes == idle_ || (yes && !may_idle_)) return;
    sched_param none{};
    if (::pthread_setschedparam(::pthread_self(), yes ? SCHED_IDLE : SCHED_OTHER, &none) == 0)
      idle_ = yes;
    else if (!yes)
      may_idle_ = false;  // cannot come back (should not happen: checked above)
  }

 private:
  bool may_idle_ = false, idle_ = false;
};

thread_local int this_thread_track = static_cast<int>(Track::none);
std::atomic<int> next_caller_track{static_cast<int>(Track::first_caller)};

/// Moves remote workers' run times onto the host's clock. The host sent a chunk at `sent` and
/// read its result at `received`, so the offset θ (host - node) lies in
/// [sent - run_start, received - run_end]; the intersection over a node's chunks narrows it
/// down, and each chunk is placed at the middle of it, kept within its own bounds so that its
/// run never appears outside its send and receipt.
class NodeClocks {
 public:
  void place(ChunkTrace& chunk) {
    if (chunk.rank == 0 || chunk.run_end_ns == 0 || chunk.sent == ChunkTrace::Clock::time_point{}) return;
    const auto ns = [](ChunkTrace::Clock::time_point t) { return t.time_since_epoch().count(); };
    const std::int64_t low = ns(chunk.sent) - static_cast<std::int64_t>(chunk.run_start_ns);
    const std::int64_t high = ns(chunk.received) - static_cast<std::int64_t>(chunk.run_end_ns);
    auto& [lo, hi] = bounds_.try_emplace(chunk.rank, low, high).first->second;
    lo = std::max(lo, low);
    hi = std::min(hi, high);
    if (lo > hi) std::tie(lo, hi) = std::pair{low, high};  // the node's clock moved: start again
    const auto offset = std::clamp(lo + (hi - lo) / 2, std::min(low, high), high);
    chunk.run_start_ns = static_cast<std::uint64_t>(static_cast<std::int64_t>(chunk.run_start_ns) + offset);
    chunk.run_end_ns = static_cast<std::uint64_t>(static_cast<std::int64_t>(chunk.run_end_ns) + offset);
  }

 private:
  std::unordered_map<int, std::pair<std::int64_t, std::int64_t>> bounds_;
};

TraceEvent to_event(const ChunkTrace& chunk) {
  using Time = TraceEvent::Time;
  TraceEvent event;
  event.kind = TraceEvent::Kind::chunk;
  event.time = chunk.delivered;
  event.worker = chunk.worker;
  event.rank = chunk.rank;
  event.job = chunk.job;
  event.chunk = chunk.chunk;
  event.first_item = chunk.first;
  event.items = chunk.items;
  if (chunk.task != nullptr) event.task = *chunk.task;
  event.ok = chunk.how == Ending::done;
  event.lost = chunk.how == Ending::lost;
  event.detail = chunk.error;
  event.attempts = chunk.attempts;
  event.submitted = chunk.submitted;
  event.sent = chunk.sent;
  if (chunk.run_end_ns != 0) {
    event.started = Time{std::chrono::nanoseconds{chunk.run_start_ns}};
    event.finished = Time{std::chrono::nanoseconds{chunk.run_end_ns}};
  }
  event.received = chunk.received;
  return event;
}

}  // namespace

int Tracer::thread_track() noexcept {
  if (this_thread_track == static_cast<int>(Track::none)) this_thread_track = next_caller_track++;
  return this_thread_track;
}

void Tracer::set_thread_track(Track track) noexcept { this_thread_track = static_cast<int>(track); }

Tracer::Tracer(TraceOptions options, Clock::time_point start) : options_{std::move(options)} {
  if (!options_.file.empty()) file_ = std::make_unique<ChromeTraceWriter>(options_.file, start);
  thread_ = std::jthread{[this] { run(); }};
  thread_id_ = thread_.get_id();
}

Tracer::~Tracer() { close(); }

template <class Record>
std::size_t Tracer::push(std::vector<Record>& pending, Record record) {
  if (closing_) return 0;
  if (pending.size() >= max_pending) {
    ++dropped_;
    return 0;
  }
  pending.push_back(std::move(record));
  return pending.size();
}

void Tracer::chunk(ChunkTrace record) {
  std::lock_guard lock{mutex_};
  if (push(chunks_, std::move(record)) == batch) cv_.notify_one();
}

void Tracer::event(TraceEvent event) {
  std::lock_guard lock{mutex_};
  push(events_, std::move(event));
}

void Tracer::close() {
  {
    std::lock_guard lock{mutex_};
    closing_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();  // once: join() and the destructor both close
  if (file_) file_->finish();              // idempotent
}

void Tracer::run() {
  block_sigpipe_in_this_thread();  // a trace written to a pipe whose reader left: EPIPE, not death
  try {
    run_rounds();
  } catch (const std::exception& e) {  // bad_alloc: the trace ends, the pool goes on
    log(LogLevel::error, "the trace stopped: {}", e.what());
    std::lock_guard lock{mutex_};
    closing_ = true;  // records pushed from now on are dropped
  }
}

void Tracer::run_rounds() {
  Priority priority;
  std::vector<ChunkTrace> chunks;
  std::vector<TraceEvent> events;
  NodeClocks clocks;
  for (bool last = false; !last;) {
    std::uint64_t dropped = 0;
    priority.idle(false);  // the pool's threads wait for this lock: never held at idle priority
    {
      std::unique_lock lock{mutex_};
      cv_.wait_for(lock, period, [&] { return closing_ || chunks_.size() >= batch; });
      last = closing_;
      chunks.swap(chunks_);
      events.swap(events_);
      dropped = std::exchange(dropped_, 0);
    }
    for (auto& c : chunks) clocks.place(c);
    if (options_.on_event) deliver(events, chunks);  // the user's code, at its normal priority
    if (dropped != 0) log(LogLevel::warn, "the trace fell behind: {} record(s) left out", dropped);
    if (file_) {
      priority.idle(chunks.size() + events.size() < catch_up_at);
      file_->write(events, chunks, dropped);
    }
    chunks.clear();
    events.clear();
  }
}

bool Tracer::on_its_thread() const noexcept { return std::this_thread::get_id() == thread_id_; }

void Tracer::deliver(std::vector<TraceEvent>& events, std::vector<ChunkTrace>& chunks) {
  // The user's code: what it throws ends its delivery, never the trace thread or the pool.
  try {
    for (const auto& event : events) options_.on_event(event);
    for (const auto& c : chunks) options_.on_event(to_event(c));
  } catch (const std::exception& e) {
    log(LogLevel::error, "the trace callback threw: {}", e.what());
  } catch (...) {
    log(LogLevel::error, "the trace callback threw");
  }
}

}  // namespace dlpool::detail
