// The consumer's host: calls its own plugin and a bundled one, then reports where the worker and
// each plugin it ran came from, so the test can check that everything was found in the moved
// prefix and nothing in dlpool's build tree.
//
//   consumer_host FILE   prints "key: value" lines; exit status 0 on success

#include <dlpool/plugins/text.hpp>
#include <dlpool/pool.hpp>

#include <exception>
#include <filesystem>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer_host FILE\n";
    return 2;
  }
  try {
    // One worker, so that a single worker reports every plugin loaded.
    dlpool::Pool pool{{.processes = 1, .plugin_path = {CONSUMER_PLUGIN_DIR}}};
    const dlpool::Task<std::string(std::string)> greet{"greet", "greet"};
    const dlpool::Task<std::string(std::string, int)> repeat{"text", "repeat"};
    const dlpool::Task<text::FileStats(std::string)> file_stats{"text", "file_stats"};

    std::cout << "greet: " << pool.apply(greet, "consumer") << '\n';
    std::cout << "repeat: " << pool.apply(repeat, "ab", 3) << '\n';
    std::cout << "file_stats bytes: " << pool.apply(file_stats, argv[1]).bytes << '\n';

    for (const auto& worker : pool.workers()) {
      std::cout << "worker: " << std::filesystem::read_symlink("/proc/" + std::to_string(worker.pid) + "/exe").string()
                << '\n';
      for (const auto& plugin : worker.plugins) std::cout << "plugin " << plugin.name << ": " << plugin.path << '\n';
    }
    pool.close();
    pool.join();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "consumer_host: " << e.what() << '\n';
    return 1;
  }
}
