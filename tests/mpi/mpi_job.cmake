# What every MPI test job shares (included by run_mpi_test.cmake and run_cli_mpi_test.cmake):
#  - the environment: Open MPI as root, -n 3 on 2 cores, shared memory only, with ob1, which
#    halves MPI_Init (MPI.md); and `mpi_job_options` for mpirun: no binding (with 3 ranks mpirun
#    would pin each to a core, and the agents' workers with them);
#  - a mark every process of the job inherits, DLPOOL_MPI_TEST_MARK, which no other test's process
#    has (ctest runs tests side by side), so that mpi_job_check_leftovers() can find what a job
#    left running: mpirun's exit says nothing of it.
set(ENV{OMPI_ALLOW_RUN_AS_ROOT} 1)
set(ENV{OMPI_ALLOW_RUN_AS_ROOT_CONFIRM} 1)
set(ENV{OMPI_MCA_rmaps_base_oversubscribe} 1)
set(ENV{OMPI_MCA_pml} ob1)
set(ENV{OMPI_MCA_btl} self,vader)
set(ENV{OMPI_MCA_btl_tcp_if_include} lo)
set(ENV{OMPI_MCA_oob_tcp_if_include} lo)
set(mpi_job_options --bind-to none)
string(RANDOM LENGTH 16 mpi_job_mark)
set(ENV{DLPOOL_MPI_TEST_MARK} "${mpi_job_mark}")

# Fails if any process still carries the mark (reported, then killed); not this check itself. The
# mark stays set for any job run after it.
function(mpi_job_check_leftovers)
  unset(ENV{DLPOOL_MPI_TEST_MARK})
  execute_process(
    COMMAND sh -c "grep -l -s -a 'DLPOOL_MPI_TEST_MARK=${mpi_job_mark}' /proc/[0-9]*/environ | cut -d/ -f3"
    OUTPUT_VARIABLE left OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(ENV{DLPOOL_MPI_TEST_MARK} "${mpi_job_mark}")
  if(left)
    string(REPLACE "\n" " " left "${left}")
    execute_process(COMMAND sh -c "ps -o pid,ppid,stat,args -p '${left}'; kill -9 ${left}")
    message(FATAL_ERROR "processes of the MPI job were left running: ${left}")
  endif()
endfunction()
