#pragma once
// What the mains of dlpool-bench and dlpool-mpi-bench share: running a workload that was asked
// for, and, once their options are declared, parsing, the checks CLI11 cannot make, running, and
// the exit status each case gets.

#include "report.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

namespace dlpool::bench {

inline constexpr int usage_status = 2;

/// Runs one workload if `settings` asks for it, naming it in any error it throws.
template <class Settings>
void run(const Settings& settings, const std::string& name, const std::function<Row()>& measure) {
  if (!settings.wants(name)) return;
  try {
    const auto row = measure();
    // --only selects by this name, the table by the row's: they must be one.
    if (row.workload() != name) throw std::logic_error{"reported as '" + row.workload() + "'"};
    emit(row);
  } catch (const std::exception& e) {
    throw std::runtime_error{name + ": " + e.what()};
  }
}

/// Parses the command line into `app`, then calls `check()` (which throws std::invalid_argument
/// for a value CLI11 cannot check, such as an unknown workload name) and `run()`. Returns 0, 0 for
/// --help, usage_status for a wrong command line, and 1 if `run` threw; errors go to stderr
/// after `program`'s name.
template <class Check, class Run>
int bench_main(CLI::App& app, int argc, char** argv, const char* program, Check check, Run run) {
  try {
    app.parse(argc, argv);
    check();
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : usage_status;  // --help is a success
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return usage_status;
  }
  try {
    run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  return 0;
}

}  // namespace dlpool::bench
