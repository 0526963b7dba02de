#pragma once
// The plugin ABI: plain C structs and function pointers, nothing else. Only bytes cross it, so a
// plugin built with another standard library, or one whose exceptions would be unsafe to unwind
// through the worker, can never corrupt the worker: every error comes back as a record.

#include <cstddef>
#include <cstdint>

extern "C" {

/// Bumped whenever the structs below or the chunk encoding change. A worker refuses a plugin of
/// another ABI version before calling any of its tasks.
#define DLPOOL_SDK_ABI_VERSION 1u

/// Every plugin also exports a function named "dlpool_sdk_abi_" followed by its ABI version
/// (DLPOOL_PLUGIN defines it): a worker reads the version from the file's symbol table and
/// refuses a plugin of another ABI, or a file that is no plugin at all, before loading it runs
/// any of its code. Keep the marker's number equal to DLPOOL_SDK_ABI_VERSION.
#define DLPOOL_SDK_ABI_MARKER dlpool_sdk_abi_1
#define DLPOOL_SDK_ABI_MARKER_PREFIX "dlpool_sdk_abi_"

/// Where a plugin writes its output: an append-only byte sink owned by the worker.
struct dlpool_sink {
  void* context;
  void (*write)(void* context, const char* data, std::size_t size);
};

/// Status returned by a task entry point.
enum dlpool_status : int {
  dlpool_status_ok = 0,
  dlpool_status_task_exception = 1,  // error record: u32 item, str type, str message
  dlpool_status_bad_arguments = 2,   // same record; the arguments did not decode
  dlpool_status_bad_result = 3,      // same record; the result did not encode
};

/// Runs a whole chunk. `items` is an items block (u32 count, then u32 size + Cereal binary of the
/// argument list, per item). Writes one u32 size + Cereal binary result per item, in as many
/// writes as it likes; on failure stops at the first failing item and writes its error record in
/// one write of its own (the worker takes the last write as the record).
typedef int (*dlpool_chunk_fn)(const char* items, std::size_t size, dlpool_sink* out);

/// Runs one call with arguments as a JSON array (`["ab", 3]`); writes the result as JSON text, or
/// an error record.
typedef int (*dlpool_json_fn)(const char* json, std::size_t size, dlpool_sink* out);

struct dlpool_task_info {
  const char* name;
  const char* signature;  // canonical, e.g. "int(int, std::string)"
  dlpool_chunk_fn run_chunk;
  dlpool_json_fn run_json;
};

struct dlpool_manifest {
  std::uint32_t abi_version;
  const char* plugin;
  const char* version;
  std::size_t task_count;
  const dlpool_task_info* tasks;
};

typedef const dlpool_manifest* (*dlpool_manifest_fn)();
}

/// The one symbol a dlpool plugin exports.
#define DLPOOL_MANIFEST_SYMBOL "dlpool_plugin_manifest"
