#pragma once
// A worker's ledger: one page of memory shared by the host and one worker (a memfd the host
// makes and hands the worker with its pipes; each maps it), where the worker counts the task
// chunks it has started, with a plain store per chunk: no syscall on the hot path.
//
// Why: a worker that dies holding a chunk had either started it or not, and only in the second
// case may the chunk run elsewhere without running twice. The pipe cannot tell: a process
// killed while it waits in read() may still have the kernel copy it a frame written after the
// kill, then die before running a byte of it. The count can: the worker bumps it once a frame
// is read, before the task runs. A worker killed while idle, just as a call was handed to it,
// so never fails that call (the pool sends it again); a chunk that did start fails with
// WorkerLostError, as before, and never runs twice.

#include "sys/unique_fd.hpp"

#include <cstdint>
#include <utility>

namespace dlpool::detail {

class Ledger {
 public:
  /// No ledger: chunks_started() says every chunk started (the safe answer for the host; a
  /// worker given a ledger it cannot map must not run).
  Ledger() noexcept = default;
  /// The host's: a new shared page, and the fd to hand the worker (see take_fd).
  static Ledger create();
  /// The worker's: maps the page behind `fd`, then closes `fd`. Returns no ledger if that fails.
  static Ledger open(int fd) noexcept;

  Ledger(Ledger&& other) noexcept : count_{std::exchange(other.count_, nullptr)}, fd_{std::move(other.fd_)} {}
  Ledger& operator=(Ledger&& other) noexcept;
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  ~Ledger();

  /// Whether the page is mapped.
  explicit operator bool() const noexcept { return count_ != nullptr; }
  /// The memfd, for the spawn; -1 once released or for the worker's side.
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  /// Closes the host's fd once the worker has its own.
  void close_fd() noexcept { fd_.reset(); }

  /// Worker: the `n`th chunk (1, 2, ...) is about to run.
  void started(std::uint64_t n) noexcept;
  /// Host: how many chunks the worker had started (read once it is dead, or while it runs).
  [[nodiscard]] std::uint64_t chunks_started() const noexcept;

 private:
  std::uint64_t* count_ = nullptr;  // in the shared page
  UniqueFd fd_;
};

}  // namespace dlpool::detail
