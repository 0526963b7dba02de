// `dlpool map PLUGIN TASK`: one JSON array of arguments per stdin line in, one line per input
// line out, in input order: the bare JSON result or {"error": {...}}. Input is read only as
// workers become free, so results stream out before the input ends. A summary goes to stderr.

#include "argument_lines.hpp"
#include "commands.hpp"
#include "failure.hpp"
#include "json_text.hpp"
#include "pool_setup.hpp"

#include <dlpool/pool.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

namespace dlpool::cli {
namespace {

/// One result line, flushed at once: a consumer downstream of a pipe sees it while we work on.
void emit(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace

int run_map(const GlobalOptions& global, const MapOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  // Declared before the pool: its task-handler thread reads the lines until the pool is gone.
  ArgumentLines lines{stdin};
  auto pool_options = cli::pool_options(global);
  pool_options.processes = options.jobs;
  Pool pool{std::move(pool_options)};
  auto results = pool.imap(JsonTask{options.plugin, options.task}, [&lines] { return lines.next(); },
                           options.chunksize);

  std::size_t items = 0, failed = 0;
  const auto emit_failure = [&](const std::string& type, const std::string& message) {
    emit(error_object(type, message));
    ++items;
    ++failed;
  };
  // Malformed lines never became items: put their error lines back where they were read.
  const auto emit_problems_before = [&](std::size_t line) {
    for (const auto& problem : lines.take_problems_before(line))
      emit_failure(invalid_arguments_type, "line " + std::to_string(problem.line) + ": " + problem.message);
  };

  bool stopped = false;
  for (;;) {
    std::optional<std::string> result;
    std::exception_ptr error;
    try {
      result = results.next();
    } catch (...) {
      error = std::current_exception();
    }
    if (!result && !error) break;  // every item delivered, and the input is over
    const auto line = lines.take_item_line();
    if (!line) {
      // An outcome for an item that was never read: the pool stopped, and every further next()
      // would say the same. What is left of the input is not run.
      const auto why = error ? failure_of(error).message : std::string{"a result for an item never read"};
      std::fprintf(stderr, "dlpool: the pool stopped after %zu items: %s\n", items, why.c_str());
      stopped = true;
      break;
    }
    emit_problems_before(*line);
    if (error) {
      const auto failure = failure_of(error);
      emit_failure(failure.type, failure.message);
      continue;
    }
    try {
      emit(one_line(std::move(*result)));
      ++items;
    } catch (const std::exception& e) {
      emit_failure("EncodingError", "line " + std::to_string(*line) + ": " + e.what());
    }
  }
  if (!stopped) emit_problems_before(ArgumentLines::end_of_input);
  pool.close();
  pool.join();

  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  std::fprintf(stderr, "dlpool: %zu item%s, %d worker%s, %.3f s, %zu failed\n", items, items == 1 ? "" : "s",
               pool.processes(), pool.processes() == 1 ? "" : "s", wall.count(), failed);
  if (lines.read_failed()) {
    std::fprintf(stderr, "dlpool: error reading standard input: what followed line %zu was not run\n", items);
    return 1;
  }
  return failed == 0 && !stopped ? 0 : 1;
}

}  // namespace dlpool::cli
