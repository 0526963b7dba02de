#pragma once
// The worker's opt-in sandbox (PoolOptions::sandbox): a seccomp filter (libseccomp) on the thread
// that runs tasks, and on every thread and process a task starts, which
//  - lets a process signal only itself, its own threads, its own process group and its own
//    children: kill, tgkill, tkill, rt_sigqueueinfo and rt_tgsigqueueinfo go to a supervisor
//    thread (seccomp user notification), which lets them through or answers EPERM;
//  - refuses (EPERM) pidfd_send_signal and pidfd_getfd (a pidfd names its target through a
//    descriptor, which another thread of the caller could swap between the check and the call),
//    ptrace, process_vm_readv/writev, and setpgid into any group but a new one;
//  - with no_network, refuses socket() for anything but AF_UNIX, and io_uring_setup (EPERM).
// It does not confine the file system (/proc/PID/mem of the same user included), memory or CPU
// (see the resource limits), nor stop a task from harming its own worker. The filter cannot be
// removed (no_new_privs). A process a task started that outlives the worker has no supervisor
// left: its signal calls then fail with ENOSYS.

namespace dlpool::worker {

/// Installs the filter on the calling thread (to be inherited by everything it starts) and starts
/// its supervisor. Throws std::runtime_error if the kernel or libseccomp refuses.
void enter_sandbox(bool no_network);

}  // namespace dlpool::worker
