// dlpool-agent: the generic executable every rank but the host's runs (see agent.hpp).
//
//   mpiexec --bind-to none -n 1 ./host : -n K dlpool-agent
//
// It takes no arguments: the host sends it everything it needs over MPI.

#include "agent.hpp"

#include "log/log.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

extern char** environ;

namespace {

/// Open MPI's variables (~56 of them) would make a worker that links MPI, or a process a task
/// starts, think it is a rank of this job: none reaches the workers.
void strip_mpi_environment() {
  std::vector<std::string> names;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry{*e};
    if (entry.starts_with("OMPI_") || entry.starts_with("PMIX_") || entry.starts_with("OPAL_"))
      names.emplace_back(entry.substr(0, entry.find('=')));
  }
  for (const auto& name : names) ::unsetenv(name.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    const bool help = std::strcmp(argv[1], "--help") == 0;
    std::fprintf(help ? stdout : stderr,
                 "usage: mpiexec --bind-to none -n 1 HOST : -n K %s\n"
                 "dlpool-agent runs a node's dlpool workers for the host at rank 0; it takes no arguments\n",
                 argv[0]);
    return help ? 0 : 2;
  }
  dlpool::detail::configure_log(std::getenv("DLPOOL_LOG"), "dlpool-agent");
  std::signal(SIGPIPE, SIG_IGN);  // a worker that died: its pipe's write fails instead
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "dlpool-agent: MPI_Init_thread failed\n");
    return 1;
  }
  MPI_Comm parent = MPI_COMM_NULL;
  MPI_Comm_get_parent(&parent);
  const MPI_Comm comm = parent != MPI_COMM_NULL ? parent : MPI_COMM_WORLD;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (parent != MPI_COMM_NULL) ++rank;  // spawned: numbered after the host, as launched agents are
  if (parent == MPI_COMM_NULL && rank == 0) {
    std::fprintf(stderr, "dlpool-agent: rank 0 is the host's: launch as `mpiexec -n 1 HOST : -n K dlpool-agent`\n");
    MPI_Finalize();
    return 2;
  }
  // A dead peer must not abort this rank: deaths are found by heartbeats (see MPI.md).
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  strip_mpi_environment();
  bool finalize = false;
  try {
    dlpool::agent::Agent agent{comm, 0, rank};
    finalize = agent.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dlpool-agent rank %d: %s\n", rank, e.what());
    std::fflush(stderr);
    ::_exit(1);
  }
  // MPI_Finalize hangs once any rank of the job has died; the host says whether one has.
  if (!finalize) {
    std::fflush(nullptr);
    ::_exit(0);
  }
  if (parent != MPI_COMM_NULL) MPI_Comm_disconnect(&parent);
  MPI_Finalize();
  return 0;
}
