#pragma once
// Headless Chromium for the tests that check what a browser makes of a page (the HTML of
// `dlpool report`): Debian's `chromium`, which scripts/install-deps.sh installs, run through Cli
// in a process group of its own, with this process as the subreaper of its helpers, and no
// network at all.

#include "support/cli_runner.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>

namespace dlpool::test {

inline constexpr const char* chromium_path = "/usr/bin/chromium";

/// While alive, this process adopts its orphaned descendants (PR_SET_CHILD_SUBREAPER): a
/// browser's zygote and renderers, orphaned when it exits, come back to be killed with its group
/// and reaped here, instead of going to init, where nothing would show they outlived it.
class ChildSubreaper {
 public:
  ChildSubreaper() {
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
      throw std::system_error{errno, std::generic_category(), "prctl(PR_SET_CHILD_SUBREAPER)"};
  }
  ~ChildSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
  ChildSubreaper(const ChildSubreaper&) = delete;
  ChildSubreaper& operator=(const ChildSubreaper&) = delete;
};

/// A TCP port on 127.0.0.1 held bound but not listening: a connection to it is refused at once,
/// and nobody else can listen on it while this holds it.
class ClosedPort {
 public:
  ClosedPort() : fd_{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)} {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
      throw std::system_error{errno, std::generic_category(), "a closed port on 127.0.0.1"};
    port_ = ntohs(address.sin_port);
  }
  ~ClosedPort() { ::close(fd_); }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

/// Pids of the processes whose command line contains `text`.
inline std::vector<int> processes_mentioning(const std::string& text) {
  std::vector<int> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc", ec}) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in{entry.path() / "cmdline", std::ios::binary};
    const std::string cmdline{std::istreambuf_iterator<char>{in}, {}};
    if (cmdline.find(text) != std::string::npos) found.push_back(std::stoi(name));
  }
  return found;
}

/// Runs headless Chromium on `url` with `extra` arguments (`--dump-dom`, `--screenshot=PATH`).
/// `home` (a fresh directory) is its HOME and holds its profile and crash database, so it writes
/// nothing elsewhere and each of its processes names `home` on its command line. It gets 10 s of
/// virtual time for the page's script (virtual: it ends as soon as the page is idle), and every
/// connection goes to a proxy on a closed port, so that a page that needs the network gets none
/// of it and no fetch can hang the run. Returns once Chromium and every process it started have
/// ended and been reaped; Cli fails the test if Chromium stays silent for a minute, and a process
/// of it still running afterwards is a failure too.
inline cli::Finished run_chromium(const std::filesystem::path& home, const std::string& url,
                                  const std::vector<std::string>& extra) {
  const ClosedPort proxy;
  const auto children_before = child_pids();
  cli::Finished done;
  {
    const ChildSubreaper subreaper;
    // env(1) execs Chromium in its place: the same pid, so the same process group.
    std::vector<std::string> args{"HOME=" + home.string(),
                                  "XDG_CONFIG_HOME=" + (home / ".config").string(),
                                  "XDG_CACHE_HOME=" + (home / ".cache").string(),
                                  chromium_path,
                                  "--headless=new",
                                  "--no-sandbox",  // as root, as in CI; the page is ours
                                  "--disable-gpu",
                                  "--no-first-run",
                                  "--disable-background-networking",
                                  "--disable-component-update",
                                  "--disable-sync",
                                  "--user-data-dir=" + (home / "profile").string(),
                                  "--proxy-server=http://127.0.0.1:" + std::to_string(proxy.port()),
                                  "--proxy-bypass-list=<-loopback>",
                                  "--host-resolver-rules=MAP * ~NOTFOUND",
                                  "--virtual-time-budget=10000"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url);
    done = cli::Cli{"/usr/bin/env", args, {}, cli::ProcessGroup::own}.finish();
    // Its crash handlers daemonize into sessions of their own, out of its group: adopted here as
    // their subreaper, they are ended and reaped too.
    for (const int pid : child_pids())
      if (std::find(children_before.begin(), children_before.end(), pid) == children_before.end()) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
  }
  for (const int pid : processes_mentioning(home.string())) {
    ADD_FAILURE() << "chromium process " << pid << " outlived chromium";
    ::kill(pid, SIGKILL);
  }
  return done;
}

}  // namespace dlpool::test
