# Runs tools/bench/scale_out_sim.py --quick and fails unless it exits 0 and every line it prints is
# a JSON object: the steady-state rows (two per node count and task duration), the closed form
# (one per task duration) and the leader's death, with busy fractions between 0 and 1. Run by
# ctest as `cmake -DPYTHON=... -DSCRIPT=... -P scale_out_sim_test.cmake` (see tests/CMakeLists.txt).

foreach(var PYTHON SCRIPT)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "scale_out_sim_test.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${PYTHON} ${SCRIPT} --nodes 10 --quick
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scale_out_sim_test.cmake: ${SCRIPT} failed (${rc})\n${err}")
endif()

string(STRIP "${out}" out)
string(REPLACE "\n" ";" lines "${out}")
set(steady 0)
set(limits 0)
set(deaths 0)
foreach(line IN LISTS lines)
  string(JSON kind ERROR_VARIABLE json_err GET "${line}" sim)
  if(json_err)
    message(FATAL_ERROR "scale_out_sim_test.cmake: not a JSON object with \"sim\" (${json_err}):\n${line}")
  endif()
  if(kind STREQUAL "scale_out")
    math(EXPR steady "${steady} + 1")
    foreach(key worker_busy rank0_busy)
      string(JSON value ERROR_VARIABLE json_err GET "${line}" ${key})
      if(json_err OR NOT value MATCHES "^(0(\\.[0-9]+)?|1(\\.0+)?)$")
        message(FATAL_ERROR "scale_out_sim_test.cmake: ${key} is not a fraction in:\n${line}")
      endif()
    endforeach()
  elseif(kind STREQUAL "scale_out_limit")
    math(EXPR limits "${limits} + 1")
  elseif(kind STREQUAL "leader_death")
    math(EXPR deaths "${deaths} + 1")
  else()
    message(FATAL_ERROR "scale_out_sim_test.cmake: unknown \"sim\": ${kind}")
  endif()
endforeach()

# --nodes 10 and the three default task durations, flat and two-level.
if(NOT steady EQUAL 6 OR NOT limits EQUAL 3 OR NOT deaths EQUAL 1)
  message(FATAL_ERROR "scale_out_sim_test.cmake: ${steady} steady rows (want 6), ${limits} limits (want 3), "
                      "${deaths} leader deaths (want 1):\n${out}")
endif()
message(STATUS "scale_out_sim_test.cmake: ${steady} steady rows, ${limits} limits, ${deaths} leader death")
