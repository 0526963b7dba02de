#pragma once
// The worker's opt-in sandbox (PoolOptions::sandbox): a seccomp filter (libseccomp) on the thread
// that runs tasks, and on every thread and process a task starts, which
//  - lets a process signal only itself, its own threads, its own process group and its own
//    children: kill, tgkill, tkill, rt_sigqueueinfo, rt_tgsigqueueinfo and pidfd_send_signal go
//    to a supervisor thread (seccomp user notification), which allows them or answers EPERM;
//  - refuses ptrace, process_vm_readv/writev, and setpgid into another process group (EPERM);
//  - with no_network, refuses socket() for anything but AF_UNIX, and io_uring_setup (EPERM).
// It does not confine the file system, memory or CPU (see the resource limits), nor stop a task
// from harming its own worker. The filter cannot be removed (no_new_privs).

namespace dlpool::worker {

/// Installs the filter on the calling thread (to be inherited by everything it starts) and starts
/// its supervisor. Throws std::runtime_error if the kernel or libseccomp refuses.
void enter_sandbox(bool no_network);

}  // namespace dlpool::worker
