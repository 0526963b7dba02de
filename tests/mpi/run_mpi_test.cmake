# One MPI test job: `mpirun ... -n 1 mpi_test --gtest_filter=SUITE.* : -n 2 dlpool-agent`, then
# the checks mpirun cannot be trusted with:
#  - its exit status says nothing once a rank has died (it exits 0 under --enable-recovery):
#    the verdict is the test binary's own, read from its gtest XML report;
#  - no process of the job may be left: every process it started inherits DLPOOL_MPI_TEST_MARK,
#    which no other test's process has (ctest runs tests side by side).
# Variables: MPIEXEC, TEST (the host binary), AGENT, SUITE, RECOVERY (ON: --enable-recovery),
# WORK_DIR.
string(RANDOM LENGTH 16 mark)
set(ENV{DLPOOL_MPI_TEST_MARK} "${mark}")
# As root; -n 3 on 2 cores; no binding (with 3 ranks mpirun would pin each to a core, and the
# agents' workers with them); shared memory only, with ob1, which halves MPI_Init (MPI.md).
set(ENV{OMPI_ALLOW_RUN_AS_ROOT} 1)
set(ENV{OMPI_ALLOW_RUN_AS_ROOT_CONFIRM} 1)
set(ENV{OMPI_MCA_rmaps_base_oversubscribe} 1)
set(ENV{OMPI_MCA_pml} ob1)
set(ENV{OMPI_MCA_btl} self,vader)
set(ENV{OMPI_MCA_btl_tcp_if_include} lo)
set(ENV{OMPI_MCA_oob_tcp_if_include} lo)
file(MAKE_DIRECTORY "${WORK_DIR}")
set(report "${WORK_DIR}/${SUITE}.xml")
file(REMOVE "${report}")
set(options --bind-to none)
if(RECOVERY)
  list(APPEND options --enable-recovery)
endif()
execute_process(
  COMMAND ${MPIEXEC} ${options} -n 1 ${TEST} --gtest_filter=${SUITE}.* --gtest_output=xml:${report} : -n 2 ${AGENT}
  RESULT_VARIABLE status TIMEOUT 60)

# Leftovers: any process still carrying the mark (reported, then killed); not this check itself.
unset(ENV{DLPOOL_MPI_TEST_MARK})
execute_process(COMMAND sh -c "grep -l -s -a 'DLPOOL_MPI_TEST_MARK=${mark}' /proc/[0-9]*/environ | cut -d/ -f3"
                OUTPUT_VARIABLE left OUTPUT_STRIP_TRAILING_WHITESPACE)
if(left)
  string(REPLACE "\n" " " left "${left}")
  execute_process(COMMAND sh -c "ps -o pid,ppid,stat,args -p '${left}'; kill -9 ${left}")
  message(FATAL_ERROR "processes of the MPI job were left running: ${left}")
endif()

if(NOT EXISTS "${report}")
  message(FATAL_ERROR "${SUITE}: the host wrote no report (mpirun exited with ${status})")
endif()
file(READ "${report}" xml)
if(NOT xml MATCHES "<testsuites tests=\"([0-9]+)\" failures=\"0\" disabled=\"0\" errors=\"0\"")
  message(FATAL_ERROR "${SUITE}: tests failed (mpirun exited with ${status}); see the output above")
endif()
if(CMAKE_MATCH_1 EQUAL 0)
  message(FATAL_ERROR "${SUITE}: no test ran")
endif()
if(NOT RECOVERY AND NOT status EQUAL 0)
  message(FATAL_ERROR "${SUITE}: mpirun exited with ${status}")
endif()
