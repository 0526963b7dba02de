#pragma once
// Running a helper executable to completion and collecting what it printed.

#include <string>
#include <vector>

namespace dlpool::cli {

struct Captured {
  int wait_status = 0;  // as waitpid() reports it: use WIFEXITED/WEXITSTATUS/WTERMSIG
  std::string out, err;
};

/// Runs `argv[0]` (a path, not looked up in $PATH) with `argv` and stdin on /dev/null, collects
/// all of its stdout and stderr, and reaps it. Blocks until it exits. Throws std::system_error if
/// it cannot be started; the child is killed and reaped on any error, so none is left behind.
[[nodiscard]] Captured run_captured(const std::vector<std::string>& argv);

/// "exited with status 3" / "was killed by SIGSEGV", for messages.
[[nodiscard]] std::string describe_wait_status(int wait_status);

}  // namespace dlpool::cli
