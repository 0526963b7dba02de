#pragma once
// The typed half of a call: how a task's arguments are encoded on the task-handler thread, how
// its results are decoded on the result-handler thread, and the Job that completes the caller's
// AsyncResult or IMapIterator. Instantiated in the host application by Pool's member templates.

#include <dlpool/detail/job.hpp>
#include <dlpool/errors.hpp>
#include <dlpool/result.hpp>
#include <dlpool/task.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace dlpool::detail {

/// How items of a task type travel. `Item` is one call's arguments as stored before encoding.
template <class T>
struct CallCodec;

template <class R, class... A>
struct CallCodec<Task<R(A...)>> {
  using Result = R;
  using Value = Stored<R>;
  using Item = std::tuple<std::remove_cvref_t<A>...>;
  static constexpr wire::Codec codec = wire::Codec::binary;

  static void encode(std::string& out, wire::BinaryEncoder& encoder, const Item& item) {
    std::apply([&](const auto&... arg) { encoder.append_item(out, arg...); }, item);
  }
  /// The one argument of a one-argument task, not wrapped in a tuple (see HeldRange).
  template <class X>
    requires(sizeof...(A) == 1 && std::is_same_v<X, std::tuple_element_t<0, Item>>)
  static void encode(std::string& out, wire::BinaryEncoder& encoder, const X& arg) {
    encoder.append_item(out, arg);
  }
  static Value decode(wire::BinaryDecoder& decoder, std::string_view bytes) {
    Value value{};
    if constexpr (std::is_void_v<R>)
      decoder.decode(bytes);
    else
      decoder.decode(bytes, value);
    return value;
  }
};

template <>
struct CallCodec<JsonTask> {
  using Result = std::string;
  using Value = std::string;
  using Item = std::string;
  static constexpr wire::Codec codec = wire::Codec::json;

  static void encode(std::string& out, wire::BinaryEncoder&, const Item& json) { wire::put_string(out, json); }
  static Value decode(wire::BinaryDecoder&, std::string_view bytes) { return std::string{bytes}; }
};

template <class T>
TaskRef task_ref(const T& task) {
  return {task.plugin(), task.name(), task.signature(), CallCodec<T>::codec, task.timeout()};
}

/// Decodes every item of a chunk, or throws EncodingError naming the item.
template <class Codec, class Out>
void decode_items(std::size_t first, std::span<const std::string_view> items, Out&& out) {
  thread_local wire::BinaryDecoder decoder;  // the result handler's; one archive per chunk
  decoder.restart();
  for (std::size_t i = 0; i < items.size(); ++i) {
    try {
      out(first + i, Codec::decode(decoder, items[i]));
    } catch (const wire::DecodeError& e) {
      throw EncodingError{"result of item " + std::to_string(first + i) + " does not decode: " + e.what()};
    }
  }
}

/// Runs the callbacks, then makes the result ready. A throwing callback fails its own result.
template <class T>
void finish(ResultState<T>& state, const Callbacks<T>& callbacks, std::optional<Stored<T>> value,
            std::exception_ptr error) {
  try {
    if (error) {
      if (callbacks.error_callback) callbacks.error_callback(error);
    } else if (callbacks.callback) {
      callbacks.callback(*value);
    }
  } catch (...) {
    error = std::current_exception();
    value.reset();
  }
  state.set(std::move(value), std::move(error));
}

/// apply / apply_async: one item.
template <class Codec>
class ApplyJob final : public Job {
 public:
  using T = typename Codec::Result;
  ApplyJob(std::shared_ptr<ResultState<T>> state, Callbacks<T> callbacks)
      : state_{std::move(state)}, callbacks_{std::move(callbacks)} {}

