// `dlpool install FILE [DIR]`: publishes a plugin file into a plugin directory atomically, once
// a throwaway worker has loaded it. Running workers keep the file they loaded; Pool::restart()
// (or new workers) pick up the new one.

#include "commands.hpp"
#include "plugin_manifest.hpp"
#include "plugin_probe.hpp"
#include "pool_setup.hpp"
#include "staged_file.hpp"

#include <dlpool/errors.hpp>
#include <dlpool/wire/plugin_files.hpp>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <sys/stat.h>

namespace dlpool::cli {
namespace {

// As Pool::restart()'s probe: a plugin whose static constructor blocks fails the install.
constexpr std::chrono::seconds probe_limit{30};

/// Replaces every occurrence of `from` in `text`: the worker names the staged copy, the user
/// knows the file they gave.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

int run_install(const GlobalOptions& global, const InstallOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(options.file, ec)) throw std::runtime_error{options.file + ": no such file"};
  std::string dir = options.dir;
  if (dir.empty()) {
    const auto dirs = plugin_dirs(global);
    if (dirs.empty())
      throw UsageError{"no plugin directory to install into: give DIR, --plugin-path or $DLPOOL_PLUGIN_PATH"};
    dir = dirs.front();
  }
  if (!fs::is_directory(dir, ec)) throw std::runtime_error{dir + ": not a directory"};

  // Which plugin this is, from its manifest section: nothing of it runs before the probe.
  const auto manifest = read_manifest(options.file);
  // The name a worker finds first in `dir`, so that the file replaced is the one workers load.
  const auto names = wire::plugin_file_names(manifest.plugin);
  std::string file_name = names[0];
  for (const auto& candidate : names)
    if (fs::is_regular_file(fs::path{dir} / candidate, ec)) {
      file_name = candidate;
      break;
    }
  const auto target = (fs::path{dir} / file_name).string();
  struct stat old {};
  const bool replacing = ::stat(target.c_str(), &old) == 0;
  struct stat source {};
  if (::stat(options.file.c_str(), &source) != 0) throw std::runtime_error{options.file + ": cannot stat"};
  const unsigned mode = (replacing ? old.st_mode : source.st_mode) & 07777;

  StagedFile staged{options.file, dir, file_name, mode};
  wire::PluginReport report;
  try {
    // The very inode the probe loads is the one published: no copy happens after it.
    report = probe_plugin(staged.directory(), manifest.plugin, probe_limit);
  } catch (const ProbeFailed& e) {
    std::fprintf(stderr, "dlpool: install aborted, %s %s: %s\n", target.c_str(),
                 replacing ? "left untouched" : "not created", replaced(e.what(), staged.path(), options.file).c_str());
    return 1;
  }
  const auto published = staged.publish();
  std::printf("installed %s %s as %s (inode %llu, sha256 %s)\n", report.name.c_str(), report.version.c_str(),
              published.c_str(), static_cast<unsigned long long>(report.inode), report.sha256.c_str());
  if (replacing)
    std::printf("replaced inode %llu: workers that loaded it keep it until they are restarted\n",
                static_cast<unsigned long long>(old.st_ino));
  return 0;
}

}  // namespace dlpool::cli
