# Fails unless the shared runtime exports only namespace dlpool: its functions, and the typeinfo,
# typeinfo names and vtables of its classes (the exception classes, so that a host catches what
# the library throws). Anything else exported (spdlog, {fmt}, Cereal, std templates, the code of
# runtime/src) is a symbol a host could come to depend on or clash with. Run by ctest as
# `cmake -DNM=... -DLIBRARY=... -P check_exports.cmake` (see tests/CMakeLists.txt).

foreach(var NM LIBRARY)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_exports.cmake: -D${var}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${NM} -D --defined-only --demangle ${LIBRARY}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_exports.cmake: ${NM} failed (${rc}) on ${LIBRARY}\n${err}")
endif()

string(REPLACE "\n" ";" lines "${out}")
set(count 0)
set(foreign "")
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  math(EXPR count "${count} + 1")
  # "ADDRESS TYPE NAME": the name may hold spaces ("typeinfo for dlpool::Error").
  string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] " "" name "${line}")
  if(NOT name MATCHES "^((typeinfo|typeinfo name|vtable) for )?dlpool::")
    string(APPEND foreign "  ${line}\n")
  endif()
endforeach()

if(count EQUAL 0)
  message(FATAL_ERROR "check_exports.cmake: ${LIBRARY} exports nothing: is it the runtime?")
endif()
if(foreign)
  message(FATAL_ERROR "check_exports.cmake: ${LIBRARY} exports symbols outside namespace dlpool "
                      "(mark the public API DLPOOL_API, keep the rest hidden; see runtime/dlpool_runtime.map):\n${foreign}")
endif()
message(STATUS "check_exports.cmake: ${count} symbols, all of namespace dlpool")
