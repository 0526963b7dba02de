#pragma once
// Typed handles naming a task in a plugin: dlpool::Task<int(int)> square{"math", "square"}.

#include <dlpool/wire/signature.hpp>

#include <string>
#include <utility>

namespace dlpool {

template <class Signature>
class Task;

/// A task `name` exported by plugin `plugin`, called with arguments Args... and returning R. The
/// signature is checked by the worker before any argument is decoded: a mismatch fails the call
/// with SignatureMismatch. Cheap to copy; thread-safe to share.
template <class R, class... Args>
class Task<R(Args...)> {
 public:
  using Result = R;

  Task(std::string plugin, std::string name)
      : plugin_{std::move(plugin)}, name_{std::move(name)}, signature_{wire::signature<R, std::remove_cvref_t<Args>...>()} {}

  [[nodiscard]] const std::string& plugin() const noexcept { return plugin_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& signature() const noexcept { return signature_; }

 private:
  std::string plugin_, name_, signature_;
};

/// A task called with JSON text: arguments as a JSON array (`["ab", 3]`), the result as JSON text
/// (`"ababab"`). What the `dlpool` command line uses; no signature is checked, the plugin decodes
/// the JSON against its own parameter types and reports a mismatch as EncodingError.
class JsonTask {
 public:
  using Result = std::string;

  JsonTask(std::string plugin, std::string name) : plugin_{std::move(plugin)}, name_{std::move(name)} {}

  [[nodiscard]] const std::string& plugin() const noexcept { return plugin_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::string& signature() const noexcept { return signature_; }

 private:
  std::string plugin_, name_, signature_;
};

}  // namespace dlpool
