# Runs examples/file_report on a small input, as ctest's Examples.FileReport (cmake -P):
# files given as arguments (one missing, one a directory: reported, the rest counted, exit 1),
# names read from stdin (exit 0), and a config with a misspelt key (exit 2, the key named).
#
# Inputs (-D): FILE_REPORT (the executable) CONFIG (examples/file_report/file_report.json) WORK_DIR

cmake_minimum_required(VERSION 3.25)
foreach(var FILE_REPORT CONFIG WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "file_report_test.cmake: -D${var}=... is required")
  endif()
endforeach()
unset(ENV{DLPOOL_WORKER})
unset(ENV{DLPOOL_PLUGIN_PATH})

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/a-directory)
set(a ${WORK_DIR}/a.txt)
set(b ${WORK_DIR}/b.txt)
set(missing ${WORK_DIR}/missing.txt)
# 4 lines, 9 words, 45 bytes, longest line 19; then 1 line without '\n', 4 words, 17 bytes.
file(WRITE ${a} "the quick brown fox\njumps over\n\nthe lazy dog\n")
file(WRITE ${b} "no newline at end")

# run(expected_rc stdin args...): sets out and err.
function(run expected_rc stdin)
  execute_process(COMMAND ${FILE_REPORT} ${ARGN} INPUT_FILE ${stdin}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 300)
  if(NOT rc STREQUAL expected_rc)
    list(JOIN ARGN " " args)
    message(FATAL_ERROR "file_report ${args}: exit status ${rc}, expected ${expected_rc}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

function(expect what actual expected)
  if(NOT "${actual}" STREQUAL "${expected}")
    message(FATAL_ERROR "file_report: ${what}:\n${actual}\nexpected:\n${expected}\n(stderr:\n${err})")
  endif()
endfunction()

# One bad file does not stop the others; input order is kept; the totals cover what was counted.
run(1 /dev/null --config ${CONFIG} ${a} ${missing} ${WORK_DIR}/a-directory ${b})
expect("stdout with two bad files" "${out}"
"       4        9       45       19 ${a}
       1        4       17       17 ${b}
       5       13       62       19 total
")
expect("stderr with two bad files" "${err}"
"file_report: ${missing}: open(${missing}): No such file or directory
file_report: ${WORK_DIR}/a-directory: read(${WORK_DIR}/a-directory): Is a directory
")

# Names streamed from stdin, blank lines skipped.
file(WRITE ${WORK_DIR}/names.txt "${b}\n\n${a}\n${b}\n")
run(0 ${WORK_DIR}/names.txt --config ${CONFIG})
expect("stdout from stdin names" "${out}"
"       1        4       17       17 ${b}
       4        9       45       19 ${a}
       1        4       17       17 ${b}
       6       17       79       19 total
")
expect("stderr from stdin names" "${err}" "")

# A misspelt setting is refused, naming it, before any work is done.
file(WRITE ${WORK_DIR}/bad.json "{\"processes\": 2, \"chunk_size\": 4}")
run(2 /dev/null --config ${WORK_DIR}/bad.json ${a})
expect("stdout with a bad config" "${out}" "")
expect("stderr with a bad config" "${err}"
"file_report: ${WORK_DIR}/bad.json: unknown key \"chunk_size\" (known: processes, chunksize, imap_window, task_timeout_ms, plugin_path)
")
message(STATUS "file_report test: passed")
