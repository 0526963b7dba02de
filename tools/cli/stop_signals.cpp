#include "stop_signals.hpp"

#include "sys/io.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace dlpool::cli {
namespace {

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  return set;
}

}  // namespace

StopSignals::StopSignals() {
  const auto set = stop_set();
  if (const int rc = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    errno = rc;
    detail::throw_errno("pthread_sigmask");
  }
  signals_.reset(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!signals_) detail::throw_errno("signalfd");
  quit_ = detail::make_eventfd();
  watcher_ = std::jthread{[this] { watch_signals(); }};
}

StopSignals::~StopSignals() {
  detail::signal_eventfd(quit_.get());
  watcher_.join();
}

StopSignals::Watch::~Watch() {
  std::lock_guard lock{signals_.mutex_};
  signals_.stop_ = nullptr;
}

StopSignals::Watch StopSignals::watch(std::function<void()> stop) {
  std::lock_guard lock{mutex_};
  stop_ = std::move(stop);
  if (const int signal = first_.load(); signal != 0) run_stop(signal);
  return Watch{*this};
}

void StopSignals::run_stop(int signal) noexcept {
  if (!stop_) return;
  try {
    stop_();
  } catch (const std::exception& e) {  // the command goes on; nothing may escape the watcher thread
    std::fprintf(stderr, "dlpool: %s: stopping failed: %s\n", name(signal), e.what());
  } catch (...) {
    std::fprintf(stderr, "dlpool: %s: stopping failed\n", name(signal));
  }
}

void StopSignals::watch_signals() {
  for (;;) {
    pollfd fds[] = {{signals_.get(), POLLIN, 0}, {quit_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::perror("dlpool: poll on the signals");
      return;
    }
    if (fds[1].revents != 0) return;
    signalfd_siginfo info{};
    if (::read(signals_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;  // EINTR, EAGAIN
    const auto signal = static_cast<int>(info.ssi_signo);
    int none = 0;
    const bool first = first_.compare_exchange_strong(none, signal);
    std::fprintf(stderr, "dlpool: %s: %s the workers\n", name(signal), first ? "stopping" : "already stopping");
    std::lock_guard lock{mutex_};
    run_stop(signal);
  }
}

const char* StopSignals::name(int signal) noexcept {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    default: return "a signal";
  }
}

void StopSignals::die_of(int signal) noexcept {
  std::signal(signal, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signal);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  std::raise(signal);
  std::_Exit(128 + signal);
}

}  // namespace dlpool::cli
