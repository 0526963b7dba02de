# One MPI test job: `mpirun ... -n 1 TEST --gtest_filter=SUITE.* : -n AGENTS dlpool-agent`, then
# the checks mpirun cannot be trusted with:
#  - its exit status says nothing once a rank has died (it exits 0 under --enable-recovery):
#    the verdict is the test binary's own, read from its gtest XML report;
#  - no process of the job may be left (mpi_job.cmake);
#  - what only the agents can tell, their log: each regular expression of EXPECT_OUTPUT must
#    match the job's output.
# Variables: MPIEXEC, TEST (the host binary), AGENT, SUITE, AGENTS (default 2), RECOVERY (ON:
# --enable-recovery), SPAWN (ON: TEST is run alone, and its pool spawns the agents), EXPECT_OUTPUT
# (optional), WORK_DIR.
include(${CMAKE_CURRENT_LIST_DIR}/mpi_job.cmake)
if(NOT AGENTS)
  set(AGENTS 2)
endif()
file(MAKE_DIRECTORY "${WORK_DIR}")
set(report "${WORK_DIR}/${SUITE}.xml")
file(REMOVE "${report}")
set(options ${mpi_job_options})
if(RECOVERY)
  list(APPEND options --enable-recovery)
endif()
set(job ${MPIEXEC} ${options} -n 1 ${TEST} --gtest_filter=${SUITE}.* --gtest_output=xml:${report} : -n ${AGENTS}
        ${AGENT})
if(SPAWN)
  # Not launched by mpirun: the pool spawns its agents (MPI_Comm_spawn), which reach it over TCP.
  set(job ${TEST} --gtest_filter=${SUITE}.* --gtest_output=xml:${report})
  set(ENV{OMPI_MCA_btl} self,vader,tcp)
endif()
execute_process(COMMAND ${job} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output TIMEOUT 60)
message("${output}")
mpi_job_check_leftovers()

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
foreach(expected IN LISTS EXPECT_OUTPUT)
  if(NOT output MATCHES "${expected}")
    message(FATAL_ERROR "${SUITE}: the job's output has nothing matching '${expected}'")
  endif()
endforeach()
