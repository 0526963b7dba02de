// `dlpool call PLUGIN TASK JSON-ARGS`: one call in a one-worker pool. stdout gets the bare JSON
// result, or {"error": {...}} and exit status 1; a signal stops the pool, and the call then ends
// with a PoolTerminated error object.

#include "commands.hpp"
#include "failure.hpp"
#include "json_text.hpp"
#include "pool_setup.hpp"
#include "standard_output.hpp"
#include "stop_signals.hpp"

#include <dlpool/pool.hpp>

#include <string>

namespace dlpool::cli {

int run_call(const GlobalOptions& global, const CallOptions& options, StopSignals& signals) {
  // Printed outside the try below: a write error is the command's failure, not the call's.
  StandardOutput out;
  if (const auto problem = arguments_problem(options.arguments)) {
    out.write_line(error_object(invalid_arguments_type, "arguments: " + *problem));
    return 1;
  }
  std::string line;
  try {
    auto pool_options = cli::pool_options(global);
    pool_options.processes = 1;
    Pool pool{std::move(pool_options)};
    auto pending = pool.apply_async(JsonTask{options.plugin, options.task}, options.arguments);
    // Once the call is in (a pool terminated before would refuse it): it then fails.
    const auto watch = signals.watch([&pool] { pool.terminate(); });
    auto result = std::move(pending).get();
    pool.close();
    pool.join();
    line = one_line(std::move(result));
  } catch (const UsageError&) {
    throw;  // our misuse of the pool, not a failed call
  } catch (...) {
    const auto failure = failure_of(std::current_exception());
    out.write_line(error_object(failure.type, failure.message));
    return 1;
  }
  out.write_line(line);
  return 0;
}

}  // namespace dlpool::cli
