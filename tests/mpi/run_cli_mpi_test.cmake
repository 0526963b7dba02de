# `mpiexec -n K+1 dlpool map --mpi PLUGIN TASK < in > out`: rank 0 reads and writes, the others
# become agents. 200 lines through 2 agents of one worker each, their plugins found on the shared
# file system and then shipped, must give what `dlpool map -j 2` gives, with the outcome reported
# in-band (mpirun's exit status says nothing once a rank has died), nothing left running and no
# shipped plugin file left behind on a node.
# Variables: MPIEXEC, DLPOOL, PLUGIN_DIR, WORK_DIR.
include(${CMAKE_CURRENT_LIST_DIR}/mpi_job.cmake)
set(dir "${WORK_DIR}/cli")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}/tmp")
# The agents' node-local directory for shipped plugins, to see that they remove it.
set(ENV{TMPDIR} "${dir}/tmp")
set(input "")
foreach(i RANGE 199)
  string(APPEND input "[${i}]\n")
endforeach()
file(WRITE "${dir}/in.jsonl" "${input}")

execute_process(COMMAND ${DLPOOL} --plugin-path ${PLUGIN_DIR} map -j 2 testkit square
                INPUT_FILE "${dir}/in.jsonl" OUTPUT_FILE "${dir}/local.jsonl" RESULT_VARIABLE status TIMEOUT 30)
file(READ "${dir}/local.jsonl" expected)
# The reference itself: one line per item, item i's square on line i.
string(REGEX MATCHALL "[^\n]+" lines "${expected}")
list(LENGTH lines count)
list(GET lines 13 line13)
if(NOT status EQUAL 0 OR NOT count EQUAL 200 OR NOT line13 MATCHES "(^|[^0-9])169([^0-9]|$)")
  message(FATAL_ERROR "dlpool map -j 2 exited with ${status}, ${count} lines, line 13 '${line13}'")
endif()

foreach(ship OFF ON)
  set(args --plugin-path ${PLUGIN_DIR} map --mpi -j 1 testkit square)
  set(what "dlpool map --mpi")
  if(ship)
    list(APPEND args --ship-plugins)
    string(APPEND what " --ship-plugins")
  endif()
  execute_process(COMMAND ${MPIEXEC} ${mpi_job_options} -n 3 ${DLPOOL} ${args}
                  INPUT_FILE "${dir}/in.jsonl" OUTPUT_FILE "${dir}/mpi.jsonl" ERROR_VARIABLE errors
                  RESULT_VARIABLE status TIMEOUT 30)
  message("${what}: mpirun exited with ${status}\n${errors}")
  mpi_job_check_leftovers()
  file(READ "${dir}/mpi.jsonl" output)
  if(NOT output STREQUAL expected)
    message(FATAL_ERROR "${what}: its output is not what dlpool map -j 2 wrote (${dir}/local.jsonl, mpi.jsonl)")
  endif()
  if(NOT errors MATCHES "dlpool: 200 items, 2 workers, [0-9.]+ s, 0 failed\ndlpool: exit status 0\n$")
    message(FATAL_ERROR "${what}: its summary does not end with 'dlpool: exit status 0'")
  endif()
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${what}: mpirun exited with ${status}")
  endif()
  file(GLOB left "${dir}/tmp/dlpool-agent-*")
  if(left)
    message(FATAL_ERROR "${what}: the agents left their shipped plugins behind: ${left}")
  endif()
endforeach()
