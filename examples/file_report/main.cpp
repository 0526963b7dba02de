// file_report: a wc-like report of text files, counted on a dlpool process pool by the bundled
// `text` plugin. An example of embedding dlpool in a program: options from its own JSON config
// file, results streamed in input order through imap, a file that cannot be counted reported on
// stderr while the others go on, and an exit status that says whether everything was counted.
//
//   file_report --config file_report.json FILE...   (no FILE: names come from stdin, one per line)
//
// stdout: "lines words bytes longest-line path" for each file counted, in input order, then the
//         totals of those files
// stderr: "file_report: PATH: why" for each file that could not be counted
// exit status: 0 every file counted, 1 some could not be, 2 bad usage or config, or no pool

#include "file_names.hpp"
#include "report_config.hpp"

#include <dlpool/errors.hpp>
#include <dlpool/plugins/text.hpp>
#include <dlpool/pool.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <iomanip>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

namespace {

void print_row(std::uint64_t lines, std::uint64_t words, std::uint64_t bytes, std::uint64_t longest,
               const std::string& name) {
  // Flushed line by line: a reader of a pipe sees each file as soon as it is counted.
  std::cout << std::setw(8) << lines << ' ' << std::setw(8) << words << ' ' << std::setw(8) << bytes << ' '
            << std::setw(8) << longest << ' ' << name << std::endl;
}

/// Counts every file through the pool and prints the report. Returns the number of files that
/// could not be counted.
int report(const file_report::ReportConfig& config, file_report::FileNames& names) {
  dlpool::Pool pool{config.pool_options()};
  const dlpool::Task<text::FileStats(std::string)> file_stats{"text", "file_stats"};
  text::FileStats total;
  int failed = 0;
  // A generator, not a vector: names are read only as workers become free.
  auto results = pool.imap(
      file_stats, [&names] { return names.next(); }, config.chunksize);
  for (;;) {
    try {
      const auto stats = results.next();
      if (!stats) break;
      print_row(stats->lines, stats->words, stats->bytes, stats->longest_line, names.take());
      total.lines += stats->lines;
      total.words += stats->words;
      total.bytes += stats->bytes;
      total.longest_line = std::max(total.longest_line, stats->longest_line);
    } catch (const dlpool::PoolTerminated&) {
      throw;  // not about one file: nothing more will come
    } catch (const dlpool::RemoteError& e) {
      // The task threw: its message already names the call and the cause ("open(x): No such file...").
      std::cerr << "file_report: " << names.take() << ": " << e.remote_message() << std::endl;
      ++failed;
    } catch (const dlpool::Error& e) {
      // Not the file's fault but this item's alone (a timeout, a worker that died): the rest go on.
      std::cerr << "file_report: " << names.take() << ": " << e.what() << std::endl;
      ++failed;
    }
  }
  print_row(total.lines, total.words, total.bytes, total.longest_line, "total");
  pool.close();
  pool.join();
  return failed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"file_report: lines, words, bytes and longest line of text files, counted on a dlpool pool"};
  std::string config_file;
  std::vector<std::string> files;
  app.add_option("-c,--config", config_file,
                 "JSON settings: processes, chunksize, imap_window, task_timeout_ms, plugin_path")
      ->required();
  app.add_option("files", files, "files to count (none: read their names from stdin, one per line)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    const auto config = file_report::load_config(config_file);
    file_report::FileNames names = files.empty() ? file_report::FileNames{std::cin} : file_report::FileNames{files};
    return report(config, names) == 0 ? 0 : 1;
  } catch (const file_report::ConfigError& e) {
    std::cerr << "file_report: " << e.what() << std::endl;
  } catch (const dlpool::Error& e) {  // options the pool refused, a pool terminated
    std::cerr << "file_report: " << e.what() << std::endl;
  } catch (const std::system_error& e) {  // no worker executable, out of processes or fds
    std::cerr << "file_report: cannot start the pool: " << e.what() << std::endl;
  }
  return 2;
}
