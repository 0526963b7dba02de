// `dlpool call PLUGIN TASK JSON-ARGS`: one call in a one-worker pool. stdout gets the bare JSON
// result, or {"error": {...}} and exit status 1.

#include "commands.hpp"
#include "failure.hpp"
#include "json_text.hpp"
#include "pool_setup.hpp"

#include <dlpool/pool.hpp>

#include <cstdio>
#include <string>

namespace dlpool::cli {
namespace {

void print_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace

int run_call(const GlobalOptions& global, const CallOptions& options) {
  if (const auto problem = arguments_problem(options.arguments)) {
    print_line(error_object(invalid_arguments_type, "arguments: " + *problem));
    return 1;
  }
  try {
    auto pool_options = cli::pool_options(global);
    pool_options.processes = 1;
    Pool pool{std::move(pool_options)};
    auto result = pool.apply(JsonTask{options.plugin, options.task}, options.arguments);
    pool.close();
    pool.join();
    print_line(one_line(std::move(result)));
    return 0;
  } catch (const UsageError&) {
    throw;  // our misuse of the pool, not a failed call
  } catch (...) {
    const auto failure = failure_of(std::current_exception());
    print_line(error_object(failure.type, failure.message));
    return 1;
  }
}

}  // namespace dlpool::cli
