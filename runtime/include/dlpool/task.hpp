#pragma once
// Typed handles naming a task in a plugin: dlpool::Task<int(int)> square{"math", "square"}.

#include <dlpool/wire/signature.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace dlpool {

namespace detail {

/// What every task handle names: the plugin, the task, its signature, and an optional time limit.
class TaskHandle {
 public:
  [[nodiscard]] const std::string& plugin() const noexcept { return plugin_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& signature() const noexcept { return signature_; }
  /// The per-item time limit set by with_timeout(), if any.
  [[nodiscard]] const std::optional<std::chrono::milliseconds>& timeout() const noexcept { return timeout_; }

 protected:
  TaskHandle(std::string plugin, std::string name, std::string signature)
      : plugin_{std::move(plugin)}, name_{std::move(name)}, signature_{std::move(signature)} {}

  std::string plugin_, name_, signature_;
  std::optional<std::chrono::milliseconds> timeout_;
};

/// A plugin's parameter or result types that view bytes (see wire/codec.hpp).
template <class T>
inline constexpr bool is_view = std::is_same_v<std::remove_cvref_t<T>, std::string_view> ||
                                std::is_same_v<std::remove_cvref_t<T>, std::span<const std::byte>>;

}  // namespace detail

template <class Signature>
class Task;

/// A task `name` exported by plugin `plugin`, called with arguments Args... and returning R. The
/// signature is checked by the worker before any argument is decoded: a mismatch fails the call
/// with SignatureMismatch. Cheap to copy; thread-safe to share.
template <class R, class... Args>
class Task<R(Args...)> : public detail::TaskHandle {
  // The arguments are stored until the task handler encodes them, the result kept until read:
  // a view could outlive what it shows. A plugin's views take these values (see embedding.md).
  static_assert(!detail::is_view<R> && !(detail::is_view<Args> || ...),
                "a host's Task<> takes and returns values: std::string where the plugin has std::string_view, "
                "std::vector<unsigned char> where it has std::span<const std::byte>");

 public:
  using Result = R;

  Task(std::string plugin, std::string name)
      : TaskHandle{std::move(plugin), std::move(name), wire::signature<R, std::remove_cvref_t<Args>...>()} {}

  /// This task with a time limit per item, overriding PoolOptions::task_timeout: a chunk of n
  /// items that runs longer than n * limit fails with TaskTimeout, and its worker is stopped and
  /// replaced.
  [[nodiscard]] Task with_timeout(std::chrono::milliseconds limit) const {
    Task limited = *this;
    limited.timeout_ = limit;
    return limited;
  }
};

/// A task called with JSON text: arguments as a JSON array (`["ab", 3]`), the result as JSON text
/// (`"ababab"`). What the `dlpool` command line uses; no signature is checked, the plugin decodes
/// the JSON against its own parameter types and reports a mismatch as EncodingError.
class JsonTask : public detail::TaskHandle {
 public:
  using Result = std::string;

  JsonTask(std::string plugin, std::string name) : TaskHandle{std::move(plugin), std::move(name), {}} {}

  /// As Task::with_timeout.
  [[nodiscard]] JsonTask with_timeout(std::chrono::milliseconds limit) const {
    JsonTask limited = *this;
    limited.timeout_ = limit;
    return limited;
  }
};

}  // namespace dlpool
