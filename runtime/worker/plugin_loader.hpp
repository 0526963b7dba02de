#pragma once

#include <dlpool/wire/abi.hpp>
#include <dlpool/wire/frame.hpp>
#include <dlpool/wire/plugin_report.hpp>

#include "file_identity.hpp"
#include "plugin_file/elf_reader.hpp"

#include <boost/dll/shared_library.hpp>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlpool::worker {

/// A request the worker cannot serve: sent back to the host as an error record of `kind`.
class RequestError : public std::runtime_error {
 public:
  RequestError(wire::ErrorKind kind, const std::string& message) : std::runtime_error{message}, kind_{kind} {}
  [[nodiscard]] wire::ErrorKind kind() const noexcept { return kind_; }

 private:
  wire::ErrorKind kind_;
};

struct LoadedPlugin {
  boost::dll::shared_library library;
  std::string path;
  const dlpool_manifest* manifest = nullptr;
  wire::PluginReport report;  // name, path, version, inode and SHA-256 of the bytes loaded
  std::map<std::string, const dlpool_task_info*, std::less<>> tasks;

  /// The task, or RequestError(task_not_found) listing what the plugin does export.
  const dlpool_task_info& task(std::string_view name) const;
};

/// Finds plugins by name on the search path and loads each at most once. Plugins are never
/// unloaded: code of theirs may still be referenced (see boost-dll notes), and a new version is
/// picked up by a new worker, not by reloading in place.
class PluginLoader {
 public:
  explicit PluginLoader(std::vector<std::string> search_path) : search_path_{std::move(search_path)} {}

  /// Loads only files with these SHA-256s (lowercase hex, by plugin name): an MPI agent's
  /// workers load what the host saw, or refuse (plugin_load_failed naming both hashes).
  void expect(std::map<std::string, std::string, std::less<>> sha256) { expected_ = std::move(sha256); }

  /// Throws RequestError: plugin_not_found (bad name, no file), plugin_load_failed (dlopen's
  /// message, no manifest, another SDK ABI, a name that does not match the file).
  const LoadedPlugin& get(std::string_view name);

  /// Plugins loaded since the last call, for the worker to report to the host.
  std::vector<const LoadedPlugin*> take_fresh() { return std::exchange(fresh_, {}); }

  /// Reads, hashes and checks the symbols of the file that get(name) would load now, without
  /// loading it: the fork server does so for the plugins its pool uses, and every worker cloned
  /// from it afterwards skips that work for a file that has not changed since. Any error is left
  /// for get() to report.
  void inspect_ahead(std::string_view name) noexcept;

 private:
  /// What loading a file takes to know before dlopen, learnt from its bytes.
  struct Inspection {
    FileKey key;
    FileIdentity identity;
    detail::PluginSymbols symbols;
    bool reusable = false;  // the file had settled (FileKey::settled) when it was read
  };

  std::string find(std::string_view name) const;
  /// The file's inspection: kept from an earlier one while its key is unchanged (and the file had
  /// settled when it was read), else made now.
  /// Throws std::system_error (unreadable), detail::ElfError (not an ELF shared object) or
  /// std::runtime_error (refused from its size or first bytes).
  const Inspection& inspect(const std::string& path);

  std::vector<std::string> search_path_;
  std::map<std::string, Inspection, std::less<>> inspected_;  // by path
  std::map<std::string, std::unique_ptr<LoadedPlugin>, std::less<>> loaded_;
  std::vector<const LoadedPlugin*> fresh_;
  std::optional<std::map<std::string, std::string, std::less<>>> expected_;
};

}  // namespace dlpool::worker
