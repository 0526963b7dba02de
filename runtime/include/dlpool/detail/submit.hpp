#pragma once
// How Pool's member templates hand a typed call to the untyped core: each builds the call's Job
// and ChunkSource (typed_call.hpp), submits them with a Submission, and wraps the shared state
// in the handle the caller gets. The only code that makes an AsyncResult or an IMapIterator.

#include <dlpool/detail/job.hpp>
#include <dlpool/detail/typed_call.hpp>
#include <dlpool/export.hpp>
#include <dlpool/result.hpp>
#include <dlpool/task.hpp>

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

namespace dlpool::detail {

class PoolImpl;

class Submitter {
 public:
  /// The core's entry point: queues the call and returns the control its handle holds.
  DLPOOL_API static std::shared_ptr<JobControl> submit(PoolImpl& pool, Submission submission);
  /// Throws UsageError naming `call` on this pool's result-handler thread (in a callback).
  DLPOOL_API static void refuse_in_callback(const PoolImpl& pool, const char* call);
  /// CPython's map chunksize for `items` items: ceil(items / (4 * processes)).
  DLPOOL_API static std::size_t default_chunksize(const PoolImpl& pool, std::size_t items) noexcept;
  /// `chunksize`, or UsageError when it is < 1.
  DLPOOL_API static std::size_t checked_chunksize(std::ptrdiff_t chunksize);

  /// apply_async: one item, which the caller's thread may hand straight to an idle worker.
  template <class T>
  static AsyncResult<typename CallCodec<T>::Result> apply(PoolImpl& pool, const T& task,
                                                          typename CallCodec<T>::Item args,
                                                          Callbacks<typename CallCodec<T>::Result> callbacks) {
    using Codec = CallCodec<T>;
    auto state = std::make_shared<ResultState<typename Codec::Result>>();
    const bool has_callbacks = callbacks.callback || callbacks.error_callback;
    std::vector<typename Codec::Item> items;
    items.push_back(std::move(args));
    state->control = submit(pool, {.task = task_ref(task),
                                   .job = std::make_shared<ApplyJob<Codec>>(state, std::move(callbacks)),
                                   .source = std::make_unique<HeldSource<Codec>>(std::move(items), 1),
                                   .chunksize = 1,
                                   .direct = true,
                                   .callbacks = has_callbacks});
    return AsyncResult<typename Codec::Result>{std::move(state)};
  }

  /// map_async: held as it is when HeldRange allows, otherwise copied into argument tuples.
  template <class T, class R, class V>
  static AsyncResult<V> map(PoolImpl& pool, const T& task, R&& items, std::optional<std::ptrdiff_t> chunksize,
                            Callbacks<V> callbacks) {
    if constexpr (HeldRange<T, R>)
      return held_map(pool, task, std::views::all(std::forward<R>(items)), chunksize, std::move(callbacks));
    else
      return held_map(pool, task, single_items<T>(std::forward<R>(items)), chunksize, std::move(callbacks));
  }

  /// starmap_async: each element is a tuple of arguments, copied.
  template <class T, class R, class V>
  static AsyncResult<V> starmap(PoolImpl& pool, const T& task, R&& items, std::optional<std::ptrdiff_t> chunksize,
                                Callbacks<V> callbacks) {
    std::vector<typename CallCodec<T>::Item> copied;
    for (auto&& x : items) copied.emplace_back(std::forward<decltype(x)>(x));
    return held_map(pool, task, std::move(copied), chunksize, std::move(callbacks));
  }

  /// imap / imap_unordered over a range or a generator.
  template <class T, class Input>
  static IMapIterator<typename CallCodec<T>::Value> imap(PoolImpl& pool, const T& task, Input&& input,
                                                         std::ptrdiff_t chunksize, bool ordered) {
    using Codec = CallCodec<T>;
    const auto size = checked_chunksize(chunksize);
    auto state = std::make_shared<IMapState<typename Codec::Value>>();
    state->ordered = ordered;
    std::unique_ptr<ChunkSource> source;
    if constexpr (std::invocable<Input&>) {
      source = std::make_unique<GeneratorSource<Codec>>(
          [generator = std::forward<Input>(input)]() mutable -> std::optional<typename Codec::Item> {
            auto x = generator();
            if (!x) return std::nullopt;
            if constexpr (std::is_same_v<T, JsonTask>)
              return std::move(*x);
            else
              return typename Codec::Item{std::move(*x)};
          },
          size);
    } else if constexpr (HeldRange<T, Input>) {
      using Held = decltype(std::views::all(std::forward<Input>(input)));
      source = std::make_unique<HeldSource<Codec, Held>>(std::views::all(std::forward<Input>(input)), size);
    } else {
      source = std::make_unique<HeldSource<Codec>>(single_items<T>(std::forward<Input>(input)), size);
    }
    state->control = submit(pool, {.task = task_ref(task),
                                   .job = std::make_shared<IMapJob<Codec>>(state),
                                   .source = std::move(source),
                                   .chunksize = size,
                                   .windowed = true});
    return IMapIterator<typename Codec::Value>{std::move(state)};
  }

 private:
  /// The items of a one-argument task (or JSON texts) as argument tuples, copied.
  template <class T, class R>
  static std::vector<typename CallCodec<T>::Item> single_items(R&& items) {
    std::vector<typename CallCodec<T>::Item> copied;
    if constexpr (std::ranges::sized_range<R>) copied.reserve(std::ranges::size(items));
    for (auto&& x : items) {
      if constexpr (std::is_same_v<T, JsonTask>)
        copied.emplace_back(std::forward<decltype(x)>(x));
      else
        copied.emplace_back(typename CallCodec<T>::Item{std::forward<decltype(x)>(x)});
    }
    return copied;
  }

  template <class T, class Held, class V>
  static AsyncResult<V> held_map(PoolImpl& pool, const T& task, Held items, std::optional<std::ptrdiff_t> chunksize,
                                 Callbacks<V> callbacks) {
    using Codec = CallCodec<T>;
    const auto n = static_cast<std::size_t>(std::ranges::size(items));
    const auto size = chunksize ? checked_chunksize(*chunksize) : default_chunksize(pool, n);
    auto state = std::make_shared<ResultState<V>>();
    state->control = submit(pool, {.task = task_ref(task),
                                   .job = std::make_shared<MapJob<Codec>>(n, state, std::move(callbacks)),
                                   .source = std::make_unique<HeldSource<Codec, Held>>(std::move(items), size),
                                   .chunksize = size});
    return AsyncResult<V>{std::move(state)};
  }
};

}  // namespace dlpool::detail
