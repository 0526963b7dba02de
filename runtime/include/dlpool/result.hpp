#pragma once
// Handles to results that are still being computed: AsyncResult<T> (apply_async, map_async,
// starmap_async) and IMapIterator<T> (imap, imap_unordered).

#include <dlpool/detail/spin.hpp>
#include <dlpool/errors.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace dlpool {

namespace detail {

class Submitter;

/// The pool's side of a result handle: what lets a caller stop its job or, for imap, pace it.
/// Implemented by the pool; safe to use after the pool is gone (then it does nothing).
class JobControl {
 public:
  virtual ~JobControl() = default;
  /// Stops the job unless it has completed; `kill` also stops the workers running its chunks.
  /// Returns whether the job will end with Cancelled.
  virtual bool cancel(bool kill) = 0;
  /// imap: the consumer has taken `items` results, so more input may be pulled.
  virtual void consumed(std::size_t items) = 0;
  /// Whether the calling thread is the result-handler thread of the job's pool, i.e. a callback:
  /// waiting there for a result of that pool would never end.
  [[nodiscard]] virtual bool on_result_thread() const noexcept = 0;
  /// The caller is about to block until the job completes: when its one chunk went straight to
  /// an idle worker and nothing else reads that worker now, the calling thread reads the answer
  /// itself (two hops, not three). Returns at once otherwise; either way the wait follows.
  virtual void receive() = 0;
};

/// The UsageError message of `call` made from a callback of the pool it would wait for.
inline std::string waits_in_callback(const char* call) {
  return std::string{call} + " from a callback of the same pool would wait for the thread running it";
}

/// Throws UsageError when a result not ready yet is waited for (without a timeout) from a
/// callback of its own pool: the result could only come through the thread that is waiting.
inline void refuse_wait_in_callback(const std::shared_ptr<JobControl>& control, const char* call) {
  if (control && control->on_result_thread()) throw UsageError{waits_in_callback(call)};
}

/// Storage for a value that may be void.
template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
struct ResultState {
  std::mutex mutex;
  std::condition_variable cv;
  // 1 once set: written under the mutex, atomic so that wait()'s spin can poll it without it.
  std::atomic<std::uint32_t> ready{0};
  std::optional<Stored<T>> value;
  std::exception_ptr error;
  std::shared_ptr<JobControl> control;  // set once by the pool before the handle exists
  std::atomic<bool> copied{false};  // an AsyncResult was copied: get() must leave the value in place

  [[nodiscard]] bool is_ready() const noexcept { return ready.load(std::memory_order_acquire) != 0; }

  void set(std::optional<Stored<T>> v, std::exception_ptr e) {
    {
      std::lock_guard lock{mutex};
      value = std::move(v);
      error = std::move(e);
      ready.store(1, std::memory_order_release);
    }
    cv.notify_all();
  }
};

}  // namespace detail

/// Callbacks of an *_async call. They run on the pool's result-handler thread before the result
/// becomes ready, as in CPython: keep them short, and never block on the pool from them. A
/// callback that throws does not harm the pool: its exception becomes the result's error.
template <class T>
struct Callbacks {
  std::function<void(const detail::Stored<T>&)> callback = {};
  std::function<void(std::exception_ptr)> error_callback = {};
};

/// The future result of apply_async / map_async / starmap_async, as CPython's AsyncResult.
/// Callbacks passed with the call run on the pool's result-handler thread *before* the result
/// becomes ready, so once wait() returns they have run. Thread-safe; cheap to copy (shared state).
/// Made only by the pool's calls.
template <class T>
class AsyncResult {
 public:
  AsyncResult(const AsyncResult& other) : state_{other.state_} { mark_copied(); }
  AsyncResult& operator=(const AsyncResult& other) {
    state_ = other.state_;
    mark_copied();
    return *this;
  }
  AsyncResult(AsyncResult&&) noexcept = default;
  AsyncResult& operator=(AsyncResult&&) noexcept = default;

  /// Blocks until ready, then returns the value or throws the task's error (RemoteError,
  /// WorkerLostError, PluginError, ...). May be called more than once. Called from a callback of
  /// the same pool before the result is ready, throws UsageError instead of waiting forever.
  T get() const& {
    wait();
    return take();
  }

  /// As get(), on a handle about to go away (`pool.map_async(...).get()`, which is what map and
  /// apply do): the value is moved out rather than copied, unless the handle was ever copied, and
  /// the handle is left with a moved-from value.
  T get() && {
    wait();
    if constexpr (!std::is_void_v<T>) {
      std::lock_guard lock{state_->mutex};
      if (!state_->error && !state_->copied.load(std::memory_order_relaxed)) return std::move(*state_->value);
    }
    return take();
  }

  /// As get(), but throws TimeoutError if not ready within `timeout`. The task is not stopped.
  template <class Rep, class Period>
  T get(std::chrono::duration<Rep, Period> timeout) const {
    if (!wait(timeout)) throw TimeoutError{"result not ready within the timeout"};
    return take();
  }

