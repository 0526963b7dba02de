#pragma once
// The code the SDK generates per task: entry points that decode arguments, call the plain C++
// function and encode its result, catching every exception so that nothing but bytes leaves the
// plugin. Everything here has hidden visibility: two plugins built against different SDK versions
// never share (or interpose) each other's copies.

#include <dlpool/wire/abi.hpp>
#include <dlpool/wire/bytes.hpp>
#include <dlpool/wire/codec.hpp>
#include <dlpool/wire/json_codec.hpp>
#include <dlpool/wire/manifest_record.hpp>
#include <dlpool/wire/signature.hpp>

#include <cxxabi.h>

#include <cstddef>
#include <cstdlib>
#include <deque>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace dlpool {
namespace [[gnu::visibility("hidden")]] sdk_detail {

/// The name DLPOOL_TASK(ns::fn) exports: "fn". Callers name tasks, not C++ scopes.
constexpr std::string_view task_name(std::string_view spelled) {
  if (const auto colon = spelled.rfind("::"); colon != std::string_view::npos) spelled.remove_prefix(colon + 2);
  return spelled;
}

/// What a view parameter is decoded into where it cannot point into the bytes (JSON, whose
/// strings are unescaped): the value it views.
template <class T>
struct Owned {
  using type = T;
};
template <>
struct Owned<std::string_view> {
  using type = std::string;
};
template <>
struct Owned<std::span<const std::byte>> {
  using type = std::vector<unsigned char>;
};

/// An argument as its parameter takes it: an owned value as the view its parameter is.
template <class P, class V>
decltype(auto) as_param(V& value) {
  if constexpr (std::is_same_v<P, std::span<const std::byte>> && !std::is_same_v<V, P>)
    return std::as_bytes(std::span<const unsigned char>{value});
  else
    return std::move(value);
}

/// A result as JSON encodes it: a view as the value it views.
template <class V>
decltype(auto) as_owned(const V& value) {
  if constexpr (std::is_same_v<V, std::string_view>) {
    return std::string{value};
  } else if constexpr (std::is_same_v<V, std::span<const std::byte>>) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
    return std::vector<unsigned char>(bytes, bytes + value.size());
  } else {
    return (value);
  }
}

template <class F>
struct FnTraits;
template <class R, class... A>
struct FnTraits<R (*)(A...)> {
  using Result = R;
  using Params = std::tuple<std::remove_cvref_t<A>...>;
  using Args = Params;  // binary: views decoded in place
  using OwnedArgs = std::tuple<typename Owned<std::remove_cvref_t<A>>::type...>;  // JSON
  /// The compile-time text both the manifest section and the run-time manifest carry.
  static constexpr std::string_view signature = wire::signature_text<R, std::remove_cvref_t<A>...>.view();
};
template <class R, class... A>
struct FnTraits<R (*)(A...) noexcept> : FnTraits<R (*)(A...)> {};

inline void write(dlpool_sink* out, std::string_view bytes) { out->write(out->context, bytes.data(), bytes.size()); }

/// Results of a chunk's items, gathered for one sink write instead of one per item. An item's
/// error record must be the sink's last write (the worker tells it from the results that way), so
/// what is gathered goes out before it.
class PendingResults {
 public:
  explicit PendingResults(dlpool_sink* out) : out_{out} {}
  std::string& buffer() { return bytes_; }
  /// Writes out what is gathered once it is this large, so that a chunk of many items does not
  /// hold all their results twice.
  void flush_if_large() {
    if (bytes_.size() >= 64 * 1024) flush();
  }
  void flush() {
    if (bytes_.empty()) return;
    write(out_, bytes_);
    bytes_.clear();
  }

 private:
  dlpool_sink* out_;
  std::string bytes_;
};

/// The error record: u32 item, str type, str message.
inline int fail(dlpool_sink* out, int status, std::uint32_t item, std::string_view type, std::string_view message,
                PendingResults* pending = nullptr) {
  if (pending != nullptr) pending->flush();
  std::string record;
  wire::put(record, item);
  wire::put_string(record, type);
  wire::put_string(record, message);
  write(out, record);
  return status;
}

/// Name of the exception being handled, demangled ("std::out_of_range"). The last one is kept:
/// a task that fails usually fails the same way again, and demangling costs more than the copy.
inline std::string current_exception_type() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  if (type == nullptr) return "unknown exception";
  thread_local std::string last_mangled, last_name;  // by name: a type_info's address may be reused
  if (last_mangled != type->name()) {
    int status = 0;
    char* name = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
    last_name = status == 0 && name ? name : type->name();
    std::free(name);
    last_mangled = type->name();
  }
  return last_name;
}

/// Fn called with `args` (Args or OwnedArgs), each as its parameter takes it.
template <auto Fn, class Tuple, std::size_t... I>
decltype(auto) call(Tuple& args, std::index_sequence<I...>) {
  using Params = typename FnTraits<decltype(Fn)>::Params;
  if constexpr (std::is_same_v<Tuple, Params>)
    return std::apply(Fn, std::move(args));  // nothing to convert
  else
    return Fn(as_param<std::tuple_element_t<I, Params>>(std::get<I>(args))...);
}

