// Hostile plugins: files that are not plugins of ours, unknown tasks and wrong signatures, and
// plugins that attack the protocol from inside their worker. Each is refused with an error that
// names what was wrong, and ends no more than it must. (Hostile bytes: hostile_frames_test.cpp.)

#include "support/pool_fixture.hpp"
#include "support/stderr_capture.hpp"
#include "sys/io.hpp"

#include <dlpool/wire/abi.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace dlpool;
using namespace std::string_literals;
using test::options;

using test::square;
using test::worker_pid;
// --- Files that are not plugins of ours ---------------------------------------------------------

/// The PluginLoadError message of calling plugin `plugin`'s task "value", or what came instead.
std::string load_error(Pool& pool, const std::string& plugin) {
  try {
    pool.apply(Task<int()>{plugin, "value"});
  } catch (const PluginLoadError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return "not a PluginLoadError: "s + e.what();
  }
  return "no error";
}

TEST(NotOurPlugins, AreRefusedFromTheirSymbolTableWithoutRunningAnyOfTheirCode) {
  // Each of these aborts in a static constructor: had the worker dlopen'ed one, it would be dead.
  Pool pool{options(1)};
  const int pid = pool.apply(worker_pid);
  const auto no_manifest = load_error(pool, "nomanifest");
  EXPECT_NE(no_manifest.find("libnomanifest.so) is not a dlpool plugin: it exports no dlpool_plugin_manifest"),
            std::string::npos)
      << no_manifest;
  const auto abi999 = load_error(pool, "abi999");
  EXPECT_NE(abi999.find("libabi999.so) was built against SDK ABI 999, this worker speaks ABI 1"), std::string::npos)
      << abi999;
  const auto no_marker = load_error(pool, "nomarker");
  EXPECT_NE(no_marker.find("libnomarker.so) declares no SDK ABI version"), std::string::npos) << no_marker;
  EXPECT_EQ(pool.apply(worker_pid), pid) << "none of them was loaded";
  pool.close();
  pool.join();
}

TEST(NotOurPlugins, AHugeFileIsRefusedFromItsSizeAndFirstBytesWithoutBeingRead) {
  // 2 GiB, sparse: a worker once read all of it (2 GiB resident, seconds) before refusing it.
  test::TempDir dir;
  const auto make = [&](const std::string& name, std::string_view head) {
    std::ofstream{dir.path() / name, std::ios::binary} << head;
    std::filesystem::resize_file(dir.path() / name, std::uintmax_t{2} << 30);
  };
  make("libhuge.so", "no ELF here");
  make("libhugeelf.so", "\x7f"
                        "ELF");
  auto o = options(1);
  o.plugin_path.insert(o.plugin_path.begin(), dir.path().string());
  Pool pool{o};
  const int pid = pool.apply(worker_pid);
  const auto huge = load_error(pool, "huge");
  EXPECT_NE(huge.find("libhuge.so) is not an ELF file"), std::string::npos) << huge;
  const auto huge_elf = load_error(pool, "hugeelf");
  EXPECT_NE(huge_elf.find("libhugeelf.so) is 2147483648 bytes, over the limit of 1073741824 bytes for a plugin file"),
            std::string::npos)
      << huge_elf;
  // What the worker ever held resident: nowhere near the files' size.
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  std::uint64_t peak_kib = 0;
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) peak_kib = std::stoull(line.substr(6));
  EXPECT_GT(peak_kib, 0u);
  EXPECT_LT(peak_kib, 256u * 1024) << "the worker read the file";
  EXPECT_EQ(pool.apply(worker_pid), pid);
  pool.close();
  pool.join();
}

TEST(NotOurPlugins, ARelativePluginPathStillFindsPluginsAfterATaskChangesDirectory) {
  auto o = options(1);
  o.plugin_path = {std::filesystem::relative(DLPOOL_TEST_PLUGIN_DIR).string()};
  ASSERT_FALSE(std::filesystem::path{o.plugin_path[0]}.is_absolute());
  Pool pool{o};
  EXPECT_EQ(pool.apply(Task<int(std::string)>{"rogue", "chdir_to"}, "/"), 0);
  EXPECT_EQ(pool.apply(square, 6), 36) << "testkit, loaded after the chdir, was looked for elsewhere";
  pool.close();
  pool.join();
}

TEST(NotOurPlugins, TheSdkMarksEveryPluginWithItsAbiVersion) {
#define DLPOOL_TEST_STRINGIFY2(x) #x
#define DLPOOL_TEST_STRINGIFY(x) DLPOOL_TEST_STRINGIFY2(x)
  EXPECT_EQ(std::string{DLPOOL_TEST_STRINGIFY(DLPOOL_SDK_ABI_MARKER)},
            DLPOOL_SDK_ABI_MARKER_PREFIX + std::to_string(DLPOOL_SDK_ABI_VERSION));
}

// --- Tasks and signatures -----------------------------------------------------------------------