  /// Blocks until the result is ready. Throws UsageError from a callback of the same pool when
  /// the result is not ready (it never could be: the callback holds up the pool's results).
  void wait() const {
    if (!state_->is_ready()) {
      detail::refuse_wait_in_callback(state_->control, "AsyncResult::get() or wait()");
      if (state_->control) state_->control->receive();
      if (!state_->is_ready()) detail::spin_until_changed(state_->ready, 0);
    }
    std::unique_lock lock{state_->mutex};
    state_->cv.wait(lock, [&] { return state_->is_ready(); });
  }

  /// Blocks until ready or `timeout` passes; returns whether it is ready.
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) const {
    std::unique_lock lock{state_->mutex};
    return state_->cv.wait_for(lock, timeout, [&] { return state_->is_ready(); });
  }

  /// Whether the call has completed (successfully or not). Never blocks.
  [[nodiscard]] bool ready() const {
    std::lock_guard lock{state_->mutex};
    return state_->is_ready();
  }

  /// Stops the call if it has not completed: queued work is dropped, and the workers running its
  /// chunks are stopped (SIGTERM, then SIGKILL after the grace period) and replaced. The result
  /// then fails with Cancelled (callbacks: error_callback). Returns false if the call had already
  /// completed, or the pool is gone.
  bool cancel() const { return state_->control && state_->control->cancel(true); }

  /// Whether the call completed without error; throws UsageError if it is not ready yet.
  [[nodiscard]] bool successful() const {
    std::lock_guard lock{state_->mutex};
    if (!state_->is_ready()) throw UsageError{"result is not ready"};
    return !state_->error;
  }

 private:
  friend class detail::Submitter;
  explicit AsyncResult(std::shared_ptr<detail::ResultState<T>> state) : state_{std::move(state)} {}

  T take() const {
    std::lock_guard lock{state_->mutex};
    if (state_->error) std::rethrow_exception(state_->error);
    if constexpr (!std::is_void_v<T>) return *state_->value;
  }

  void mark_copied() const noexcept {
    if (state_) state_->copied.store(true, std::memory_order_relaxed);
  }

  std::shared_ptr<detail::ResultState<T>> state_;
};

namespace detail {

/// What imap and imap_unordered deliver to their iterator.
template <class T>
struct IMapState {
  using Outcome = std::variant<T, std::exception_ptr>;
  std::mutex mutex;
  std::condition_variable cv;
  bool ordered = true;
  std::map<std::size_t, Outcome> pending;                 // ordered: by item index
  std::deque<std::pair<std::size_t, Outcome>> arrived;    // unordered: index and outcome, as they arrive
  std::size_t delivered = 0;
  std::optional<std::size_t> length;  // known once the input has ended
  std::exception_ptr aborted;         // terminated or cancelled: what is missing fails with this
  std::shared_ptr<JobControl> control;  // set once by the pool before the iterator exists
  std::atomic<std::uint32_t> changes{0};  // bumped by every change, for the consumer's spin

  void put(std::size_t index, Outcome outcome) {
    change([&] {
      if (ordered)
        pending.emplace(index, std::move(outcome));
      else
        arrived.emplace_back(index, std::move(outcome));
    });
  }
  void abort(std::exception_ptr error) {
    change([&] { aborted = std::move(error); });
  }
  void set_length(std::size_t n) {
    change([&] { length = n; });
  }

 private:
  /// Runs `apply` under the mutex and bumps `changes` there, then wakes the consumer, whether it
  /// spins on `changes` or waits on `cv`.
  template <class Apply>
  void change(Apply apply) {
    {
      std::lock_guard lock{mutex};
      apply();
      changes.fetch_add(1, std::memory_order_release);
    }
    cv.notify_all();
  }
};

}  // namespace detail

/// One outcome of an imap / imap_unordered with the position of its item in the input (0-based):
/// what IMapIterator::next_indexed() returns.
template <class T>
struct IndexedOutcome {
  std::size_t index = 0;
  std::variant<T, std::exception_ptr> outcome;  // the value, or the item's error
};