/// Calls Fn with the arguments in `args`, catching what it throws into an error record.
template <auto Fn, class Tuple, class Emit>
int invoke(Tuple& args, std::uint32_t item, dlpool_sink* out, Emit&& emit, PendingResults* pending = nullptr) {
  using R = typename FnTraits<decltype(Fn)>::Result;
  constexpr auto each = std::make_index_sequence<std::tuple_size_v<Tuple>>{};
  try {
    if constexpr (std::is_void_v<R>) {
      call<Fn>(args, each);
      return emit();
    } else {
      R result = call<Fn>(args, each);
      return emit(result);
    }
  } catch (const std::exception& e) {
    return fail(out, dlpool_status_task_exception, item, current_exception_type(), e.what(), pending);
  } catch (...) {
    return fail(out, dlpool_status_task_exception, item, current_exception_type(),
                "a non-standard exception was thrown", pending);
  }
}

template <auto Fn>
int run_chunk(const char* items, std::size_t size, dlpool_sink* out) noexcept {
  using Args = typename FnTraits<decltype(Fn)>::Args;
  std::uint32_t item = 0;
  try {
    wire::BinaryDecoder decoder;
    wire::BinaryEncoder encoder;
    PendingResults pending{out};
    wire::ByteReader in{items, size};
    const auto count = in.get<std::uint32_t>("item count");
    for (; item < count; ++item) {
      Args args;
      try {
        const auto bytes = in.get_string("item");
        std::apply([&](auto&... arg) { decoder.decode(bytes, arg...); }, args);
      } catch (const std::bad_alloc&) {
        // An argument too large for the memory there is (the worker's limit): the task's kind of
        // failure, which a worker under a memory limit reports as that limit, not as bad bytes.
        return fail(out, dlpool_status_task_exception, item, "std::bad_alloc", "out of memory decoding the arguments",
                    &pending);
      } catch (const std::exception& e) {
        return fail(out, dlpool_status_bad_arguments, item, "dlpool::DecodeError", e.what(), &pending);
      }
      const int status = invoke<Fn>(
          args, item, out,
          [&](const auto&... result) {
            if constexpr (wire::direct_bytes<std::remove_cvref_t<decltype(result)>...> &&
                          !wire::raw_bytes<std::remove_cvref_t<decltype(result)>...>) {
          // A string or a vector of numbers goes straight to the sink, not through a buffer
          // first: the worker then copies a large result once, into the frame it sends.
              pending.flush();
              const auto size = static_cast<std::uint32_t>(wire::direct_size(result...));
              out->write(out->context, reinterpret_cast<const char*>(&size), sizeof size);
              (wire::write_direct(result, [&](const char* data, std::size_t n) { out->write(out->context, data, n); }),
               ...);
            } else {
              auto& encoded = pending.buffer();
              const auto before = encoded.size();
              try {
                encoder.append_item(encoded, result...);
              } catch (const std::exception& e) {
                encoded.resize(before);  // the item's partial encoding goes nowhere
                return fail(out, dlpool_status_bad_result, item, current_exception_type(), e.what(), &pending);
              }
              pending.flush_if_large();
            }
            return int{dlpool_status_ok};
          },
          &pending);
      if (status != dlpool_status_ok) return status;
    }
    pending.flush();
    return dlpool_status_ok;
  } catch (...) {  // only allocation can get here
    return fail(out, dlpool_status_task_exception, item, current_exception_type(), "out of memory in the SDK");
  }
}

template <auto Fn>
int run_json(const char* json, std::size_t size, dlpool_sink* out) noexcept {
  typename FnTraits<decltype(Fn)>::OwnedArgs args;
  try {
    wire::from_json_args(std::string_view{json, size}, args);
  } catch (const std::exception& e) {
    return fail(out, dlpool_status_bad_arguments, 0, "dlpool::DecodeError", e.what());
  }
  return invoke<Fn>(args, 0, out, [&](const auto&... result) {
    std::string text;
    try {
      if constexpr (sizeof...(result) == 0)
        text = "null";
      else
        text = wire::to_json(as_owned(result)...);
    } catch (const std::exception& e) {
      return fail(out, dlpool_status_bad_result, 0, current_exception_type(), e.what());
    }
    write(out, text);
    return int{dlpool_status_ok};
  });
}

/// A plugin's tasks, collected by DLPOOL_TASK's static registrations before dlopen returns.
class Registry {
 public:
  Registry(const char* plugin, const char* version) noexcept
      : manifest_{DLPOOL_SDK_ABI_VERSION, plugin, version, 0, nullptr} {}

  template <auto Fn>
  bool add(std::string_view spelled) {
    const auto& name = strings_.emplace_back(task_name(spelled));
    const auto& signature = strings_.emplace_back(FnTraits<decltype(Fn)>::signature);
    tasks_.push_back({name.c_str(), signature.c_str(), &run_chunk<Fn>, &run_json<Fn>});
    return true;
  }

  const dlpool_manifest* manifest() noexcept {
    manifest_.task_count = tasks_.size();
    manifest_.tasks = tasks_.data();
    return &manifest_;
  }

 private:
  dlpool_manifest manifest_;
  std::deque<std::string> strings_;  // deque: c_str() pointers stay valid as it grows
  std::vector<dlpool_task_info> tasks_;
};

/// Defined once per plugin by DLPOOL_PLUGIN.
Registry& registry();

}  // namespace sdk_detail
}  // namespace dlpool