TEST(Tasks, UnknownTasksAndWrongSignaturesAreRefusedNamingWhatWasWrong) {
  Pool pool{options(1)};
  for (const std::string& task : {"nosuch"s, ""s, std::string(10'000, 't'), "square\0"s}) {
    try {
      pool.apply(Task<int(int)>{"testkit", task}, 1);
      ADD_FAILURE() << "no TaskNotFound";
    } catch (const TaskNotFound& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("has no task '"), std::string::npos) << message;
      EXPECT_NE(message.find("it exports: "), std::string::npos) << message;
      EXPECT_NE(message.find("square"), std::string::npos) << message;
    }
  }
  try {
    pool.apply(Task<std::string(std::string)>{"testkit", "square"}, "x");
    ADD_FAILURE() << "no SignatureMismatch";
  } catch (const SignatureMismatch& e) {
    EXPECT_NE(std::string{e.what()}.find("testkit.square is int(int) in"), std::string::npos) << e.what();
    EXPECT_NE(std::string{e.what()}.find("but the caller expects std::string(std::string)"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(pool.apply(square, 6), 36);
  pool.close();
  pool.join();
}

// --- A plugin against its own worker's protocol -------------------------------------------------

TEST(PluginOutput, FloodsOfOutputAndClosedStandardFdsNeverReachTheProtocol) {
  test::StderrCapture host_stderr;  // where the workers' stdout and stderr go
  Pool pool{options(1)};
  host_stderr.restore();
  const auto pids = pool.worker_pids();
  const Task<long(long)> shout{"hostile", "shout"};
  constexpr long flood = 1 << 20;  // on each of stdout and stderr: 16 pipe buffers
  EXPECT_EQ(pool.apply(shout, flood), flood);
  EXPECT_EQ(pool.apply(Task<int(int)>{"hostile", "close_std_fds"}, 7), 7);
  // With fds 0-2 now the plugin's own files: loading another plugin (testkit, first used here:
  // the worker opens its file), another flood, and more results, all on the same protocol.
  EXPECT_EQ(pool.map(square, std::vector{1, 2, 3}, 1), (std::vector{1, 4, 9}));
  EXPECT_EQ(pool.apply(shout, flood), flood);
  EXPECT_EQ(pool.apply(square, 5), 25);
  EXPECT_EQ(pool.worker_pids(), pids) << "one worker did all of it";
  pool.close();
  pool.join();
  const auto text = host_stderr.text();
  EXPECT_GE(text.size(), 2u * flood) << "the first flood went to the host's stderr";
  EXPECT_EQ(text.find("to a closed"), std::string::npos);
  EXPECT_EQ(text.find("to a reopened"), std::string::npos);
}

TEST(PluginOutput, ChildProcessesOfATaskDoNotInheritTheProtocolFds) {
  Pool pool{options(1)};
  EXPECT_EQ(pool.apply(Task<std::string()>{"hostile", "child_fds"}), "");
  pool.close();
  pool.join();
}

TEST(PluginOutput, AChildATaskForksWithoutExecInheritsNoProtocolFd) {
  Pool pool{options(1)};
  EXPECT_EQ(pool.apply(Task<std::string()>{"hostile", "forked_child_fds"}), "");
  pool.close();
  pool.join();
}

TEST(Signals, ATaskSignallingItsProcessGroupReachesOnlyItsOwnWorker) {
  // kill(0, SIGTERM) once reached the host, in the same process group: this test binary died.
  Pool pool{options(2)};
  const auto pids = pool.worker_pids();
  const Task<int(int)> kill_group{"hostile", "kill_group"};
  try {
    pool.apply(kill_group, SIGTERM);
    ADD_FAILURE() << "the worker survived its own SIGTERM";
  } catch (const WorkerLostError& e) {
    EXPECT_TRUE(WIFSIGNALED(e.wait_status()) && WTERMSIG(e.wait_status()) == SIGTERM) << e.what();
  }
  EXPECT_EQ(pool.map(square, std::vector{1, 2, 3}), (std::vector{1, 4, 9}));
  for (const int pid : pool.worker_pids()) EXPECT_EQ(::getpgid(pid), pid) << "worker " << pid << " leads its own group";
  EXPECT_NE(::getpgid(pids.at(0)), ::getpgrp());
  pool.close();
  pool.join();
}

TEST(ReadersGone, AWriteFromACallersThreadFailsWithoutASignalAndLeavesItsMaskAsFound) {
  // A caller's thread writes a frame straight to an idle worker (apply_async): a worker dead
  // meanwhile must be an EPIPE error, not a SIGPIPE that kills the host application.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  const auto blocked = [&] {
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, nullptr, &now);
    return sigismember(&now, SIGPIPE) == 1;
  };
  const auto pending = [&] {
    sigset_t now;
    sigpending(&now);
    return sigismember(&now, SIGPIPE) == 1;
  };
  std::thread{[&] {
    pthread_sigmask(SIG_UNBLOCK, &pipe_set, nullptr);
    auto pipe = detail::make_pipe();
    pipe.read.reset();
    EXPECT_FALSE(detail::write_all_without_sigpipe(pipe.write.get(), "frame"));
    EXPECT_FALSE(blocked());
    EXPECT_FALSE(pending());

    // A thread that blocks SIGPIPE itself keeps it blocked, and one already pending stays so.
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    pthread_kill(pthread_self(), SIGPIPE);
    EXPECT_FALSE(detail::write_all_without_sigpipe(pipe.write.get(), "frame"));
    EXPECT_TRUE(blocked());
    EXPECT_TRUE(pending());
    const timespec now{0, 0};
    EXPECT_EQ(sigtimedwait(&pipe_set, nullptr, &now), SIGPIPE);
    EXPECT_FALSE(detail::write_all_without_sigpipe(pipe.write.get(), "frame"));
    EXPECT_FALSE(pending()) << "the SIGPIPE this write raised is discarded";
  }}.join();
}

}  // namespace