/// The iterator returned by imap / imap_unordered. next() returns the next result (in input
/// order for imap, in completion order for imap_unordered), std::nullopt once every item has been
/// delivered, or throws that item's error; iteration may go on after an error. If the pool is
/// terminated, the first missing result throws PoolTerminated and the iteration ends. Also usable in a
/// range-for, where an item's error is thrown from the dereference. Not thread-safe: one consumer.
///
/// The pool pulls the input only PoolOptions::imap_window chunks ahead of what has been consumed.
/// Destroying the iterator before the end abandons the rest: no more input is pulled, chunks
/// already running finish and their results are dropped. Made only by the pool's imap calls.
template <class T>
class IMapIterator {
 public:
  IMapIterator(IMapIterator&&) noexcept = default;
  IMapIterator& operator=(IMapIterator&& other) noexcept {
    if (this != &other) {
      abandon();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~IMapIterator() { abandon(); }

  /// Stops the call: no more input is pulled, queued chunks are dropped and the workers running
  /// its chunks are stopped and replaced. Results already delivered to the iterator can still be
  /// read; then next() throws Cancelled once and the iteration ends. Returns false if every result
  /// had already arrived.
  bool cancel() { return state_ && state_->control && state_->control->cancel(true); }

  /// Blocks for the next result. Throws UsageError from a callback of the same pool when the
  /// next result is not there yet.
  std::optional<T> next() { return next_until(std::nullopt); }

  /// As next(), but says which input item each outcome belongs to (what imap_unordered's
  /// completion order otherwise hides), and returns an item's error instead of throwing it.
  /// Still throws what ends the whole iteration (PoolTerminated, Cancelled), once.
  std::optional<IndexedOutcome<T>> next_indexed() {
    auto taken = take(std::nullopt);
    if (!taken) return std::nullopt;
    // Built in place: a temporary moved into the optional draws GCC 12's -Wmaybe-uninitialized
    // (a false positive on the variant's exception_ptr) at -O1.
    return std::optional<IndexedOutcome<T>>{std::in_place, taken->first, std::move(taken->second)};
  }

  /// As next(), but throws TimeoutError when nothing arrives within `timeout`.
  template <class Rep, class Period>
  std::optional<T> next(std::chrono::duration<Rep, Period> timeout) {
    return next_until(std::chrono::steady_clock::now() + timeout);
  }

  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(IMapIterator* owner) : owner_{owner} { advance(); }
    T operator*() const {
      if (error_) std::rethrow_exception(error_);
      return *value_;
    }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    bool operator==(std::default_sentinel_t) const { return owner_ == nullptr; }

   private:
    void advance() {
      error_ = nullptr;
      try {
        value_ = owner_->next();
        if (!value_) owner_ = nullptr;
      } catch (...) {
        error_ = std::current_exception();
      }
    }
    IMapIterator* owner_ = nullptr;
    std::optional<T> value_;
    std::exception_ptr error_;
  };

  iterator begin() { return iterator{this}; }
  std::default_sentinel_t end() { return {}; }

 private:
  friend class detail::Submitter;
  explicit IMapIterator(std::shared_ptr<detail::IMapState<T>> state) : state_{std::move(state)} {}

  std::optional<T> next_until(std::optional<std::chrono::steady_clock::time_point> deadline) {
    auto taken = take(deadline);
    if (!taken) return std::nullopt;
    if (auto* error = std::get_if<std::exception_ptr>(&taken->second)) std::rethrow_exception(*error);
    return std::move(std::get<T>(taken->second));
  }

  /// The next outcome and its item's index; std::nullopt at the end. Throws TimeoutError past
  /// `deadline`, and the abort error once when the pool stopped the iteration.
  std::optional<std::pair<std::size_t, typename detail::IMapState<T>::Outcome>> take(
      std::optional<std::chrono::steady_clock::time_point> deadline) {
    auto& s = *state_;
    std::unique_lock lock{s.mutex};
    const auto has_next = [&] {
      if (s.length && s.delivered >= *s.length) return true;
      return s.aborted || (s.ordered ? s.pending.contains(s.delivered) : !s.arrived.empty());
    };
    if (!deadline) {
      if (!has_next()) {  // spin a little before sleeping (see detail::spin_until_changed)
        detail::refuse_wait_in_callback(s.control, "IMapIterator::next()");
        const auto seen = s.changes.load(std::memory_order_relaxed);
        lock.unlock();
        detail::spin_until_changed(s.changes, seen);
        lock.lock();
      }
      s.cv.wait(lock, has_next);
    } else if (!s.cv.wait_until(lock, *deadline, has_next))
      throw TimeoutError{"no imap result within the timeout"};
    if (s.length && s.delivered >= *s.length) return std::nullopt;
    if (s.ordered ? !s.pending.contains(s.delivered) : s.arrived.empty()) {
      // Terminated: report it once, at the first missing position, then end the iteration.
      s.length = ++s.delivered;
      std::rethrow_exception(s.aborted);
    }
    auto taken = [&]() -> std::pair<std::size_t, typename detail::IMapState<T>::Outcome> {
      if (s.ordered) {
        auto node = s.pending.extract(s.delivered);
        return {node.key(), std::move(node.mapped())};
      }
      auto front = std::move(s.arrived.front());
      s.arrived.pop_front();
      return front;
    }();
    const auto delivered = ++s.delivered;
    lock.unlock();
    if (s.control) s.control->consumed(delivered);  // cheap unless the input is held back
    return taken;
  }

  void abandon() noexcept {
    try {
      if (state_ && state_->control) state_->control->cancel(false);
    } catch (...) {  // only allocation can fail here; the job then runs to its end unread
    }
  }

  std::shared_ptr<detail::IMapState<T>> state_;
};

}  // namespace dlpool