  void chunk_done(std::size_t first, std::span<const std::string_view> items) override {
    try {
      decode_items<Codec>(first, items, [&](std::size_t, auto&& v) { value_.emplace(std::move(v)); });
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  void chunk_failed(std::size_t, std::size_t, std::exception_ptr error) override { error_ = std::move(error); }
  void input_ended(std::size_t, std::exception_ptr error) override {
    if (error) error_ = std::move(error);
  }
  void complete() override { finish(*state_, callbacks_, std::move(value_), error_); }
  void abort(std::exception_ptr error) override { finish(*state_, callbacks_, std::nullopt, std::move(error)); }

 private:
  // Written by one chunk report, read by complete(): the core orders the two.
  std::shared_ptr<ResultState<T>> state_;
  Callbacks<T> callbacks_;
  std::optional<typename Codec::Value> value_;
  std::exception_ptr error_;
};

/// map / starmap and their async forms: every chunk runs, the first error to arrive wins.
/// Results are decoded straight into the vector the caller gets when the value type can be
/// default-constructed (each position is written once, by its chunk's report); otherwise each
/// waits in an optional and is moved over at the end.
template <class Codec>
class MapJob final : public Job {
 public:
  using Value = typename Codec::Value;
  using T = std::vector<Value>;
  MapJob(std::size_t size, std::shared_ptr<ResultState<T>> state, Callbacks<T> callbacks)
      : state_{std::move(state)}, callbacks_{std::move(callbacks)} {
    // Only reserved: the values are constructed as chunks come in, on the result-handler thread,
    // while the workers run the rest, rather than all up front on the caller's.
    values_.reserve(size);
  }

  void chunk_done(std::size_t first, std::span<const std::string_view> items) override {
    try {
      // Chunks may report out of order: one reporting ahead of the others also makes room for
      // theirs (never past the size reserved, so never reallocating under them).
      if (const auto end = first + items.size(); end > values_.size()) values_.resize(end);
      decode_items<Codec>(first, items, [&](std::size_t i, auto&& v) {
        if constexpr (in_place)
          values_.at(i) = std::move(v);
        else
          values_.at(i).emplace(std::move(v));
      });
    } catch (...) {
      fail(std::current_exception());
    }
  }
  void chunk_failed(std::size_t, std::size_t, std::exception_ptr error) override { fail(std::move(error)); }
  void input_ended(std::size_t, std::exception_ptr error) override {
    if (error) fail(std::move(error));
  }
  void complete() override {
    std::lock_guard lock{mutex_};
    if (error_) return finish(*state_, callbacks_, std::nullopt, error_);
    if constexpr (in_place) {
      finish(*state_, callbacks_, std::optional<T>{std::move(values_)}, nullptr);
    } else {
      T result;
      result.reserve(values_.size());
      for (auto& v : values_) result.push_back(std::move(*v));
      finish(*state_, callbacks_, std::optional<T>{std::move(result)}, nullptr);
    }
  }
  void abort(std::exception_ptr error) override { finish(*state_, callbacks_, std::nullopt, std::move(error)); }

 private:
  static constexpr bool in_place = std::is_default_constructible_v<Value>;

  void fail(std::exception_ptr error) {
    std::lock_guard lock{mutex_};
    if (!error_) error_ = std::move(error);
  }

  std::shared_ptr<ResultState<T>> state_;
  Callbacks<T> callbacks_;
  std::mutex mutex_;  // chunk reports come from the result thread, input_ended from the task thread
  std::conditional_t<in_place, T, std::vector<std::optional<Value>>> values_;
  std::exception_ptr error_;
};

/// imap / imap_unordered: each item is delivered as soon as its chunk reports.
template <class Codec>
class IMapJob final : public Job {
 public:
  using T = typename Codec::Value;
  explicit IMapJob(std::shared_ptr<IMapState<T>> state) : state_{std::move(state)} {}

  void chunk_done(std::size_t first, std::span<const std::string_view> items) override {
    std::vector<T> values;
    values.reserve(items.size());
    try {
      decode_items<Codec>(first, items, [&](std::size_t, auto&& v) { values.push_back(std::move(v)); });
    } catch (...) {
      return chunk_failed(first, items.size(), std::current_exception());
    }
    for (std::size_t i = 0; i < values.size(); ++i) state_->put(first + i, std::move(values[i]));
  }
  void chunk_failed(std::size_t first, std::size_t count, std::exception_ptr error) override {
    for (std::size_t i = first; i < first + count; ++i) state_->put(i, error);
  }
  void input_ended(std::size_t items, std::exception_ptr error) override {
    if (!error) return state_->set_length(items);
    state_->put(items, std::move(error));
    state_->set_length(items + 1);
  }
  void complete() override {}
  void abort(std::exception_ptr error) override { state_->abort(std::move(error)); }

 private:
  std::shared_ptr<IMapState<T>> state_;
};

/// Chunks of an input held in memory (map, starmap, and imap over a range): a copy of the
/// caller's items as argument tuples, or the caller's range itself where holding it is safe (see
/// HeldRange). Never moved once made: it keeps an iterator into `items_`.
template <class Codec, std::ranges::sized_range Held = std::vector<typename Codec::Item>>
class HeldSource final : public ChunkSource {
 public:
  HeldSource(Held items, std::size_t chunksize)
      : items_{std::move(items)},
        next_{std::ranges::begin(items_)},
        left_{static_cast<std::size_t>(std::ranges::size(items_))},
        chunksize_{chunksize} {}
  HeldSource(const HeldSource&) = delete;
  HeldSource& operator=(const HeldSource&) = delete;

  std::size_t next_chunk(std::string& out, wire::BinaryEncoder& encoder) override {
    const auto n = std::min(chunksize_, left_);
    for (std::size_t i = 0; i < n; ++i, ++next_) Codec::encode(out, encoder, *next_);
    left_ -= n;
    return n;
  }

 private:
  Held items_;
  std::ranges::iterator_t<Held> next_;
  std::size_t left_;
  std::size_t chunksize_;
};

template <class R>
inline constexpr bool is_iota_view = false;
template <class W, class B>
inline constexpr bool is_iota_view<std::ranges::iota_view<W, B>> = true;

/// A map or imap input that is held as it is instead of being copied into argument tuples: an
/// iota (it makes its values: nothing to copy, and nothing of the caller's to outlive), or a
/// std::vector of a one-argument task's argument type handed over as an rvalue (moved in). Any
/// other range is copied, as CPython's map copies its iterable into a list: a range not known to
/// own its elements may refer to the caller's data, which an *_async call must not depend on.
template <class T, class R>
concept HeldRange = requires { typename CallCodec<T>::Item; } && !std::is_same_v<T, JsonTask> &&
                    std::tuple_size_v<typename CallCodec<T>::Item> == 1 &&
                    std::is_same_v<std::remove_cvref_t<std::ranges::range_reference_t<R>>,
                                   std::tuple_element_t<0, typename CallCodec<T>::Item>> &&
                    (is_iota_view<std::remove_cvref_t<R>> ||
                     (std::is_same_v<std::remove_reference_t<R>, std::vector<std::ranges::range_value_t<R>>> &&
                      !std::is_lvalue_reference_v<R>));

/// Chunks pulled from a generator (imap over an endless or lazily computed input). An exception
/// from the generator ends the input after the items it had produced.
template <class Codec>
class GeneratorSource final : public ChunkSource {
 public:
  using Generator = std::function<std::optional<typename Codec::Item>()>;
  GeneratorSource(Generator generator, std::size_t chunksize)
      : generator_{std::move(generator)}, chunksize_{chunksize} {}

  [[nodiscard]] bool pulls_from_caller() const noexcept override { return true; }

  std::size_t next_chunk(std::string& out, wire::BinaryEncoder& encoder) override {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    std::size_t n = 0;
    while (n < chunksize_ && !done_) {
      std::optional<typename Codec::Item> item;
      try {
        item = generator_();
      } catch (...) {
        if (n == 0) throw;
        error_ = std::current_exception();  // deliver the items before it first
        done_ = true;
        break;
      }
      if (!item) {
        done_ = true;
        break;
      }
      Codec::encode(out, encoder, *item);
      ++n;
    }
    return n;
  }

 private:
  Generator generator_;
  std::size_t chunksize_;
  bool done_ = false;
  std::exception_ptr error_;
};

}  // namespace dlpool::detail
