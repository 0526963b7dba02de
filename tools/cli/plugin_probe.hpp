#pragma once
// A throwaway dlpool-worker that loads one plugin and says whether it could: what vouches for a
// file before `dlpool install` publishes it.

#include <dlpool/wire/plugin_report.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

namespace dlpool::cli {

/// The probe could not load the plugin; what() gives the worker's reason (dlopen's message, a
/// missing manifest, another ABI, a name that does not match) or how the worker died.
class ProbeFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Starts a dlpool-worker whose plugin path is `dir` alone (then its own installed dir, which
/// it always adds last), asks it to load plugin `name` with the worker protocol's `load` frame,
/// and stops it. Blocks until it answers, dies or `limit` passes (a static constructor that
/// blocks); the worker is reaped in every case. Returns what the worker reports of the file it
/// loaded. Throws ProbeFailed, or std::system_error if no worker can be started.
[[nodiscard]] wire::PluginReport probe_plugin(const std::string& dir, const std::string& name,
                                              std::chrono::milliseconds limit);

}  // namespace dlpool::cli
