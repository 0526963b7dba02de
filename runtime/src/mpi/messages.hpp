#pragma once
// What the host (rank 0) and its agents say to each other over MPI. Every message is MPI_BYTE on
// one tag, so that MPI's order between two ranks is the order sent:
//
//   u8 kind | u64 slot | payload
//
// A slot is one worker process on an agent's node, as the host numbers them (its executor id).
// Frames between the host and a worker cross unchanged (`frames`): the agent reads no task.
//
//   host -> agent                                   agent -> host
//   config   AgentConfig, once, first               agent_hello  str node, u32 workers, i32 pid
//   start    slot: start a worker                   agent_failed str why: it cannot serve (exits)
//   frames   slot: frames for it                    started      slot, i32 pid
//   close    slot: EOF once what it holds is sent   start_failed slot, str why
//   halt     slot, u8 now: SIGTERM, or SIGKILL      frames       slot: frames it wrote
//   probe    u32 n, n x str plugin, AgentConfig     exited       slot, i32 wait status, u64 chunks
//   heartbeat                                                    started, str why the agent ended it, or ""
//   commit   u8: keep (1) or drop (0) what the      probed       str error, "" if every plugin loads
//            last probe loaded, for new workers     heartbeat
//   shutdown end every worker, answer bye           bye          its workers are gone
//   finalize u8: MPI_Finalize (1), or exit without
//            it (0: a rank was lost, or this agent)
// Any message is a sign of life; heartbeat is sent only when nothing else was for a quarter of
// MpiOptions::heartbeat.

#include <dlpool/wire/bytes.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace dlpool::detail::mpi {

inline constexpr int tag = 7071;  // all of dlpool's messages; any other tag is left alone

enum class Kind : std::uint8_t {
  config = 1,
  start,
  frames,
  close,
  halt,
  probe,
  heartbeat,
  shutdown,
  agent_hello,
  agent_failed,
  started,
  start_failed,
  exited,
  probed,
  commit,
  bye,
  finalize,
};
inline constexpr std::size_t message_header = 9;

/// A new message of `kind` for `slot`, its payload to be appended.
inline std::string message(Kind kind, std::uint64_t slot = 0) {
  std::string out;
  wire::put(out, static_cast<std::uint8_t>(kind));
  wire::put(out, slot);
  return out;
}

struct Header {
  Kind kind{};
  std::uint64_t slot = 0;
};

/// Throws wire::DecodeError for a message shorter than its header or of an unknown kind.
inline Header decode_header(std::string_view bytes) {
  wire::ByteReader in{bytes};
  const auto kind = in.get<std::uint8_t>("message kind");
  Header h{static_cast<Kind>(kind), in.get<std::uint64_t>("message slot")};
  if (kind < static_cast<std::uint8_t>(Kind::config) || kind > static_cast<std::uint8_t>(Kind::finalize))
    throw wire::DecodeError{"unknown message kind " + std::to_string(kind)};
  return h;
}

/// What an agent needs of the host's PoolOptions to run workers as the host would.
struct AgentConfig {
  std::vector<std::string> plugin_path;  // the host's, searched on the node (shared file system)
  std::string worker_path;               // the host's PoolOptions::worker_path ("" = the default)
  std::uint32_t max_frame = 0;
  std::uint32_t workers = 0;             // per agent; 0: one per CPU of its affinity mask
  std::uint32_t heartbeat_ms = 1000;
  std::uint32_t maxtasksperchild = 0;    // 0: none
  std::uint8_t sandbox = 0;              // dlpool::Sandbox
  bool batch_scheduling = true;
  std::uint64_t memory_bytes = 0, cpu_seconds = 0, open_files = 0, max_rss = 0;  // 0: none
  std::map<std::string, std::string> sha256;  // plugin name -> the host's file's SHA-256
  // ship_plugins: file name -> bytes, installed on the node before any worker starts.
  std::map<std::string, std::string> files;

  void encode(std::string& out) const;
  static AgentConfig decode(std::string_view payload);
};

}  // namespace dlpool::detail::mpi
