#include "plugin_loader.hpp"

#include "log/log.hpp"

#include <dlpool/wire/plugin_files.hpp>
#include <dlpool/wire/plugin_name.hpp>

#include <algorithm>
#include <cstring>
#include <system_error>

#include <dlfcn.h>
#include <sys/stat.h>

namespace dlpool::worker {

const dlpool_task_info& LoadedPlugin::task(std::string_view name) const {
  if (const auto it = tasks.find(name); it != tasks.end()) return *it->second;
  std::string exported;
  for (const auto& [task_name, info] : tasks) exported += (exported.empty() ? "" : ", ") + task_name;
  throw RequestError{wire::ErrorKind::task_not_found,
                     "plugin '" + std::string{manifest->plugin} + "' (" + path + ") has no task '" +
                         wire::printable_name(name) + "'; it exports: " + (exported.empty() ? "nothing" : exported)};
}

std::string PluginLoader::find(std::string_view name) const {
  if (auto found = wire::find_plugin_file(name, search_path_); !found.empty()) return found;
  std::string searched;
  for (const auto& dir : search_path_) searched += (searched.empty() ? "" : ", ") + dir;
  throw RequestError{wire::ErrorKind::plugin_not_found,
                     "plugin '" + std::string{name} + "' not found: no lib" + std::string{name} + ".so or " +
                         std::string{name} + ".so in " + (searched.empty() ? "an empty search path" : searched)};
}

const PluginLoader::Inspection& PluginLoader::inspect(const std::string& path) {
  if (const auto it = inspected_.find(path);
      it != inspected_.end() && it->second.reusable && file_key(path) == it->second.key)
    return it->second;
  const FileImage image{path};
  Inspection fresh{image.key(), image.identity(), detail::ElfReader{image.bytes()}.plugin_symbols(),
                   image.key().settled()};
  return inspected_.insert_or_assign(path, std::move(fresh)).first->second;
}

void PluginLoader::inspect_ahead(std::string_view name) noexcept {
  if (loaded_.contains(name) || !wire::valid_plugin_name(name)) return;
  try {
    (void)inspect(find(name));
  } catch (const std::exception&) {  // get() reports it, in the worker that needs the plugin
  }
}

const LoadedPlugin& PluginLoader::get(std::string_view name) {
  if (const auto it = loaded_.find(name); it != loaded_.end()) return *it->second;
  if (!wire::valid_plugin_name(name))
    throw RequestError{wire::ErrorKind::plugin_not_found, wire::invalid_plugin_name_message(name)};

  auto plugin = std::make_unique<LoadedPlugin>();
  plugin->path = find(name);
  const auto failed = [&](const std::string& why) {
    return RequestError{wire::ErrorKind::plugin_load_failed,
                        "plugin '" + std::string{name} + "' (" + plugin->path + ") " + why};
  };
  // What the host is told (inode, SHA-256) must be what runs. The file is identified through a
  // descriptor opened before dlopen (or recognised by its FileKey as one identified so before,
  // see inspect_ahead), and its path checked again after: a rename() in between
  // (a hot swap under way) makes us identify the file the path now names, which is the one
  // dlopen found unless the path flipped twice within this window. (Loading through
  // /proc/self/fd/N would be exact, but gives the plugin a path that a debugger cannot follow,
  // and the dynamic linker matches loaded objects by that name, so a reused fd number aliases.)
  FileIdentity identity;
  detail::PluginSymbols symbols;
  try {
    const auto& inspection = inspect(plugin->path);
    identity = inspection.identity;
    symbols = inspection.symbols;
  } catch (const std::system_error& e) {
    throw failed(std::string{"cannot be read: "} + e.what());
  } catch (const detail::ElfError& e) {  // says what the file is
    throw failed(std::string{"is "} + e.what());
  } catch (const std::runtime_error& e) {
    throw failed(e.what());
  }
  // Decided from the symbol table, before dlopen: a file that is no plugin of ours, or one built
  // for another ABI, never gets to run a static constructor in this worker.
  if (!symbols.manifest)
    throw failed("is not a dlpool plugin: it exports no " DLPOOL_MANIFEST_SYMBOL " (built without DLPOOL_PLUGIN?)");
  if (std::ranges::find(symbols.abi_versions, DLPOOL_SDK_ABI_VERSION) == symbols.abi_versions.end())
    throw failed(symbols.abi_versions.empty()
                     ? std::string{"declares no SDK ABI version (no " DLPOOL_SDK_ABI_MARKER_PREFIX "N symbol): it was "
                                   "built with an older SDK; rebuild it"}
                     : "was built against SDK ABI " + std::to_string(symbols.abi_versions.front()) +
                           ", this worker speaks ABI " + std::to_string(DLPOOL_SDK_ABI_VERSION) + ": rebuild it");
  if (expected_) {
    const auto it = expected_->find(name);
    if (it == expected_->end()) throw failed("is not on the host's plugin path: the host saw no plugin of that name");
    if (it->second != identity.sha256)
      throw failed("has SHA-256 " + identity.sha256 + ", the host's copy " + it->second +
                   ": every node must see the host's plugin files (a shared file system), or ship them "
                   "(MpiOptions::ship_plugins, dlpool map --ship-plugins)");
  }
  // rtld_now: an unresolved symbol fails here, with dlopen's message, not in the middle of a task.
  // rtld_local: plugins cannot interpose on each other.
  std::error_code ec;
  plugin->library.load(plugin->path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (!ec) {
    struct stat now {};
    if (::stat(plugin->path.c_str(), &now) == 0 && static_cast<std::uint64_t>(now.st_ino) != identity.inode) try {
        identity = identify_path(plugin->path);
      } catch (const std::system_error&) {  // gone again: keep what was read before
      }
  }
  if (ec) {
    const char* why = ::dlerror();  // Boost.DLL leaves dlopen's own message in place on failure
    throw failed(std::string{"failed to load: "} + (why ? why : ec.message()));
  }
  // The symbol table said so; checked again on what the dynamic linker really loaded.
  if (!plugin->library.has(DLPOOL_MANIFEST_SYMBOL))
    throw failed("is not a dlpool plugin: it exports no " DLPOOL_MANIFEST_SYMBOL " (built without DLPOOL_PLUGIN?)");
  const auto* manifest = plugin->library.get<const dlpool_manifest*()>(DLPOOL_MANIFEST_SYMBOL)();
  if (manifest == nullptr || manifest->abi_version != DLPOOL_SDK_ABI_VERSION)
    throw failed("was built against SDK ABI " + std::to_string(manifest ? manifest->abi_version : 0) +
                 ", this worker speaks ABI " + std::to_string(DLPOOL_SDK_ABI_VERSION) + ": rebuild it");
  if (std::strcmp(manifest->plugin, std::string{name}.c_str()) != 0)
    throw failed(std::string{"declares itself as plugin '"} + manifest->plugin + "'");
  plugin->manifest = manifest;
  plugin->report = {std::string{name}, plugin->path, manifest->version, identity.inode, std::move(identity.sha256)};
  for (std::size_t i = 0; i < manifest->task_count; ++i)
    plugin->tasks.emplace(manifest->tasks[i].name, &manifest->tasks[i]);
  const auto& loaded = *loaded_.emplace(std::string{name}, std::move(plugin)).first->second;
  fresh_.push_back(&loaded);
  detail::log(detail::LogLevel::debug, "loaded plugin {} {} from {} (inode {}, sha256 {})", loaded.report.name,
              loaded.report.version, loaded.report.path, loaded.report.inode, loaded.report.sha256);
  return loaded;
}

}  // namespace dlpool::worker
