#include "pool_setup.hpp"

#include <dlpool/wire/plugin_files.hpp>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace dlpool::cli {

void add_pool_settings(CLI::App& app, GlobalOptions& global) {
  const auto group = "Workers (call, map, workers)";
  app.add_option("--memory-limit", global.memory_limit,
                 "memory each worker may use, e.g. 512M (RLIMIT_DATA, or with --cgroup its memory.max): a task "
                 "that runs out fails its item with ResourceLimitError, and its worker is replaced")
      ->transform(CLI::AsSizeValue(false))
      ->type_name("SIZE")
      ->group(group);
  app.add_option("--cpu-limit", global.cpu_limit_seconds,
                 "CPU seconds an item may use (RLIMIT_CPU): past it, its worker is killed and the item fails with "
                 "ResourceLimitError")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 31))
      ->type_name("SECONDS")
      ->group(group);
  app.add_option("--open-files", global.open_files, "file descriptors each worker may have open (RLIMIT_NOFILE)")
      ->check(CLI::Range(std::uint64_t{16}, std::uint64_t{1} << 31))
      ->type_name("N")
      ->group(group);
  app.add_option("--max-memory-per-child", global.max_memory_per_child,
                 "resident memory after which a worker is replaced once it has answered its item, e.g. 1G")
      ->transform(CLI::AsSizeValue(false))
      ->type_name("SIZE")
      ->group(group);
  app.add_option("--cgroup", global.cgroup,
                 "a cgroup v2 directory delegated to dlpool: each worker gets a cgroup in it for --memory-limit "
                 "(rlimits if it cannot be used; `dlpool workers` says which)")
      ->type_name("DIR")
      ->group(group);
  app.add_flag("--sandbox{on}", global.sandbox,
               "run tasks under a seccomp filter: signals only to their own processes, no ptrace; "
               "--sandbox=no-network also refuses sockets but AF_UNIX ones")
      ->check(CLI::IsMember({"on", "no-network"}))
      ->group(group);
  app.add_option_function<double>(
         "--start-timeout",
         [&global](double seconds) {
           global.start_timeout = std::chrono::milliseconds{static_cast<long long>(seconds * 1000 + 0.5)};
         },
         "seconds a worker may take to start and run the initializer (default 30): a pool none of whose "
         "workers start fails its work with WorkerStartError")
      ->check(CLI::Range(0.001, 1e6))
      ->type_name("SECONDS")
      ->group(group);
}

PoolOptions pool_options(const GlobalOptions& global) {
  PoolOptions options;
  options.plugin_path = global.plugin_path;
  options.limits.memory_bytes = global.memory_limit;
  if (global.cpu_limit_seconds)
    options.limits.cpu_time = std::chrono::seconds{static_cast<std::chrono::seconds::rep>(*global.cpu_limit_seconds)};
  options.limits.open_files = global.open_files;
  options.limits.max_memory_per_child = global.max_memory_per_child;
  options.limits.cgroup = global.cgroup;
  if (global.sandbox == "on") options.sandbox = Sandbox::on;
  if (global.sandbox == "no-network") options.sandbox = Sandbox::no_network;
  if (global.start_timeout) options.start_timeout = *global.start_timeout;
  return options;
}

std::vector<std::string> plugin_dirs(const GlobalOptions& global) {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs;
  const auto add = [&dirs](const std::string& path) {  // an entry may itself hold several dirs
    for (auto& dir : wire::split_search_path(path)) dirs.push_back(std::move(dir));
  };
  for (const auto& entry : global.plugin_path) add(entry);
  if (const char* env = std::getenv("DLPOOL_PLUGIN_PATH"); env != nullptr) add(env);
  // The worker derives its own from /proc/self/exe, which names the resolved file.
  try {
    std::error_code ec;
    const auto worker = fs::canonical(worker_executable(), ec);
    if (!ec) dirs.push_back((worker.parent_path().parent_path() / "lib" / "dlpool" / "plugins").string());
  } catch (const std::runtime_error&) {  // no worker: no installation dir to add
  }
  return dirs;
}

std::string worker_executable() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("DLPOOL_WORKER"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw std::runtime_error{"cannot locate dlpool-worker: /proc/self/exe: " + ec.message() + " (set $DLPOOL_WORKER)"};
  const auto worker = self.parent_path() / "dlpool-worker";
  if (!fs::is_regular_file(worker, ec))
    throw std::runtime_error{"dlpool-worker not found at " + worker.string() + " (set $DLPOOL_WORKER)"};
  return worker.string();
}

}  // namespace dlpool::cli
