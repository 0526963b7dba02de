#pragma once
// The fuzz targets: each takes one input and runs it through the code that reads that kind of
// bytes in dlpool, exactly as the pool or the worker would. They return normally for any input,
// including when that code rejects it with the exception it documents (a clean error); anything
// else (a crash, a sanitizer report, an undocumented exception, a malformed answer) is a bug.
//
// libFuzzer drives them (fuzzer.cpp, built with DLPOOL_FUZZ), and fuzz_replay_test runs every
// file of tests/fuzz/corpus/<target>/ through them in the ordinary build.

#include <string_view>

namespace dlpool::fuzz {

/// Bytes a worker writes on its result pipe, as the host reassembles and reads them
/// (FrameReader, then the payload of each frame kind); and bytes the host writes on a task pipe,
/// as the worker reads them (FrameInput). Input: one control byte (frame limit, number of
/// writes), then the byte stream.
void frames(std::string_view input);

/// The payload of a TASK frame, as the worker runs it (TaskRunner::run with the fuzzkit plugin
/// loaded: the plugin's SDK code decodes the Cereal arguments). The answer must be a RESULT frame
/// that the host can parse.
void task(std::string_view input);

/// The payload of a RESULT frame, as the host reads it (parse_result, then each item decoded as
/// the result type a Task<> expects, or the error record made into its exception). Input: one
/// byte choosing the result type, then the payload.
void result(std::string_view input);

/// Work done once, before the first input (the task target loads its plugin).
void init();

struct Target {
  const char* name;
  void (*run)(std::string_view);
};
inline constexpr Target targets[] = {{"frames", &frames}, {"task", &task}, {"result", &result}};

}  // namespace dlpool::fuzz
